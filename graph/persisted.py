"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

**APQ.** A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": H}` and no
query text. We know H: run the document. We don't: answer Apollo's `PersistedQueryNotFound`
(code `PERSISTED_QUERY_NOT_FOUND`) so the client retries with the text and the hash; we check
that the hash is the text's SHA-256 and, once the document has run without a request error,
remember it. Hashed queries may then travel as GET (cacheable URLs); mutations never do (the
view refuses them over GET). The store is bounded: an LRU in this process, or Redis with a TTL
when `redis_url` is set, so every worker of a deployment shares it.

**Trusted documents.** Manifests in GraphQL Codegen's client-preset format
(`persisted-documents.json`: `{"<hash>": "<document text>"}`, the hash SHA-256 or SHA-1 hex,
optionally prefixed `sha256:` as the client preset writes it), listed in
`trusted_documents`, are loaded at start-up and checked (every key must be its text's hash).
They always resolve by hash (or `documentId`). With `trusted_documents_only_for_partners`,
partner principals may run those documents only, by hash or by text whose hash is listed;
anything else is `PERSISTED_QUERY_NOT_ALLOWED`. Internal users may still send any query.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from graph.access import Principal
from graph.errors import RequestRefused
from graph.settings import Settings

log = logging.getLogger("partnergraph.persisted")

APQ_VERSION = 1


class PersistedQueryError(RequestRefused):
    """A persisted-query refusal, answered as a GraphQL error with `code` before execution."""


def not_found() -> PersistedQueryError:
    # Apollo clients match the message and the code exactly, then retry with the full text.
    return PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


def not_supported() -> PersistedQueryError:
    # Apollo clients stop sending bare hashes after this one.
    return PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")


def not_allowed() -> PersistedQueryError:
    return PersistedQueryError(
        "PERSISTED_QUERY_NOT_ALLOWED",
        "Partner keys may only run the trusted documents published with the applications built "
        "for them; this document is not one of them.",
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _hashes_of(text: str) -> tuple[str, str]:
    """The hashes a manifest may key a document by: SHA-256 (ours, Apollo's) and SHA-1
    (the client preset's default)."""
    encoded = text.encode()
    return hashlib.sha256(encoded).hexdigest(), hashlib.sha1(encoded).hexdigest()  # noqa: S324 - an id, not a secret


class DocumentStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, document: str) -> None: ...

    async def aclose(self) -> None: ...


class InMemoryDocuments:
    """APQ documents of this process: least recently used first out, bounded in total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    async def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    async def put(self, sha256: str, document: str) -> None:
        size = len(document.encode())
        if size > self.max_bytes or sha256 in self._documents:
            return
        self._documents[sha256] = document
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._documents.popitem(last=False)
            self._bytes -= len(evicted.encode())

    def __len__(self) -> int:
        return len(self._documents)

    async def aclose(self) -> None:
        return None


class RedisDocuments:
    """APQ documents shared by every worker, each kept `ttl_seconds` after it was last stored.
    Redis trouble is a cache miss: the client then sends the full text, which still runs."""

    def __init__(self, url: str, prefix: str, ttl_seconds: int, timeout: float = 1.0) -> None:
        import redis.asyncio as redis  # only deployments that set redis_url load the client

        self._prefix = f"{prefix}:apq:"
        self._ttl = ttl_seconds
        self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, TimeoutError)

    async def get(self, sha256: str) -> str | None:
        try:
            value = await self._client.get(self._prefix + sha256)
        except self._errors:
            log.warning("persisted query store unavailable (get)", exc_info=True)
            return None
        return value.decode() if value is not None else None

    async def put(self, sha256: str, document: str) -> None:
        try:
            await self._client.set(self._prefix + sha256, document, ex=self._ttl)
        except self._errors:
            log.warning("persisted query store unavailable (put)", exc_info=True)

    async def aclose(self) -> None:
        await self._client.aclose()


class TrustedDocuments:
    """The allow-list: documents from client-preset manifests, by every hash that names them."""

    def __init__(self, documents: dict[str, str] | None = None) -> None:
        self._by_hash: dict[str, str] = {}
        for key, text in (documents or {}).items():
            self.add(key, text)

    def add(self, key: str, text: str, source: str = "manifest") -> None:
        key = key.lower()
        algorithm, _, key = key.rpartition(":")  # the client preset writes "sha256:<hex>"
        if algorithm not in ("", "sha256", "sha1") or key not in _hashes_of(text):
            raise ValueError(f"{source}: {key} is not the SHA-256 or SHA-1 hash of its document")
        for digest in (key, sha256_hex(text)):
            self._by_hash[digest] = text

    @classmethod
    def load(cls, paths: list[str]) -> TrustedDocuments:
        trusted = cls()
        for path in paths:
            try:
                manifest = json.loads(Path(path).read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"trusted_documents: cannot read {path}: {exc}") from exc
            if not isinstance(manifest, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in manifest.items()
            ):
                raise ValueError(f"trusted_documents: {path} is not an object of hash to document text")
            for key, text in manifest.items():
                trusted.add(key, text, source=path)
        return trusted

    def get(self, digest: str) -> str | None:
        return self._by_hash.get(digest.lower())

    def contains_text(self, text: str) -> bool:
        return sha256_hex(text) in self._by_hash

    def __len__(self) -> int:
        return len(set(self._by_hash.values()))


@dataclass
class Resolved:
    """The text to execute, and the APQ hash to remember it by once it ran cleanly."""

    query: str | None
    register: str | None = None


def requested_hash(extensions: dict[str, Any] | None, document_id: Any) -> str | None:
    """The document hash a request names: `extensions.persistedQuery.sha256Hash` (Apollo) or
    `documentId` (GraphQL over HTTP, optionally `sha256:`-prefixed)."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is not None:
        if not isinstance(persisted, dict) or persisted.get("version") != APQ_VERSION:
            raise PersistedQueryError(
                "PERSISTED_QUERY_VERSION", "Unsupported persisted query version; send version 1."
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not digest:
            raise PersistedQueryError("BAD_REQUEST", "persistedQuery.sha256Hash must be a hex string.")
        return digest.lower()
    if document_id is not None:
        if not isinstance(document_id, str) or not document_id:
            raise PersistedQueryError("BAD_REQUEST", "documentId must be a string.")
        return document_id.removeprefix("sha256:").lower()
    return None


class PersistedQueries:
    """Turns a request's (query, hash) into the text to run, for one principal."""

    def __init__(self, settings: Settings, store: DocumentStore | None = None) -> None:
        self.enabled = settings.persisted_queries_enabled
        self.partners_trusted_only = settings.trusted_documents_only_for_partners
        self.trusted = TrustedDocuments.load(settings.trusted_documents)
        self.store = store or store_for(settings)

    async def resolve(self, query: str | None, digest: str | None, principal: Principal) -> Resolved:
        restricted = self.partners_trusted_only and not principal.is_internal
        if query is not None:
            if digest is not None and digest not in _hashes_of(query):
                raise PersistedQueryError(
                    "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
                )
            if restricted and not self.trusted.contains_text(query):
                raise not_allowed()
            register = (
                digest if self.enabled and not restricted and self.trusted.get(digest or "") is None else None
            )
            return Resolved(query, register)
        if digest is None:
            return Resolved(None)  # no text, no hash: the view reports the missing query
        trusted = self.trusted.get(digest)
        if trusted is not None:
            return Resolved(trusted)
        if restricted:
            raise not_allowed()
        if not self.enabled:
            raise not_supported()
        document = await self.store.get(digest)
        if document is None:
            raise not_found()
        return Resolved(document)

    async def remember(self, digest: str, document: str) -> None:
        await self.store.put(digest, document)

    async def aclose(self) -> None:
        await self.store.aclose()


def store_for(settings: Settings) -> DocumentStore:
    if settings.redis_url:
        return RedisDocuments(
            settings.redis_url, settings.redis_key_prefix, settings.persisted_queries_ttl_seconds
        )
    return InMemoryDocuments(settings.persisted_queries_cache_bytes)
