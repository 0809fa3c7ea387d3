"""GraphQL over HTTP as the spec asks: methods, media types, status codes, health."""

from __future__ import annotations

from tests.conftest import Backend

QUERY = "{ products(first: 1) { edges { node { sku } } } }"


async def test_get_runs_queries(backend: Backend) -> None:
    response = await backend.client.get("/graphql", params={"query": QUERY})
    assert response.status_code == 200
    assert response.json()["data"]["products"]["edges"]


async def test_get_refuses_mutations_with_405(backend: Backend) -> None:
    response = await backend.client.get(
        "/graphql", params={"query": 'mutation { archiveProduct(id: "x") { errors { message } } }'}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_graphql_response_media_type_gives_400_for_request_errors(backend: Backend) -> None:
    headers = {"accept": "application/graphql-response+json"}
    response = await backend.client.post("/graphql", json={"query": "{ products(first: 1 { x } }"}, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in response.json() or response.json()["data"] is None
    ok = await backend.client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")


async def test_legacy_json_media_type_answers_200_with_errors(backend: Backend) -> None:
    response = await backend.client.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"]


async def test_subscriptions_over_plain_http_are_a_typed_request_error(backend: Backend) -> None:
    subscription = "subscription Live { changes { cursor } }"
    legacy = await backend.client.post("/graphql", json={"query": subscription})
    assert legacy.status_code == 200
    assert legacy.json()["errors"] == [
        {"message": "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, "
         "not over a plain HTTP request.", "extensions": {"code": "BAD_REQUEST"}}
    ]  # fmt: skip
    headers = {"accept": "application/graphql-response+json"}
    strict = await backend.client.post("/graphql", json={"query": subscription}, headers=headers)
    assert strict.status_code == 400 and strict.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    by_get = await backend.client.get("/graphql", params={"query": subscription})
    assert by_get.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # The operation the request names decides, not the first one in the document.
    both = f"{subscription} query Now {{ products(first: 1) {{ totalCount }} }}"
    answered = await backend.client.post("/graphql", json={"query": both, "operationName": "Now"})
    assert answered.json()["data"]["products"]["totalCount"] >= 1


async def test_unacceptable_media_type_is_406(backend: Backend) -> None:
    response = await backend.client.post("/graphql", json={"query": QUERY}, headers={"accept": "text/csv"})
    assert response.status_code == 406


async def test_unparsable_body_is_400(backend: Backend) -> None:
    response = await backend.client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_browsers_get_graphiql(backend: Backend) -> None:
    response = await backend.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_every_response_carries_a_request_id(backend: Backend) -> None:
    response = await backend.client.post("/graphql", json={"query": QUERY}, headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    response = await backend.client.post("/graphql", json={"query": QUERY})
    assert len(response.headers["x-request-id"]) == 32


async def test_health_and_readiness(backend: Backend) -> None:
    assert (await backend.client.get("/healthz")).json() == {"status": "ok"}
    ready = await backend.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_query_limits_refuse_before_execution(backend: Backend) -> None:
    level = "customer { orders(first: 1) { edges { node { "
    opened = "{ orders(first: 1) { edges { node { " + level * 5 + "id "
    deep = opened + "}" * opened.count("{")
    body = await backend.gql(deep, errors=True)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: products(first: 1) {{ totalCount }}" for i in range(40)) + " }"
    body = await backend.gql(aliases, errors=True)
    assert "aliases" in body["errors"][0]["message"].lower()
    body = await backend.gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101}, errors=True)
    assert "at most 100" in body["errors"][0]["message"]


async def test_unexpected_errors_are_masked_and_carry_the_request_id(backend: Backend, monkeypatch, caplog) -> None:
    from graph.resolvers import organizations

    async def broken(reader, ids):  # noqa: ANN001, ANN202
        raise RuntimeError('relation "organizations" does not exist: SELECT credit_limit FROM organizations')

    monkeypatch.setattr(organizations, "addresses_of", broken)
    response = await backend.client.post(
        "/graphql", json={"query": "{ organizations(first: 1) { edges { node { name addresses { line1 } } } } }"},
        headers={"x-request-id": "trace-me-42"},
    )
    body = response.json()
    error = body["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "trace-me-42"}
    assert "SELECT" not in response.text and "relation" not in response.text
    assert error["path"] == ["organizations", "edges", 0, "node", "addresses"]
    assert any("trace-me-42" in record.getMessage() for record in caplog.records)
