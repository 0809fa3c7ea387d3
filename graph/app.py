"""The ASGI application: GraphQL over HTTP at /graphql, health at /healthz and /readyz.

GraphQL over HTTP follows the spec: POST and GET (queries only on GET; a mutation over GET
is a 405), `application/graphql-response+json` when the client accepts it (request errors
are then a 400) and `application/json` otherwise (always 200 for a well-formed request).
Persisted queries (APQ hashes, trusted documents) are swapped for their text before execution
(graph/persisted.py); answers carry `Cache-Control` for per-credential data (`_set_cache_headers`).
"""

from __future__ import annotations

import gc
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import MaskErrors

from graph.access import SYSTEM
from graph.auth import AuthenticationError, authenticate, credential_of
from graph.context import Context, ReadsFollowMutations
from graph.crm.csv_export import report_csv_endpoint
from graph.db import (
    StatementLog,
    create_engine,
    create_read_session_factory,
    create_replica_engine,
    create_session_factory,
    current_statement_log,
    database_unavailable,
)
from graph.errors import RequestRefused
from graph.http_guards import guards
from graph.limits import BudgetStores
from graph.loaders import Loaders
from graph.persisted import PersistedQueries, requested_hash
from graph.reader import STATEMENTS, Reader
from graph.settings import Settings, get_settings

log = logging.getLogger("partnergraph")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _accepted_media_type(request: Request) -> str | None:
    """The response media type for this Accept header, or None if we can offer none."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return JSON
    offered = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if GRAPHQL_RESPONSE in offered:
        return GRAPHQL_RESPONSE
    if any(kind in (JSON, "application/*", "*/*") for kind in offered):
        return JSON
    if "text/html" in offered and request.method == "GET":
        return JSON  # a browser: GraphiQL is served before this matters
    return None


class MaskUnexpectedErrors(MaskErrors):
    """Expected errors (bad arguments, permission refusals, validation) reach the client as
    they are; anything else is logged and replaced by a message with the request id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._is_unexpected, error_message="Internal server error.")

    def _process_result(self, result: object) -> None:
        # strawberry asks isinstance() of a runtime-checkable Protocol here, which walks the
        # protocol's attributes on every request (7 µs on Python 3.11); `errors` is all it needs.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    @staticmethod
    def _is_unexpected(error: GraphQLError) -> bool:
        original = error.original_error
        return original is not None and not isinstance(original, GraphQLError | PermissionError)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = current_request_id()
        if database_unavailable(error.original_error):
            log.warning("database unavailable (request %s)", request_id, exc_info=error.original_error)
            return GraphQLError(
                "The database is unavailable right now (unreachable, read-only or out of space), "
                "so this field could not be resolved. Retry shortly.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "DATABASE_UNAVAILABLE", "requestId": request_id},
            )
        log.error("unexpected error in %s (request %s)", error.path, request_id, exc_info=error.original_error)
        return GraphQLError(
            self.error_message, nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL", "requestId": request_id}
        )


def current_request_id() -> str | None:
    statements = current_statement_log.get()
    return statements.request_id if statements is not None else None


class GraphQLView(GraphQL):
    """strawberry's ASGI view with our context, media types, status codes and statement counting."""

    def __init__(self, schema: Any, settings: Settings, session_factory: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None, allow_queries_via_get=True)
        self.settings = settings
        self.session_factory = session_factory
        self.persisted = PersistedQueries(settings)

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json.dumps on large answers; anything it cannot
        # encode (an integer beyond 64 bits, say) takes the standard library's path.
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return super().encode_json(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a persisted document by hash has no `query` but is no browser visit.
        params = request.query_params
        return super().should_render_graphql_ide(request) and not ({"extensions", "documentId"} & set(params))

    async def execute_operation(
        self, request: Request, request_adapter: Any, request_data: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Swap persisted-query hashes for their text (graph/persisted.py) before execution."""
        principal = getattr(request.state, "principal", SYSTEM)
        items = request_data if isinstance(request_data, list) else [request_data]
        # For the access line (graph/observability.py): what the client sent, not re-parsed there.
        request.state.operation_sent = None if isinstance(request_data, list) else (items[0].operation_name, items[0].query)
        # Only a single request with neither text nor APQ hash may name its document by id.
        bare = len(items) == 1 and items[0].query is None and "persistedQuery" not in (items[0].extensions or {})
        document_id = await _document_id(request) if bare and not isinstance(request_data, list) else None
        for item in items:
            digest = requested_hash(item.extensions, document_id)
            resolved = await self.persisted.resolve(item.query, digest, principal)
            item.query = resolved.query
            if resolved.register is not None:
                request.state.persisted_to_register.append((resolved.register, resolved.query))
        return await super().execute_operation(request, request_adapter, request_data, *args, **kwargs)

    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context.build(
            settings=self.settings,
            principal=getattr(request.state, "principal", SYSTEM),
            session_factory=self.session_factory,
            read_session_factory=getattr(self, "read_session_factory", None),
            on_replica=getattr(self, "reads_on_replica", False),
            session=getattr(request.state, "read_session", None),
            statements=current_statement_log.get(),
            request=request,
            response=response,
        )
        request.state.context = context
        if request.scope["type"] == "websocket":
            context.connection_params = None  # set by strawberry from connection_init
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate a WebSocket on connection_init: payload {"authorization": "Bearer <key>"}
        (or {"x-api-key": …}); anything else closes the socket with 4403 before any operation."""
        if not self.settings.auth_required:
            return None
        params = getattr(context, "connection_params", None) or {}
        headers = {name.lower(): value for name, value in params.items() if isinstance(value, str)}
        try:
            principal = await authenticate(credential_of(headers), self.settings, self.session_factory)
        except AuthenticationError as exc:
            raise ConnectionRejectionError({"message": str(exc)}) from exc
        context.principal = principal
        context.reader = Reader(context.session, principal)
        context.loaders = Loaders(context.reader)
        return None

    async def process_result(self, request: Request, result: Any) -> dict[str, Any]:
        data = await super().process_result(request, result)
        # A request error (unparsable, invalid, refused before execution) has no data at all.
        request.state.request_error = (
            result.data is None and bool(result.errors) and all(e.path is None for e in result.errors)
        )
        request.state.result_errors = getattr(request.state, "result_errors", False) or bool(result.errors)
        request.state.executed = True
        request.state.graphql_payload = data  # the access line reads errors and cost from it
        if self.settings.debug and request.state.statements is not None:
            data.setdefault("extensions", {})["sqlStatements"] = request.state.statements.count
        return data

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            try:
                await super().__call__(scope, receive, send)
            finally:
                context = _released_context(scope)
                if context is not None:
                    await _close_quietly(context.session)
            return
        request = Request(scope, receive)
        statements = StatementLog(request_id=request.headers.get("x-request-id") or uuid.uuid4().hex)
        request.state.statements = statements
        request.state.request_error = False
        request.state.result_errors = False
        request.state.executed = False
        request.state.persisted_to_register = []
        token = current_statement_log.set(statements)
        try:
            response = await self._respond(request)
        finally:
            current_statement_log.reset(token)
            context = _released_context(scope)
            # The context's session, or the one the key was checked on when no context was built.
            session = context.session if context is not None else getattr(request.state, "read_session", None)
            if session is not None:
                await _close_quietly(session)
        response.headers["x-request-id"] = statements.request_id or ""
        _set_cache_headers(request, response, self.settings)
        await response(scope, receive, send)

    def _key_session(self, request: Request) -> Any:
        """The session to check the caller's key on: the request's own read session (one
        connection for the whole request), unless reads go to a replica, which may not have
        seen a revocation yet."""
        if getattr(self, "reads_on_replica", False) or getattr(self, "read_session_factory", None) is None:
            return None
        request.state.read_session = self.read_session_factory()
        return request.state.read_session

    async def _respond(self, request: Request) -> Response:
        media_type = _accepted_media_type(request)
        wants_ide = (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and not ({"query", "extensions", "documentId"} & set(request.query_params))
        )
        if media_type is None and not wants_ide:
            return _error(406, f"Accept {JSON} or {GRAPHQL_RESPONSE}.", JSON)
        media_type = media_type or JSON
        if self.settings.auth_required and not wants_ide:
            # The key lookup is not part of the query: keep it out of the statement count.
            counting = current_statement_log.set(None)
            try:
                request.state.principal = await authenticate(
                    credential_of(request.headers), self.settings, self.session_factory, self._key_session(request)
                )
            except AuthenticationError as exc:
                return _error(
                    401, str(exc), media_type, {"www-authenticate": "Bearer"}, code="UNAUTHENTICATED"
                )
            finally:
                current_statement_log.reset(counting)
        try:
            response = await self.run(request)
        except RequestRefused as exc:
            # Apollo's format; a client retries a PERSISTED_QUERY_NOT_FOUND with the full text.
            status = 400 if media_type == GRAPHQL_RESPONSE else 200
            return _error(status, exc.message, media_type, code=exc.code)
        except HTTPException as exc:
            status, message = exc.status_code, exc.reason
            if request.method == "GET" and "mutation" in message.lower():
                return _error(405, "Mutations are only accepted over POST.", media_type, {"allow": "POST"})
            return _error(status, message, media_type)
        if response.media_type == JSON or response.headers.get("content-type", "").startswith(JSON):
            response.headers["content-type"] = media_type
            if media_type == GRAPHQL_RESPONSE and request.state.request_error:
                response.status_code = 400
        if not request.state.request_error:  # only documents that parsed and validated are kept
            for digest, document in request.state.persisted_to_register:
                await self.persisted.remember(digest, document)
        return response


async def _document_id(request: Request) -> Any:
    """`documentId` of a GET's parameters or a JSON POST's body (strawberry ignores it)."""
    if request.method == "GET":
        return request.query_params.get("documentId")
    try:
        body = json.loads(await request.body())  # starlette cached the body strawberry read
    except ValueError:
        return None
    return body.get("documentId") if isinstance(body, dict) else None


def _set_cache_headers(request: Request, response: Response, settings: Settings) -> None:
    """Answers depend on the credential, so no shared cache may keep one: an error-free GET
    query answer is `private` (the browser may reuse it for `get_cache_max_age_seconds`),
    everything else (POST, mutations, errors, refusals) is `no-store`."""
    if "cache-control" in response.headers:
        return
    state = request.state
    if request.method == "GET" and response.status_code == 200 and state.executed and not state.result_errors:
        response.headers["cache-control"] = f"private, max-age={settings.get_cache_max_age_seconds}"
    else:
        response.headers["cache-control"] = "no-store"
    response.headers.append("vary", "Authorization, X-API-Key, Accept")


def _released_context(scope: Scope) -> Context | None:
    """The request's context, let go of: taken out of the request's state (it holds the
    request: a cycle otherwise) and its loaders' cycle broken (`Context.release`)."""
    context = scope.get("state", {}).pop("context", None)
    if context is not None:
        context.release()
    return context


async def _close_quietly(session: Any) -> None:
    """Close the request's session; one whose statement was cancelled (a timeout) may have
    lost its connection already, which must not turn a clean TIMEOUT error into a 500."""
    try:
        await session.close()
    except Exception:  # noqa: BLE001
        log.warning("closing a request session failed (request %s)", current_request_id(), exc_info=True)
        try:
            await session.invalidate()
        except Exception:  # noqa: BLE001
            log.debug("invalidating the session failed too", exc_info=True)


def _error(
    status: int, message: str, media_type: str, headers: dict[str, str] | None = None, code: str | None = None
) -> Response:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return JSONResponse({"errors": [error]}, status_code=status, media_type=media_type, headers=headers)


class PortalFiles(StaticFiles):
    """The built example portal (examples/portal) under /portal: a single-page app, so a client
    route like /portal/orders/<id> is answered with index.html; a missing asset stays a 404."""

    # The portal talks only to /graphql on this origin, never embeds or is embedded.
    SECURITY_HEADERS = {
        "content-security-policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            response = await super().get_response("index.html", scope)
        # Hashed assets never change; index.html must be revalidated to pick up a new build.
        immutable = path.startswith("assets/") and response.status_code == 200
        response.headers["cache-control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
        response.headers.update(self.SECURITY_HEADERS)
        return response


def portal_routes(settings: Settings) -> list[Mount]:
    """/portal when the portal is built (index.html in `portal_dir`); nothing otherwise."""
    directory = Path(settings.portal_dir) if settings.portal_dir else None
    if directory is None or not (directory / "index.html").is_file():
        return []
    return [Mount("/portal", app=PortalFiles(directory=directory, html=True), name="portal")]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    STATEMENTS.resize(settings.statement_cache_size)
    replica_engine = create_replica_engine(settings)  # reads of queries; None: the primary

    from graph import observability
    from graph.schema import build_schema

    budget_stores = BudgetStores()  # closed at shutdown (its Redis client, when configured)
    schema = build_schema(
        extra_extensions=[
            MaskUnexpectedErrors,
            *([ReadsFollowMutations] if replica_engine is not None else []),  # only a replica can lag
            *observability.tracing_extensions(settings),
        ],
        budget_stores=budget_stores,
    )
    view = GraphQLView(schema, settings, session_factory)
    view.read_session_factory = create_read_session_factory(replica_engine or engine)
    view.reads_on_replica = replica_engine is not None

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def database_unavailable_outside_execution(request: Request, exc: Exception) -> Response:
        # The API-key lookup runs before GraphQL does: a lost database there is a 503, not a 500.
        if not database_unavailable(exc):
            raise exc
        statements = getattr(request.state, "statements", None)
        request_id = statements.request_id if statements is not None else None
        log.warning("database unavailable (request %s)", request_id, exc_info=exc)
        body = {
            "errors": [
                {
                    "message": "The database is unavailable right now. Retry shortly.",
                    "extensions": {"code": "DATABASE_UNAVAILABLE", "requestId": request_id},
                }
            ]
        }
        return JSONResponse(body, status_code=503, headers={"retry-after": "1", "x-request-id": request_id or ""})

    from graph.subscriptions import ChangeNotifier

    # One outbox poller per app, shared by its subscriptions (graph/subscriptions.py).
    change_notifier = ChangeNotifier(session_factory, settings.subscription_poll_ms / 1000)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = None
        if settings.webhooks_enabled:  # one delivery worker per process (graph/webhooks.py)
            from graph.webhooks import WebhookWorker

            counter = observability.webhook_deliveries_counter(app)
            worker = WebhookWorker(session_factory, settings, counter=counter)
            worker.start()
        sweeper = None
        if settings.warnings_sweep_enabled:  # early-warning sweeps on a schedule (graph/crm/sweep.py)
            from graph.crm.sweep import WarningSweeper
            from graph.crm.warnings import RuleConfig

            sweeper = WarningSweeper(
                session_factory, settings.warnings_sweep_interval_seconds, RuleConfig.from_settings(settings)
            )
            sweeper.start()
            app.state.warning_sweeper = sweeper
        yield
        if sweeper is not None:
            await sweeper.stop()
        if worker is not None:
            await worker.stop()
        await change_notifier.aclose()
        await budget_stores.aclose()
        await view.persisted.aclose()
        await engine.dispose()
        if replica_engine is not None:
            await replica_engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),  # subscriptions: graphql-transport-ws
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/reports/{name}.csv", report_csv_endpoint),  # graph/crm/csv_export.py
            *portal_routes(settings),  # the example portal, when built
        ],
        lifespan=lifespan,
        middleware=guards(settings),
        exception_handlers={
            SQLAlchemyError: database_unavailable_outside_execution,
            ConnectionError: database_unavailable_outside_execution,
        },
    )
    app.state.engine = engine
    app.state.replica_engine = replica_engine
    app.state.session_factory = session_factory
    app.state.change_notifier = change_notifier
    app.state.settings = settings
    observability.install(app, settings)  # logging, slow queries, access line and metrics, /metrics
    return app


def create_served_app(settings: Settings | None = None) -> Starlette:
    """`create_app` for a server process (`partnergraph serve`). The objects built at startup
    (schema, models, settings) live as long as the process, yet every full garbage collection
    walks them all; frozen (gc.freeze), they are left out, which halved the collector's time
    under the sync benchmark. Tests build many apps and keep create_app, which freezes nothing."""
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    # A request allocates thousands of short-lived objects: at the default threshold (700) the
    # youngest generation was collected several times per portal page; every 20,000 is enough.
    gc.set_threshold(20_000, 20, 20)
    return app

