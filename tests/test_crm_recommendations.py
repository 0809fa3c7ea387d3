"""Cross-selling recommendations: co-purchase figures pinned by hand on both databases,
keyset pages, bounded statements, and the permission rules.

Purchases (distinct products on orders that are neither draft nor cancelled):

    T: p1 p2 p3          A: p1 p2 p4 p5 (+ p6 on a cancelled order: ignored)
    B: p1 p2 p3 p4 p7    C: p2 p3 p6       D: p1 p6 (+ p5 on a draft: ignored)
    p7 is discontinued: never recommended.

Similar to T with at least 2 shared products: A {p1 p2}, B {p1 p2 p3}, C {p2 p3} → 3 (D shares p1 only).
    p4: bought by A, B → buyers 2, score 2/3 = 0.6667; evidence: p1 (A, B), p2 (A, B), p3 (B)
    p5: bought by A    → buyers 1, score 1/3 = 0.3333; evidence: p1, p2
    p6: bought by C    → buyers 1, score 0.3333;        evidence: p2, p3
    ranked by buyers, then product id: p4, p5, p6.
With at least 1 shared product D is similar too (4): p4 2/4 = 0.5, p6 (C, D) 2/4 = 0.5, p5 1/4 = 0.25.
With at least 3: only B (1): p4 1/1 = 1.0.
Rep 1 owns T and A, rep 2 owns B, C and D are unowned: rep 1 sees the orders of T, A, C, D:
similar A, C (2): p4 (A) 0.5, p5 (A) 0.5, p6 (C) 0.5.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from graph.ids import encode_global_id
from graph.models import orders as om
from graph.models import organizations as orgm
from graph.models import people as pm
from graph.models import products as pr
from graph.seed import reset_sequences
from tests.conftest import Backend

T, A, B, C, D = 1, 2, 3, 4, 5
REP_1, REP_2 = 1, 2
PURCHASES = {
    T: [(om.OrderStatus.DELIVERED, [1, 2, 3])],
    A: [(om.OrderStatus.CONFIRMED, [1, 2]), (om.OrderStatus.CLOSED, [4, 5]), (om.OrderStatus.CANCELLED, [6])],
    B: [(om.OrderStatus.SHIPPED, [1, 2, 3, 4, 7])],
    C: [(om.OrderStatus.DELIVERED, [2, 3, 6])],
    D: [(om.OrderStatus.SUBMITTED, [1, 6]), (om.OrderStatus.DRAFT, [5])],
}


def gid(type_name: str, record_id: int) -> str:
    return encode_global_id(type_name, record_id)


@pytest.fixture(scope="module")
async def purchases(blank_backend: Backend) -> Backend:
    placed = datetime(2026, 3, 1, tzinfo=UTC)
    async with blank_backend.session_factory() as s, s.begin():
        s.add_all(
            [
                pm.User(id=REP_1, name="Rep One", email="one@example.com", role=pm.UserRole.SALES),
                pm.User(id=REP_2, name="Rep Two", email="two@example.com", role=pm.UserRole.SALES),
            ]
        )
        for org_id, name in ((T, "T"), (A, "A"), (B, "B"), (C, "C"), (D, "D")):
            s.add(orgm.Organization(id=org_id, name=name, is_customer=True))
        for number in range(1, 8):
            s.add(
                pr.Product(
                    id=number,
                    sku=f"P{number}",
                    name=f"p{number}",
                    list_price=Decimal(10),
                    status=pr.ProductStatus.DISCONTINUED if number == 7 else pr.ProductStatus.ACTIVE,
                )
            )
        await s.flush()
        for org_id, rep in ((T, REP_1), (A, REP_1), (B, REP_2)):
            s.add(pm.AccountOwnership(organization_id=org_id, user_id=rep, started_at=placed))
        order_id = 0
        for customer, orders in PURCHASES.items():
            for status, products in orders:
                order_id += 1
                s.add(
                    om.Order(
                        id=order_id,
                        number=f"SO-{order_id}",
                        customer_id=customer,
                        status=status,
                        placed_at=placed,
                        total_amount=Decimal(10) * len(products),
                    )
                )
                await s.flush()
                for line, product in enumerate(products, start=1):
                    s.add(
                        om.OrderLine(
                            order_id=order_id,
                            line_number=line,
                            product_id=product,
                            quantity=Decimal(1),
                            unit_price=Decimal(10),
                            line_total=Decimal(10),
                        )
                    )
        await s.flush()
        await reset_sequences(await s.connection())
    return blank_backend


QUERY = """query($id: ID!, $first: Int, $after: String, $min: Int! = 2) { node(id: $id) { ... on Organization {
  recommendedProducts(first: $first, after: $after, minSharedProducts: $min) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { product { name } buyers similarCustomers score sharedProducts { name } } } } } } }"""


async def recommend(backend: Backend, key: str | None = None, customer: int = T, **variables) -> dict:
    data = await backend.gql(QUERY, {"id": gid("Organization", customer), **variables}, key=key)
    return data["node"]["recommendedProducts"]


def items(connection: dict) -> list[tuple]:
    return [
        (
            e["node"]["product"]["name"],
            e["node"]["buyers"],
            e["node"]["similarCustomers"],
            e["node"]["score"],
            [p["name"] for p in e["node"]["sharedProducts"]],
        )
        for e in connection["edges"]
    ]


async def test_products_similar_customers_buy_ranked_with_their_evidence(purchases: Backend) -> None:
    result = await recommend(purchases)
    assert items(result) == [
        ("p4", 2, 3, 0.6667, ["p1", "p2", "p3"]),
        ("p5", 1, 3, 0.3333, ["p1", "p2"]),
        ("p6", 1, 3, 0.3333, ["p2", "p3"]),
    ]
    assert result["totalCount"] == 3 and not result["pageInfo"]["hasNextPage"]


async def test_the_similarity_threshold_changes_who_counts(purchases: Backend) -> None:
    assert [i[:4] for i in items(await recommend(purchases, min=1))] == [
        ("p4", 2, 4, 0.5),
        ("p6", 2, 4, 0.5),
        ("p5", 1, 4, 0.25),
    ]
    assert items(await recommend(purchases, min=3)) == [("p4", 1, 1, 1.0, ["p1", "p2", "p3"])]
    body = await purchases.gql(QUERY, {"id": gid("Organization", T), "min": 0}, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_recommendations_page_with_keyset_cursors(purchases: Backend) -> None:
    seen, after = [], None
    for expected_more in (True, True, False):
        page = await recommend(purchases, first=1, after=after)
        seen += [i[0] for i in items(page)]
        assert page["pageInfo"]["hasNextPage"] is expected_more
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        after = page["pageInfo"]["endCursor"]
    assert seen == ["p4", "p5", "p6"]
    body = await purchases.gql(QUERY, {"id": gid("Organization", T), "after": "nonsense"}, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_what_a_customer_already_buys_is_never_recommended(purchases: Backend) -> None:
    result = await recommend(purchases, customer=B)  # similar: T, A, C; B has p1–p4 and p7 already
    assert [i[0] for i in items(result)] == ["p5", "p6"]


async def test_every_customers_recommendations_cost_a_fixed_number_of_statements(purchases: Backend) -> None:
    query = """query($n: Int) { organizations(first: $n) { edges { node { name
        recommendedProducts(first: 2) { edges { node { score product { name } sharedProducts { name } } } } } } } }"""
    two, two_statements = await purchases.statements(query, {"n": 2})
    five, five_statements = await purchases.statements(query, {"n": 5})
    assert len(five["organizations"]["edges"]) == 5
    assert two_statements == five_statements <= 5  # list, two co-purchase statements, products
    by_name = {
        e["node"]["name"]: e["node"]["recommendedProducts"]["edges"] for e in five["organizations"]["edges"]
    }
    assert [e["node"]["product"]["name"] for e in by_name["T"]] == ["p4", "p5"]


async def test_a_sales_rep_gets_recommendations_from_the_purchases_it_may_see(purchases: Backend) -> None:
    rep = await purchases.key("sales", user_id=REP_1)
    assert [i[:4] for i in items(await recommend(purchases, key=rep))] == [
        ("p4", 1, 2, 0.5),
        ("p5", 1, 2, 0.5),
        ("p6", 1, 2, 0.5),
    ]
    rep_2 = await purchases.key("sales", user_id=REP_2)
    body = await purchases.gql(QUERY, {"id": gid("Organization", T)}, key=rep_2)
    assert body["node"] is None  # T is rep 1's customer


async def test_partners_get_nothing(purchases: Backend) -> None:
    customer = await purchases.key("customer", organization_id=T)
    body = await purchases.gql(QUERY, {"id": gid("Organization", T)}, errors=True, key=customer)
    assert body["data"]["node"] is None or body["data"]["node"].get("recommendedProducts") is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
