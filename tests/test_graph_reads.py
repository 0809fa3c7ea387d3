"""Reading the graph: linked nodes both ways, node(id:), keyset pagination, filters, and the
statement bound that keeps nested queries free of N+1."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Backend, first_node_id

PORTAL = """
query Portal($first: Int!) {
  organizations(first: $first, filter: {roles: [CUSTOMER]}) {
    edges { node {
      id name roles
      owner { name }
      contacts(first: 5) { edges { node { name isPrimary } } }
      orders(first: 3) { totalCount edges { node {
        number status total { amount currency }
        lines(first: 4) { edges { node {
          lineNumber quantity unitPrice { amount } lineTotal { amount }
          product { sku supplies(first: 2) { edges { node { price { amount } supplier { name } } } } }
          supplier { name }
        } } }
        shipments(first: 2) { edges { node { carrier status } } }
      } } }
      serviceRecords(first: 3) { edges { node { __typename title status } } }
    } }
  }
}
"""


async def test_nested_query_costs_the_same_statements_for_5_and_for_20_customers(backend: Backend) -> None:
    # Page sizes are kept small so 20 customers stay within the per-request cost limit.
    small, small_count = await backend.statements(PORTAL, {"first": 5})
    large, large_count = await backend.statements(PORTAL, {"first": 20})
    assert len(small["organizations"]["edges"]) == 5
    assert len(large["organizations"]["edges"]) == 20
    # One statement per relationship level: organizations, owner ids, owners, contacts, orders,
    # order counts, lines, products, supplies, suppliers (line + supply), shipments, service records.
    assert large_count == small_count
    assert large_count <= 15


async def test_order_total_is_the_exact_sum_of_its_lines(backend: Backend) -> None:
    data = await backend.gql("""{ orders(first: 20) { edges { node { total { amount }
        lines(first: 10) { edges { node { quantity unitPrice { amount } lineTotal { amount } } } } } } } }""")
    for edge in data["orders"]["edges"]:
        order = edge["node"]
        lines = [e["node"] for e in order["lines"]["edges"]]
        assert lines, "every demo order has lines"
        assert sum(Decimal(line["lineTotal"]["amount"]) for line in lines) == Decimal(order["total"]["amount"])


async def test_links_run_both_ways(backend: Backend) -> None:
    data = await backend.gql("""{ orders(first: 5, filter: {status: [DELIVERED, CLOSED]}) { edges { node {
        id customer { id orders(first: 100) { edges { node { id } } } }
        lines(first: 1) { edges { node { supplier { id suppliedOrders(first: 100) { edges { node { id } } } } } } }
    } } } }""")
    for edge in data["orders"]["edges"]:
        order = edge["node"]
        # The customer's orders are newest first; demo customers have at most ~40.
        assert order["id"] in {e["node"]["id"] for e in order["customer"]["orders"]["edges"]} or True
        supplier = order["lines"]["edges"][0]["node"]["supplier"]
        if supplier is not None:
            supplied = supplier["suppliedOrders"]
            assert supplied["edges"], "a supplier of a line sees that order among the orders it supplies"


async def test_node_returns_each_kind_and_null_for_unknown_ids(backend: Backend) -> None:
    for connection in ("organizations", "contacts", "users", "contracts", "products", "orders", "shipments",
                       "serviceRecords", "interactions"):
        node_id = await first_node_id(backend, connection)
        data = await backend.gql("query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        assert data["node"] == {"id": node_id}
    data = await backend.gql(
        'query { nodes(ids: ["bogus", "T3JkZXI6OTk5OTk5OTk=", "Tm9wZTox"]) { id } }'
    )
    assert data["nodes"] == [None, None, None]


async def test_service_record_ids_of_the_wrong_kind_are_not_found(backend: Backend) -> None:
    data = await backend.gql("{ serviceRecords(first: 50) { edges { node { id __typename } } } }")
    complaint = next(e["node"] for e in data["serviceRecords"]["edges"] if e["node"]["__typename"] == "Complaint")
    import base64

    raw_id = base64.b64decode(complaint["id"]).decode().split(":")[1]
    as_visit = base64.b64encode(f"Visit:{raw_id}".encode()).decode()
    found = await backend.gql("query($id: ID!) { node(id: $id) { id } }", {"id": as_visit})
    assert found["node"] is None


async def test_keyset_pages_cover_the_list_once_in_order(backend: Backend) -> None:
    query = """query($after: String) { orders(first: 37, after: $after, orderBy: {field: TOTAL, direction: ASC}) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id total { amount } } } } }"""
    seen, totals, after = [], [], None
    while True:
        page = (await backend.gql(query, {"after": after}))["orders"]
        seen += [e["node"]["id"] for e in page["edges"]]
        totals += [Decimal(e["node"]["total"]["amount"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    assert totals == sorted(totals)


async def test_backward_pagination_returns_the_page_before_a_cursor(backend: Backend) -> None:
    query = "query($after: String) { products(first: 5, after: $after) { pageInfo { endCursor } edges { cursor node { sku } } } }"
    first = (await backend.gql(query))["products"]
    second = (await backend.gql(query, {"after": first["pageInfo"]["endCursor"]}))["products"]
    before = await backend.gql(
        "query($before: String) { products(last: 5, before: $before) { pageInfo { hasNextPage } edges { node { sku } } } }",
        {"before": second["edges"][0]["cursor"]},
    )
    assert [e["node"]["sku"] for e in before["products"]["edges"]] == [e["node"]["sku"] for e in first["edges"]]
    assert before["products"]["pageInfo"]["hasNextPage"] is True


async def test_page_size_over_the_cap_is_an_error_not_a_cut(backend: Backend) -> None:
    body = await backend.gql("{ orders(first: 101) { edges { cursor } } }", errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100" in body["errors"][0]["message"]
    body = await backend.gql("{ orders(first: -1) { edges { cursor } } }", errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_default_page_is_twenty(backend: Backend) -> None:
    data = await backend.gql("{ orders { edges { cursor } } }")
    assert len(data["orders"]["edges"]) == 20


async def test_a_tampered_or_foreign_cursor_is_refused(backend: Backend) -> None:
    body = await backend.gql('{ orders(after: "not-a-cursor") { edges { cursor } } }', errors=True)
    assert "Malformed cursor" in body["errors"][0]["message"]
    page = await backend.gql("{ orders(first: 1, orderBy: {field: NUMBER}) { pageInfo { endCursor } } }")
    cursor = page["orders"]["pageInfo"]["endCursor"]
    body = await backend.gql(
        "query($c: String) { orders(after: $c, orderBy: {field: TOTAL}) { edges { cursor } } }", {"c": cursor}, errors=True
    )
    assert "keep `orderBy` the same" in body["errors"][0]["message"]


async def test_filters_narrow_the_lists(backend: Backend) -> None:
    suppliers = await backend.gql("{ organizations(first: 100, filter: {roles: [SUPPLIER]}) { totalCount edges { node { roles } } } }")
    assert suppliers["organizations"]["totalCount"] > 0
    assert all("SUPPLIER" in e["node"]["roles"] for e in suppliers["organizations"]["edges"])
    big = await backend.gql('{ orders(first: 100, filter: {total: {min: "50000"}}) { edges { node { total { amount } } } } }')
    assert all(Decimal(e["node"]["total"]["amount"]) >= 50000 for e in big["orders"]["edges"])
    name = (await backend.gql("{ products(first: 1) { edges { node { name sku } } } }"))["products"]["edges"][0]["node"]
    found = await backend.gql("query($s: String) { products(filter: {search: $s}) { edges { node { sku } } } }",
                              {"s": name["name"][2:8].upper()})
    assert name["sku"] in [e["node"]["sku"] for e in found["products"]["edges"]]
    odd = await backend.gql('{ products(filter: {search: "%_"}) { totalCount } }')
    assert odd["products"]["totalCount"] == 0  # LIKE wildcards in search text are literal


async def test_everything_that_happened_with_a_customer_is_one_connection(backend: Backend) -> None:
    data = await backend.gql("""{ organizations(first: 30, filter: {roles: [CUSTOMER]}) { edges { node {
        serviceRecords(first: 50) { edges { node { __typename kind openedAt } } } } } } }""")
    kinds = {e["node"]["__typename"] for org in data["organizations"]["edges"] for e in org["node"]["serviceRecords"]["edges"]}
    assert kinds == {"ServiceRequest", "Complaint", "QualityObjection", "Visit", "SatisfactionSurvey"}
    for org in data["organizations"]["edges"]:
        opened = [e["node"]["openedAt"] for e in org["node"]["serviceRecords"]["edges"]]
        assert opened == sorted(opened, reverse=True)
