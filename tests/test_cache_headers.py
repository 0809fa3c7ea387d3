"""What browsers and the open internet may do with our answers: Cache-Control and Vary
(answers depend on the credential, so never `public`), CORS by allow-list, no cookies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from graph.app import create_app
from graph.ids import decode_global_id
from graph.settings import Settings
from tests.conftest import Backend

QUERY = "{ orders(first: 2) { edges { node { number } } } }"
PORTAL = "https://portal.example.com"


@asynccontextmanager
async def serving(backend: Backend, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=backend.url, cost_budget=10**9, **overrides))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield client
    finally:
        await app.state.engine.dispose()


def varies_by_credential(response: httpx.Response) -> bool:
    vary = {part.strip().lower() for value in response.headers.get_list("vary") for part in value.split(",")}
    return {"authorization", "x-api-key"} <= vary


async def test_get_query_answers_are_private_and_vary_by_credential(backend: Backend) -> None:
    response = await backend.client.get("/graphql", params={"query": QUERY})
    assert response.status_code == 200 and response.json()["data"]["orders"]
    assert response.headers["cache-control"] == "private, max-age=0"
    assert "public" not in response.headers["cache-control"]
    assert varies_by_credential(response)


async def test_posts_and_mutations_are_never_stored(backend: Backend) -> None:
    post = await backend.client.post("/graphql", json={"query": QUERY})
    assert post.status_code == 200 and post.headers["cache-control"] == "no-store"
    assert varies_by_credential(post)
    mutation = 'mutation { revokeApiKey(id: "QXBpS2V5Ojk5OTk5") { errors { code } } }'
    refused = await backend.client.get("/graphql", params={"query": mutation})
    assert refused.status_code == 405 and refused.headers["cache-control"] == "no-store"


async def test_errors_and_refusals_are_never_stored(backend: Backend) -> None:
    unauthenticated = await backend.client.get(
        "/graphql", params={"query": QUERY}, headers={"authorization": ""}
    )
    assert unauthenticated.status_code == 401 and unauthenticated.headers["cache-control"] == "no-store"
    invalid = await backend.client.get("/graphql", params={"query": "{ noSuchField }"})
    assert invalid.headers["cache-control"] == "no-store"
    # A partner asking for an internal field gets data and a FORBIDDEN error: not kept either.
    data = await backend.gql(
        "{ organizations(first: 1, filter: { roles: [CUSTOMER] }) { edges { node { id } } } }"
    )
    decoded = decode_global_id(data["organizations"]["edges"][0]["node"]["id"])
    assert decoded is not None
    key = await backend.key("customer", organization_id=decoded[1])
    partial = await backend.client.get(
        "/graphql",
        params={"query": "{ organizations(first: 1) { edges { node { name creditLimit { amount } } } } }"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert partial.json()["errors"] and partial.headers["cache-control"] == "no-store"


async def test_persisted_get_answers_are_private_too(backend: Backend) -> None:
    digest = hashlib.sha256(QUERY.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with serving(backend, get_cache_max_age_seconds=30) as client:
        headers = {"authorization": backend.client.headers["authorization"]}
        miss = await client.get("/graphql", params={"extensions": json.dumps(extensions)}, headers=headers)
        assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert miss.headers["cache-control"] == "no-store"  # the miss must not stick
        await client.post("/graphql", json={"query": QUERY, "extensions": extensions}, headers=headers)
        hit = await client.get("/graphql", params={"extensions": json.dumps(extensions)}, headers=headers)
        assert hit.json()["data"]["orders"]
        assert hit.headers["cache-control"] == "private, max-age=30"
        assert varies_by_credential(hit)


async def test_cors_allows_listed_origins_without_credentials_mode(backend: Backend) -> None:
    async with serving(backend, cors_origins=[PORTAL]) as client:
        headers = {"authorization": backend.client.headers["authorization"], "origin": PORTAL}
        answer = await client.post("/graphql", json={"query": QUERY}, headers=headers)
        assert answer.headers["access-control-allow-origin"] == PORTAL
        # Cookies are not how we authenticate: browsers are never told to send them.
        assert "access-control-allow-credentials" not in answer.headers
        assert "origin" in answer.headers["vary"].lower()
        preflight = await client.options(
            "/graphql",
            headers={
                "origin": PORTAL,
                "access-control-request-method": "GET",
                "access-control-request-headers": "authorization, apollographql-client-name",
            },
        )
        assert preflight.status_code == 200
        other = await client.post(
            "/graphql", json={"query": QUERY}, headers={**headers, "origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_cookies_never_authenticate(backend: Backend) -> None:
    key = backend.client.headers["authorization"].removeprefix("Bearer ")
    async with serving(backend) as client:
        for cookie in (f"authorization=Bearer {key}", f"api_key={key}", f"x-api-key={key}"):
            answer = await client.post("/graphql", json={"query": QUERY}, headers={"cookie": cookie})
            assert answer.status_code == 401, cookie


async def test_cookie_get_by_persisted_hash_is_refused_as_possible_csrf(backend: Backend) -> None:
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
    async with serving(backend, auth_required=False) as client:
        for params in ({"extensions": extensions}, {"documentId": "0" * 64}):
            refused = await client.get("/graphql", params=params, headers={"cookie": "session=abc"})
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"]["code"] == "CSRF_REFUSED"
