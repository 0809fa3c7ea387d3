"""Bounded queries: cost analysis and budgets, partner introspection, execution timeout,
body size, CSRF and CORS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import strawberry
from graphql import parse

from graph.access import SYSTEM
from graph.app import create_app
from graph.limits import ExecutionTimeout, InMemoryCostBudgets, PageSizes, query_cost
from graph.schema import schema as graph_schema
from graph.settings import Settings
from tests.conftest import Backend, first_node_id

# Pricing (graph/limits.py): scalars 0, every object 1 plus its selections, and a
# connection's `edges` paid once per item on the page. By hand:
#   orders                                    1
#   + 3 edges × ( edge 1 + node 1
#                 + lines                     1
#                 + 2 edges × (edge 1 + node 1 + product 1) )
#   = 1 + 3 × (1 + 1 + 1 + 2 × 3) = 1 + 3 × 9 = 28
SMALL = """{ orders(first: 3) { totalCount edges { node { number
              lines(first: 2) { edges { node { quantity product { sku } } } } } } } }"""
SMALL_COST = 28

# 1 + 100 × (1 + 1 + 1 + 100 × 2) = 20,301 points, over the default limit of 5,000.
HUGE = "{ orders(first: 100) { edges { node { lines(first: 100) { edges { node { id } } } } } } }"
HUGE_COST = 20301

PAGES = PageSizes(default=20, maximum=100, max_batch_ids=100)


def _cost(query: str, variables: dict[str, Any] | None = None) -> int | None:
    return query_cost(
        graph_schema._schema, parse(query), operation_name=None, variables=variables, pages=PAGES
    )


def test_one_document_is_priced_once_per_page_size_not_once_per_id_or_text(monkeypatch: Any) -> None:
    import graph.limits

    priced = []
    real = graph.limits._price
    monkeypatch.setattr(graph.limits, "_price", lambda *args: priced.append(args) or real(*args))
    document = parse(
        "query($id: ID!, $text: String, $n: Int) { node(id: $id) { id }"
        " organizations(first: $n, filter: { search: $text }) { edges { node { name } } } }"
    )

    def cost(**variables: Any) -> int | None:
        return query_cost(graph_schema._schema, document, operation_name=None, variables=variables, pages=PAGES)

    first = cost(id="T3JkZXI6MQ==", text="acme", n=5)
    assert cost(id="T3JkZXI6Mg==", text="globex", n=5) == first and len(priced) == 1
    assert cost(id="T3JkZXI6Mg==", text="globex", n=50) != first and len(priced) == 2
    # A missing or unusable id is priced on its own: None, so nothing is charged for a request
    # execution will refuse.
    assert cost(text="acme", n=5) is None
    assert cost(id={"not": "an id"}, n=5) is None


@asynccontextmanager
async def _client(backend: Backend, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a separate app on the same database, built with these settings."""
    app = create_app(Settings(database_url=backend.url, debug=True, **settings))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await app.state.engine.dispose()


# --- pricing --------------------------------------------------------------------------------


def test_pricing_counts_objects_and_multiplies_connections_by_their_page() -> None:
    assert _cost(SMALL) == SMALL_COST
    assert _cost(HUGE) == HUGE_COST
    # No `first`: the default page of 20 → 1 + 20 × (edge 1 + node 1) = 41.
    assert _cost("{ orders { edges { node { id } } } }") == 41
    # nodes(ids:) multiplies by the ids: 2 × (node 1 + customer 1) = 4.
    assert _cost('{ nodes(ids: ["a", "b"]) { id ... on Order { customer { name } } } }') == 4


def test_pricing_resolves_fragments_variables_and_skip() -> None:
    query = """
        query Q($n: Int!, $lean: Boolean!) {
          orders(first: $n) { edges { node { ...Lines } } }
          again: orders(first: 1) @skip(if: $lean) { edges { node { id } } }
        }
        fragment Lines on Order { lines(first: 2) { edges { node { id } } } }
    """
    # 1 + 5 × (1 + 1 + (1 + 2 × 2)) = 36; `again` is skipped.
    assert _cost(query, {"n": 5, "lean": True}) == 36
    # Not skipped: + 1 + 1 × 2 = 3.
    assert _cost(query, {"n": 5, "lean": False}) == 39


def test_budgets_deplete_refill_and_never_overflow() -> None:
    now = [0.0]
    budgets = InMemoryCostBudgets(capacity=100, refill_per_second=10, clock=lambda: now[0])

    async def scenario() -> None:
        assert await budgets.take("k", 60) == (True, 40)
        assert await budgets.take("k", 60) == (False, 40)  # a refusal spends nothing
        assert await budgets.take("other", 60) == (True, 40)  # buckets are per principal
        now[0] = 2.0
        assert await budgets.take("k", 60) == (True, 0)  # 40 + 2 s × 10 = 60
        now[0] = 1000.0
        assert await budgets.take("k", 0) == (True, 100)  # full, not more

    asyncio.run(scenario())


# --- over HTTP --------------------------------------------------------------------------------


async def test_every_response_reports_its_cost(backend: Backend) -> None:
    body = (await backend.client.post("/graphql", json={"query": SMALL})).json()
    assert "errors" not in body, body
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == SMALL_COST
    assert cost["maximumAvailable"] == backend.settings.cost_budget
    assert cost["throttleStatus"]["restoreRate"] == backend.settings.cost_refill_per_second
    assert 0 <= cost["throttleStatus"]["currentlyAvailable"] <= backend.settings.cost_budget - SMALL_COST


async def test_a_query_over_the_cost_limit_is_refused_before_execution(backend: Backend) -> None:
    response = await backend.client.post("/graphql", json={"query": HUGE})
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": HUGE_COST, "limit": 5000}
    assert body["extensions"]["sqlStatements"] == 0
    assert body["extensions"]["cost"]["requestedQueryCost"] == HUGE_COST


async def test_the_budget_depletes_and_refills(backend: Backend) -> None:
    # 60 points refilled at 40 a second: two 28-point queries fit, a third at once does not.
    settings = {"auth_required": False, "max_query_cost": 30, "cost_budget": 60, "cost_refill_per_second": 40}
    async with _client(backend, **settings) as client:
        for _ in range(2):
            body = (await client.post("/graphql", json={"query": SMALL})).json()
            assert "errors" not in body, body
        refused = await client.post("/graphql", json={"query": SMALL})
        body = refused.json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BUDGET_EXHAUSTED"
        assert error["extensions"]["cost"] == SMALL_COST
        assert error["extensions"]["retryAfterSeconds"] == 1
        assert refused.headers["retry-after"] == "1"
        assert body["extensions"]["sqlStatements"] == 0
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < SMALL_COST
        await asyncio.sleep(0.7)  # + 28 points
        body = (await client.post("/graphql", json={"query": SMALL})).json()
        assert "errors" not in body, body


async def test_partners_may_not_introspect_when_it_is_turned_off(backend: Backend) -> None:
    customer = await first_node_id(backend, "organizations", "filter: { roles: [CUSTOMER] }")
    partner = {"authorization": f"Bearer {await backend.key('customer', organization_id=customer)}"}
    admin = {"authorization": f"Bearer {await backend.key('admin')}"}
    introspect = {"query": "{ __schema { queryType { name } } }"}
    async with _client(backend, partner_introspection=False) as client:
        body = (await client.post("/graphql", json=introspect, headers=partner)).json()
        assert body.get("data") is None
        assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        assert body["extensions"]["sqlStatements"] == 0
        typed = await client.post(
            "/graphql", json={"query": '{ __type(name: "Order") { name } }'}, headers=partner
        )
        assert typed.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        # Everything else, and internal users' introspection, still works.
        assert (
            "errors"
            not in (await client.post("/graphql", json={"query": "{ __typename }"}, headers=partner)).json()
        )
        assert (await client.post("/graphql", json=introspect, headers=admin)).json()["data"]["__schema"]
    # On by default.
    assert (await backend.client.post("/graphql", json=introspect, headers=partner)).json()["data"][
        "__schema"
    ]


def test_execution_stops_at_the_timeout() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        async def slow(self) -> int:
            await asyncio.sleep(30)
            return 1

    schema = strawberry.Schema(query=Query, extensions=[ExecutionTimeout])
    context = SimpleNamespace(settings=Settings(execution_timeout_seconds=0.05), principal=SYSTEM)

    async def run() -> Any:
        return await asyncio.wait_for(schema.execute("{ slow }", context_value=context), timeout=5)

    result = asyncio.run(run())
    [error] = result.errors
    assert error.extensions["code"] == "TIMEOUT"
    assert result.data is None


async def test_a_body_over_the_limit_is_413(backend: Backend) -> None:
    big = '{"query": "{ __typename }", "padding": "' + "x" * (1024 * 1024) + '"}'
    response = await backend.client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["errors"][0]["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 65536

    response = await backend.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_simple_content_type_posts_are_refused_as_possible_csrf(backend: Backend) -> None:
    query = '{"query": "{ __typename }"}'
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        response = await backend.client.post(
            "/graphql", content=query, headers={"content-type": content_type}
        )
        assert response.status_code == 400, content_type
        assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_REFUSED"
    # A header only a preflighted request can carry lets it through the guard.
    response = await backend.client.post(
        "/graphql", content=query, headers={"content-type": "text/plain", "x-requested-with": "fetch"}
    )
    assert response.json().get("errors", [{}])[0].get("extensions", {}).get("code") != "CSRF_REFUSED"


async def test_get_queries_with_a_cookie_and_no_credential_are_refused(backend: Backend) -> None:
    async with _client(backend, auth_required=False) as client:
        params = {"query": "{ __typename }"}
        refused = await client.get("/graphql", params=params, headers={"cookie": "session=abc"})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "CSRF_REFUSED"
        assert (await client.get("/graphql", params=params)).status_code == 200
        # GraphiQL's page itself is not a query.
        assert (
            await client.get("/graphql", headers={"cookie": "a=b", "accept": "text/html"})
        ).status_code == 200


async def test_cors_preflight_is_allowed_for_listed_origins_only(backend: Backend) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with _client(backend, cors_origins=["https://portal.example.com"]) as client:
        allowed = await client.options(
            "/graphql", headers={"origin": "https://portal.example.com", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://portal.example.com"
        refused = await client.options("/graphql", headers={"origin": "https://evil.example", **preflight})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
