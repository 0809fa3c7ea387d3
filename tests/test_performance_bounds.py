"""Statement bounds of the read path: the README portal page in at most 6 statements on both
databases, a count that does not grow with the data, and the folded loads (to-one records
joined into a page, totalCount as a window count, rows reused by id) returning exactly what
separate loads return, for every kind of caller."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import graph.types.common as common
from graph.ids import decode_global_id
from tests.conftest import Backend

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
PORTAL = re.search(r"```graphql\n(query PortalPage.*?)```", README, re.S).group(1)

# The portal page with the page sizes as variables, to grow the data one request reads.
SIZED_PORTAL = (
    PORTAL.replace("query PortalPage {", "query PortalPage($customers: Int!, $orders: Int!) {")
    # The demo's own customers (created before any test adds one), which all have orders.
    .replace("organizations(first: 1,", "organizations(first: $customers, orderBy: {field: CREATED_AT, direction: ASC},")
    .replace("orders(first: 20,", "orders(first: $orders,")
)

LINES = """
query Lines($after: String) {
  orders(first: 15, after: $after) { totalCount edges { node {
    number total { amount currency }
    lines(first: 10) { totalCount edges { node {
      lineNumber unitPrice { amount currency } lineTotal { amount }
      product { sku name } supplier { name }
      order { number currency }
    } } }
    shipments(first: 3) { totalCount edges { node { carrier status } } }
  } } }
}
"""


async def test_the_readme_portal_page_takes_at_most_six_statements(backend: Backend) -> None:
    # As the portal runs it: signed in as a customer (one with orders; as admin, "first customer"
    # depends on what other tests have created).
    order = await backend.gql("{ orders(first: 1) { edges { node { customer { id } } } } }")
    customer_id = decode_global_id(order["orders"]["edges"][0]["node"]["customer"]["id"])[1]
    data, count = await backend.statements(PORTAL, key=await backend.key("customer", organization_id=customer_id))
    customer = data["organizations"]["edges"][0]["node"]
    assert customer["orders"]["edges"], "the demo customer has orders to show"
    assert customer["orders"]["totalCount"] >= len(customer["orders"]["edges"])
    # organizations, contacts, orders (+ their count), service records (+ products),
    # lines (+ products and suppliers), shipments.
    assert count <= 6


async def test_the_portal_statement_count_does_not_grow_with_the_data(backend: Backend) -> None:
    counts = set()
    for customers, orders in ((1, 1), (1, 20), (4, 4), (8, 2)):  # within the per-request cost limit
        data, count = await backend.statements(SIZED_PORTAL, {"customers": customers, "orders": orders})
        assert len(data["organizations"]["edges"]) == customers
        counts.add(count)
    assert counts == {max(counts)}
    assert max(counts) <= 6


async def _keys(backend: Backend) -> dict[str, str | None]:
    """An admin, a sales rep and one partner of each kind."""
    keys: dict[str, str | None] = {"admin": None}
    for role, flag in (("customer", "CUSTOMER"), ("supplier", "SUPPLIER"), ("distributor", "DISTRIBUTOR")):
        data = await backend.gql(
            f"{{ organizations(first: 1, filter: {{roles: [{flag}]}}) {{ edges {{ node {{ id }} }} }} }}"
        )
        org_id = decode_global_id(data["organizations"]["edges"][0]["node"]["id"])[1]
        keys[role] = await backend.key(role, organization_id=org_id)
    users = await backend.gql("{ users(first: 1) { edges { node { id } } } }")
    keys["sales"] = await backend.key(
        "sales", user_id=decode_global_id(users["users"]["edges"][0]["node"]["id"])[1]
    )
    return keys


def _unfolded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load every level on its own, as before the folding: nothing joined, counts apart."""
    monkeypatch.setattr(common, "connection_selection", lambda info: (frozenset(), frozenset()))


@pytest.mark.parametrize("query", [PORTAL, LINES], ids=["portal", "lines"])
async def test_folded_loads_return_what_separate_loads_return_for_every_caller(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    keys = await _keys(backend)
    folded = {who: await backend.gql(query, errors=True, key=key) for who, key in keys.items()}
    _unfolded(monkeypatch)
    separate = {who: await backend.gql(query, errors=True, key=key) for who, key in keys.items()}
    for who in keys:
        assert folded[who].get("data") == separate[who].get("data"), who
        assert folded[who].get("errors") == separate[who].get("errors"), who
    assert folded["admin"]["data"]["organizations" if query is PORTAL else "orders"]["edges"]


async def test_total_count_after_a_cursor_counts_the_whole_list(backend: Backend) -> None:
    query = """query($after: String) { organizations(first: 3, filter: {roles: [CUSTOMER]}) { edges { node {
        orders(first: 2, after: $after) { totalCount pageInfo { endCursor } } } } } }"""
    start = await backend.gql(query)
    totals = [e["node"]["orders"]["totalCount"] for e in start["organizations"]["edges"]]
    assert any(total > 2 for total in totals)
    # With a cursor the count cannot ride on the page's window; counted apart, it is the same.
    cursor = start["organizations"]["edges"][0]["node"]["orders"]["pageInfo"]["endCursor"]
    paged = await backend.gql(query, {"after": cursor})
    assert [e["node"]["orders"]["totalCount"] for e in paged["organizations"]["edges"]] == totals


def test_compiled_input_conversion_builds_what_strawberry_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation inputs go through a converter compiled per input type: the same objects, UNSET
    for omitted fields, None for nulls, nested lists and enums included."""
    from datetime import date
    from decimal import Decimal

    from strawberry.types.arguments import convert_argument

    from graph.models.orders import OrderStatus
    from graph.schema import build_schema
    from graph.types import orders as order_types
    from graph.types import sync as sync_types

    schema = build_schema()
    registry, config = schema.schema_converter.scalar_registry, schema.config
    cases = [
        (order_types.UpdateOrderInput, {"notes": None, "promisedDate": date(2026, 1, 2)}),
        (
            order_types.CreateOrderInput,
            {
                "customerId": "T3JnYW5pemF0aW9uOjE=",
                "status": OrderStatus.SUBMITTED,
                "lines": [
                    {"productId": "UHJvZHVjdDox", "quantity": Decimal("2.5")},
                    {
                        "productId": "UHJvZHVjdDoy",
                        "quantity": Decimal("1"),
                        "unitPrice": None,
                        "supplierId": "x",
                    },
                ],
            },
        ),
        (
            sync_types.SyncOrdersInput,
            {
                "sourceOrganizationId": "T3JnYW5pemF0aW9uOjE=",
                "orders": [
                    {"externalReference": "E-1", "sourceVersion": 1, "customerId": "c", "lines": []},
                    {
                        "externalReference": "E-2",
                        "sourceVersion": 2,
                        "customerId": "c",
                        "status": None,
                        "lines": [
                            {
                                "lineNumber": 1,
                                "productId": "p",
                                "quantity": Decimal("3"),
                                "unitPrice": Decimal("9.99"),
                            }
                        ],
                    },
                ],
            },
        ),
    ]
    compiled = [convert_argument(value, cls, registry, config) for cls, value in cases]
    for cls, _ in cases:  # strawberry's own walk, for comparison
        for definition in _input_definitions(cls):
            monkeypatch.setattr(definition, "from_input", None)
    generic = [convert_argument(value, cls, registry, config) for cls, value in cases]
    assert compiled == generic
    assert compiled[0].status is strawberry_unset()


def _input_definitions(cls: type) -> list:
    """`cls`'s definition and those of the input types nested in it."""
    from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition

    found, todo = [], [cls]
    while todo:
        definition = todo.pop().__strawberry_definition__
        if definition in found:
            continue
        found.append(definition)
        for f in definition.fields:
            kind = f.resolve_type(type_definition=definition)
            while isinstance(kind, StrawberryOptional | StrawberryList):
                kind = kind.of_type
            if has_object_definition(kind) and kind.__strawberry_definition__.is_input:
                todo.append(kind)
    return found


def strawberry_unset() -> object:
    import strawberry

    return strawberry.UNSET
