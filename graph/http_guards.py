"""HTTP guards in front of the app: body size, CSRF, CORS.

- **Body size**: a body over `max_body_bytes` is a 413, refused from its Content-Length when
  it declares one and otherwise as soon as the bytes read pass the limit.
- **CSRF**: we never authenticate with cookies (callers send `Authorization` or
  `X-Api-Key`), so a request forged by another site's page carries no credential of ours.
  We still refuse what only such a page would send, so that a cookie login put in front of
  us later cannot make us forgeable:
  a POST whose Content-Type a page may send cross-site without a CORS preflight
  (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`, or none) is a
  400 unless it carries a header no page can add without a preflight (`x-requested-with`,
  `apollo-require-preflight`, `x-apollo-operation-name`); and a GET query (as text, or as a
  persisted hash in `extensions` / `documentId`) that brings a `Cookie` but no
  `Authorization` / `X-Api-Key` (a link, an `<img>`, a form) is a 400.
  JSON POSTs, from GraphiQL and every client library, need a preflight: CORS governs them.
- **CORS**: browsers on the origins listed in `cors_origins` may call us (starlette's
  CORSMiddleware); any other origin's preflight is refused.

Errors are JSON in GraphQL's shape, `{"errors": [{"message": ...}]}`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.settings import Settings

# Content types an HTML form or a no-cors fetch may send cross-site without a preflight.
SIMPLE_CONTENT_TYPES = frozenset(
    {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
# Headers a page can only add after a preflight, which CORS then allows or refuses.
PREFLIGHT_HEADERS = (b"x-requested-with", b"apollo-require-preflight", b"x-apollo-operation-name")
# How callers authenticate (graph/auth.py); browsers never add these on their own.
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")


async def _send_error(send: Send, status: int, message: str, code: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"The request body is larger than {self.max_bytes} bytes."
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_error(send, 413, message, "PAYLOAD_TOO_LARGE")
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return incoming

        async def watching_send(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if started:
                raise
            await _send_error(send, 413, message, "PAYLOAD_TOO_LARGE")


class CsrfGuard:
    """Refuse requests only a cross-site page would send (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _csrf_refusal(scope)
            if refusal is not None:
                await _send_error(send, 400, refusal, "CSRF_REFUSED")
                return
        await self.app(scope, receive, send)


def _csrf_refusal(scope: Scope) -> str | None:
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)
    if scope["method"] == "POST":
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        if content_type in SIMPLE_CONTENT_TYPES and not any(h in headers for h in PREFLIGHT_HEADERS):
            return (
                f"A POST with Content-Type {content_type or '(none)'!r} could come from another site's page; "
                "send application/json, or add an X-Requested-With header."
            )
    cookie_without_credential = b"cookie" in headers and not any(h in headers for h in CREDENTIAL_HEADERS)
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    is_query = bool({"query", "extensions", "documentId"} & params.keys())  # text, or a persisted hash
    if scope["method"] == "GET" and cookie_without_credential and is_query:
        return "A GET query with a Cookie and no Authorization could come from another site's page; send Authorization."
    return None


def guards(settings: Settings) -> list[Middleware]:
    """The middleware `create_app` installs, outermost first: CORS answers preflights and
    labels every response, including the guards' refusals."""
    cors: dict[str, Any] = {
        "allow_origins": settings.cors_origins,
        "allow_methods": ["GET", "POST"],
        "allow_headers": [
            "authorization",
            "x-api-key",
            "content-type",
            "accept",
            "x-request-id",
            "apollographql-client-name",  # Apollo Client's client awareness
            "apollographql-client-version",
            *(h.decode() for h in PREFLIGHT_HEADERS),
        ],
        "expose_headers": ["x-request-id", "retry-after"],
        "max_age": 600,
    }
    return [
        Middleware(CORSMiddleware, **cors),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        Middleware(CsrfGuard),
    ]
