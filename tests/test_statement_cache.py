"""Kept statements (graph/reader.py): built once per shape and caller, reused with new
parameters. Reuse must never hand one caller another's rows, nor one page another's."""

from __future__ import annotations

from conftest import Backend

from graph.ids import decode_global_id
from graph.reader import STATEMENTS, StatementCache

PORTAL = """{ organizations(first: 1) { edges { node { id
  orders(first: 4, orderBy: { field: PLACED_AT, direction: DESC }) { totalCount edges { node { id
    lines { edges { node { id product { sku } } } }
    shipments { edges { node { id } } }
  } } }
} } } }"""


def _orders(data: dict) -> list[str]:
    org = data["organizations"]["edges"][0]["node"]
    return [edge["node"]["id"] for edge in org["orders"]["edges"]]


async def _customers_with_orders(backend: Backend, count: int) -> list[str]:
    data = await backend.gql(
        "{ organizations(first: 30, filter: { roles: [CUSTOMER] }) { edges { node { id orders(first: 1) { totalCount } } } } }"
    )
    ids = [e["node"]["id"] for e in data["organizations"]["edges"] if e["node"]["orders"]["totalCount"] >= 2]
    assert len(ids) >= count, "the demo data has too few customers with orders for this test"
    return ids[:count]


async def test_a_kept_statement_serves_each_partner_only_its_own_rows(backend: Backend) -> None:
    customers = await _customers_with_orders(backend, 3)
    keys = [await backend.key("customer", decode_global_id(c, "Organization")[1]) for c in customers]
    first_round: dict[str, list[str]] = {}
    for customer, key in zip(customers, keys, strict=True):
        data = await backend.gql(PORTAL, key=key)
        assert data["organizations"]["edges"][0]["node"]["id"] == customer
        first_round[customer] = _orders(data)
    builds = STATEMENTS.builds
    for customer, key in reversed(list(zip(customers, keys, strict=True))):  # the kept statements now
        assert _orders(await backend.gql(PORTAL, key=key)) == first_round[customer]
    assert STATEMENTS.builds == builds, "the second round built its statements again: nothing was kept"

    # Every order a customer saw is its own, as the admin sees it.
    for customer, orders in first_round.items():
        assert orders
        found = await backend.gql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { customer { id } } } }", {"ids": orders}
        )
        assert {node["customer"]["id"] for node in found["nodes"]} == {customer}
    assert len({tuple(orders) for orders in first_round.values()}) == len(customers)


async def test_cursor_positions_are_bound_per_request(backend: Backend) -> None:
    """Pages 1, 2, 3 of a top-level and of a nested list run one kept statement each; each
    page starts where the previous ended, exactly as one long page does."""
    top = "query($after: String, $n: Int) { orders(first: $n, after: $after) { edges { cursor node { id } } } }"
    whole = [e["node"]["id"] for e in (await backend.gql(top, {"n": 9}))["orders"]["edges"]]
    paged: list[str] = []
    after = None
    for _ in range(3):
        edges = (await backend.gql(top, {"n": 3, "after": after}))["orders"]["edges"]
        paged += [e["node"]["id"] for e in edges]
        after = edges[-1]["cursor"]
    assert paged == whole

    customer = (await _customers_with_orders(backend, 1))[0]
    nested = """query($id: ID!, $after: String, $n: Int) { node(id: $id) { ... on Organization {
      orders(first: $n, after: $after) { edges { cursor node { id } } } } } }"""
    whole = [e["node"]["id"] for e in (await backend.gql(nested, {"id": customer, "n": 4}))["node"]["orders"]["edges"]]
    paged, after = [], None
    for _ in range(2):
        edges = (await backend.gql(nested, {"id": customer, "n": 2, "after": after}))["node"]["orders"]["edges"]
        paged += [e["node"]["id"] for e in edges]
        after = edges[-1]["cursor"]
    assert paged == whole


async def test_lookups_by_many_ids_bind_the_whole_list(backend: Backend) -> None:
    """Ids travel as one parameter (an array on PostgreSQL, JSON on SQLite): any number of
    them, in one statement, each found once and in the order asked."""
    listed = (await backend.gql("{ orders(first: 40) { edges { node { id number } } } }"))["orders"]["edges"]
    ids = [e["node"]["id"] for e in listed]
    for batch in (ids[:1], ids[:7], list(reversed(ids)), ids + ids[:3]):
        data, statements = await backend.statements(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": batch}
        )
        assert [node["id"] for node in data["nodes"]] == batch
        assert statements == 1


def test_the_cache_keeps_the_most_recently_used_statements() -> None:
    cache = StatementCache(2)
    built: list[str] = []

    def build(name: str):  # noqa: ANN202
        return lambda: built.append(name) or name

    assert cache.get("a", build("a")) == "a"
    assert cache.get("b", build("b")) == "b"
    assert cache.get("a", build("a")) == "a"  # kept; now the most recent
    assert cache.get("c", build("c")) == "c"  # evicts b, the least recent
    assert cache.get("a", build("a")) == "a"
    assert cache.get("b", build("b")) == "b"
    assert built == ["a", "b", "c", "b"]
    assert len(cache) == 2 and cache.builds == 4
    cache.resize(0)  # no cache at all: every call builds
    cache.get("a", build("a"))
    assert len(cache) == 0 and built[-1] == "a"


async def test_a_list_joins_two_records_of_the_same_table(backend: Backend) -> None:
    """An order's customer and distributor are both organizations: joined into the list page
    together (aliased), each answers what a lookup by id answers."""
    distributors = await backend.gql("{ organizations(first: 10, filter: { roles: [DISTRIBUTOR] }) { edges { node { id } } } }")
    query = """query($d: ID) { orders(first: 10, filter: { distributorId: $d }) {
      edges { node { id customer { id name } distributor { id name } } } } }"""
    nodes = []
    for edge in distributors["organizations"]["edges"]:
        data, statements = await backend.statements(query, {"d": edge["node"]["id"]})
        assert statements == 1
        nodes += [edge["node"] for edge in data["orders"]["edges"]]
    assert nodes and all(node["customer"] and node["distributor"] for node in nodes)
    for node in nodes:
        for party in ("customer", "distributor"):
            if node[party] is not None:
                found = await backend.gql("query($id: ID!) { node(id: $id) { ... on Organization { name } } }", {"id": node[party]["id"]})
                assert found["node"]["name"] == node[party]["name"]
