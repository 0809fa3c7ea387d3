"""Persisted queries (graph/persisted.py): Apollo's APQ protocol, the bounded stores (this
process, Redis shared by workers) and the trusted-document allow-list for partners."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from graph.app import create_app
from graph.ids import decode_global_id
from graph.persisted import InMemoryDocuments, TrustedDocuments
from graph.settings import Settings
from tests.conftest import Backend

QUERY = "query FirstOrders { orders(first: 2) { edges { node { number } } } }"
PRODUCTS = "query Catalogue { products(first: 3) { edges { node { sku name } } } }"
MUTATION = 'mutation Revoke { revokeApiKey(id: "QXBpS2V5Ojk5OTk5") { errors { code } } }'


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@asynccontextmanager
async def serving(backend: Backend, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second app over the backend's database, with its own settings and APQ store."""
    settings = Settings(database_url=backend.url, cost_budget=10**9, **overrides)
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield client
    finally:
        await app.state.engine.dispose()


async def bearer(backend: Backend, role: str = "admin", **kwargs: Any) -> dict[str, str]:
    return {"authorization": f"Bearer {await backend.key(role, **kwargs)}"}


async def customer_id(backend: Backend) -> int:
    data = await backend.gql(
        "{ organizations(first: 1, filter: { roles: [CUSTOMER] }) { edges { node { id } } } }"
    )
    decoded = decode_global_id(data["organizations"]["edges"][0]["node"]["id"])
    assert decoded is not None
    return decoded[1]


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_apq_hash_miss_then_full_text_registers_and_hash_alone_runs(backend: Backend) -> None:
    query = QUERY + f" # {uuid.uuid4().hex}"  # a document no other test registered
    digest = sha256(query)
    async with serving(backend) as client:
        headers = await bearer(backend)
        miss = await client.post("/graphql", json={"extensions": apq(digest)}, headers=headers)
        assert miss.status_code == 200
        # Exactly what Apollo's persisted-query link looks for before retrying with the text.
        assert miss.json() == {
            "errors": [
                {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
            ]
        }
        full = await client.post(
            "/graphql", json={"query": query, "extensions": apq(digest)}, headers=headers
        )
        assert full.json()["data"]["orders"]["edges"]
        hashed = await client.post("/graphql", json={"extensions": apq(digest)}, headers=headers)
        assert hashed.json()["data"] == full.json()["data"]
        over_get = await client.get(
            "/graphql", params={"extensions": json.dumps(apq(digest))}, headers={**headers, "accept": "*/*"}
        )
        assert over_get.status_code == 200, over_get.text
        assert over_get.json()["data"] == full.json()["data"]


async def test_the_strict_media_type_answers_a_miss_with_400(backend: Backend) -> None:
    async with serving(backend) as client:
        miss = await client.post(
            "/graphql",
            json={"extensions": apq(sha256(uuid.uuid4().hex))},
            headers={**await bearer(backend), "accept": "application/graphql-response+json"},
        )
    assert miss.status_code == 400
    assert code_of(miss.json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_that_is_not_the_texts_is_refused_and_not_registered(backend: Backend) -> None:
    wrong = sha256("something else")
    async with serving(backend) as client:
        headers = await bearer(backend)
        refused = await client.post(
            "/graphql", json={"query": QUERY, "extensions": apq(wrong)}, headers=headers
        )
        assert code_of(refused.json()) == "PERSISTED_QUERY_HASH_MISMATCH"
        assert "data" not in refused.json()
        after = await client.post("/graphql", json={"extensions": apq(wrong)}, headers=headers)
        assert code_of(after.json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_invalid_documents_are_not_registered(backend: Backend) -> None:
    invalid = "query { noSuchField }"
    async with serving(backend) as client:
        headers = await bearer(backend)
        first = await client.post(
            "/graphql", json={"query": invalid, "extensions": apq(sha256(invalid))}, headers=headers
        )
        assert first.json()["errors"]
        again = await client.post("/graphql", json={"extensions": apq(sha256(invalid))}, headers=headers)
        assert code_of(again.json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_unsupported_versions_and_disabled_apq_are_clear(backend: Backend) -> None:
    headers = await bearer(backend)
    async with serving(backend) as client:
        body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha256(QUERY)}}}
        assert (
            code_of((await client.post("/graphql", json=body, headers=headers)).json())
            == "PERSISTED_QUERY_VERSION"
        )
    async with serving(backend, persisted_queries_enabled=False) as client:
        miss = await client.post("/graphql", json={"extensions": apq(sha256(QUERY))}, headers=headers)
        assert miss.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
        # The text still runs; it is just not remembered.
        ran = await client.post(
            "/graphql", json={"query": QUERY, "extensions": apq(sha256(QUERY))}, headers=headers
        )
        assert ran.json()["data"]["orders"]


def test_the_process_store_is_a_bounded_lru() -> None:
    import asyncio

    async def scenario() -> None:
        store = InMemoryDocuments(max_bytes=30)
        await store.put("a", "x" * 10)
        await store.put("b", "y" * 10)
        await store.put("c", "z" * 10)
        assert await store.get("a") == "x" * 10  # now the most recently used
        await store.put("d", "w" * 10)  # over 30 bytes: the least recently used (b) goes
        assert await store.get("b") is None
        assert [await store.get(k) is not None for k in "acd"] == [True, True, True]
        await store.put("huge", "h" * 31)  # larger than the whole store: never kept
        assert await store.get("huge") is None and len(store) == 3

    asyncio.run(scenario())


async def test_redis_store_is_shared_by_workers(backend: Backend) -> None:
    redis = pytest.importorskip("redis.asyncio")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except Exception:  # noqa: BLE001
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    finally:
        await client.aclose()
    shared = {"redis_url": "redis://127.0.0.1:6379/0", "redis_key_prefix": f"pgtest-{uuid.uuid4().hex}"}
    query = QUERY + f" # {uuid.uuid4().hex}"
    headers = await bearer(backend)
    async with serving(backend, **shared) as worker_a, serving(backend, **shared) as worker_b:
        miss = await worker_b.post("/graphql", json={"extensions": apq(sha256(query))}, headers=headers)
        assert code_of(miss.json()) == "PERSISTED_QUERY_NOT_FOUND"
        await worker_a.post(
            "/graphql", json={"query": query, "extensions": apq(sha256(query))}, headers=headers
        )
        hit = await worker_b.post("/graphql", json={"extensions": apq(sha256(query))}, headers=headers)
        assert hit.json()["data"]["orders"]["edges"]
    client = redis.Redis.from_url(shared["redis_url"])
    try:
        keys = [key async for key in client.scan_iter(f"{shared['redis_key_prefix']}:apq:*")]
        assert len(keys) == 1 and 0 < await client.ttl(keys[0]) <= 7 * 24 * 3600  # bounded by a TTL
        await client.delete(
            *keys, *[key async for key in client.scan_iter(f"{shared['redis_key_prefix']}:*")]
        )
    finally:
        await client.aclose()


def manifest(tmp_path: Any, documents: dict[str, str], name: str = "persisted-documents.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(documents))
    return str(path)


async def test_partners_run_only_trusted_documents_internal_users_anything(
    backend: Backend, tmp_path: Any
) -> None:
    documents = {
        f"sha256:{sha256(PRODUCTS)}": PRODUCTS,  # the client preset's key format
        hashlib.sha1(QUERY.encode()).hexdigest(): QUERY,  # the client preset's default hash  # noqa: S324
    }
    settings = {
        "trusted_documents": [manifest(tmp_path, documents)],
        "trusted_documents_only_for_partners": True,
    }
    partner = await bearer(backend, "customer", organization_id=await customer_id(backend))
    admin = await bearer(backend)
    async with serving(backend, **settings) as client:

        async def post(body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
            return (await client.post("/graphql", json=body, headers=headers)).json()

        by_hash = await post({"extensions": apq(sha256(PRODUCTS))}, partner)
        assert by_hash["data"]["products"]["edges"]
        assert (await post({"documentId": f"sha256:{sha256(PRODUCTS)}"}, partner))["data"] == by_hash["data"]
        assert (await post({"query": PRODUCTS}, partner))["data"] == by_hash["data"]
        sha1_named = await post({"documentId": hashlib.sha1(QUERY.encode()).hexdigest()}, partner)  # noqa: S324
        assert "orders" in sha1_named["data"]
        over_get = await client.get("/graphql", params={"documentId": sha256(PRODUCTS)}, headers=partner)
        assert over_get.json()["data"] == by_hash["data"]

        other = "{ products(first: 1) { edges { node { sku } } } }"
        for refused in (
            {"query": other},
            {"query": other, "extensions": apq(sha256(other))},  # APQ cannot register for partners
            {"extensions": apq(sha256(other))},
            {"documentId": sha256(other)},
        ):
            body = await post(refused, partner)
            assert code_of(body) == "PERSISTED_QUERY_NOT_ALLOWED", body
            assert "data" not in body

        assert (await post({"query": other}, admin))["data"]["products"]
        assert (await post({"extensions": apq(sha256(PRODUCTS))}, admin))["data"] == by_hash["data"]


async def test_trusted_documents_resolve_for_everyone_when_not_enforced(
    backend: Backend, tmp_path: Any
) -> None:
    settings = {"trusted_documents": [manifest(tmp_path, {sha256(PRODUCTS): PRODUCTS})]}
    partner = await bearer(backend, "customer", organization_id=await customer_id(backend))
    async with serving(backend, **settings) as client:
        trusted = await client.post("/graphql", json={"documentId": sha256(PRODUCTS)}, headers=partner)
        assert trusted.json()["data"]["products"]
        anything = await client.post(
            "/graphql", json={"query": "{ products(first: 1) { totalCount } }"}, headers=partner
        )
        assert anything.json()["data"]["products"]


async def test_a_mutation_named_by_hash_never_runs_over_get(backend: Backend, tmp_path: Any) -> None:
    settings = {"trusted_documents": [manifest(tmp_path, {sha256(MUTATION): MUTATION})]}
    async with serving(backend, **settings) as client:
        response = await client.get(
            "/graphql", params={"documentId": sha256(MUTATION)}, headers=await bearer(backend)
        )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_bad_manifests_and_settings_fail_at_start(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="not the SHA-256 or SHA-1"):
        TrustedDocuments.load([manifest(tmp_path, {sha256("other"): PRODUCTS})])
    with pytest.raises(ValueError, match="cannot read"):
        TrustedDocuments.load([str(tmp_path / "missing.json")])
    with pytest.raises(ValidationError, match="needs trusted_documents"):
        Settings(trusted_documents_only_for_partners=True)
    paths = Settings(trusted_documents="a.json, b.json").trusted_documents  # type: ignore[arg-type]
    assert paths == ["a.json", "b.json"]


def test_the_example_portals_manifest_loads_when_present() -> None:
    from pathlib import Path  # noqa: PLC0415

    path = Path(__file__).resolve().parent.parent / "examples" / "portal" / "persisted-documents.json"
    if not path.exists():
        pytest.skip("examples/portal/persisted-documents.json is generated by the portal's codegen")
    assert len(TrustedDocuments.load([str(path)])) > 0
