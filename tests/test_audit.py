"""The audit trail: every committed change leaves an append-only event; admins read it.

Each mutation writes, in its own transaction, one event per record it created, changed or
archived: who (principal, key prefix), when, what (node id, operation, action) and the
changed fields as [before, after]. Invalid input writes nothing.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from graph.audit import changed_fields, json_safe
from graph.schema import schema
from tests.conftest import Backend
from tests.test_mutations_orders import create_order, product_id
from tests.test_mutations_organizations import create_org, mutate, node, uid

EVENT_FIELDS = """id occurredAt principalKind principalName role organizationId keyPrefix operation action
  nodeId changes requestId"""

AUDIT_QUERY = f"""query A($f: AuditEventFilter, $first: Int, $after: String, $last: Int, $before: String) {{
  auditEvents(filter: $f, first: $first, after: $after, last: $last, before: $before) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {EVENT_FIELDS} }} }}
  }}
}}"""


async def audit_page(backend: Backend, key: str | None = None, **variables: object) -> dict:
    data = await backend.gql(AUDIT_QUERY, variables, key=key)
    return data["auditEvents"]


async def events(backend: Backend, **filter: object) -> list[dict]:
    """Every event matching `filter`, newest first."""
    page = await audit_page(backend, f=filter, first=100)
    assert page["totalCount"] == len(page["edges"]) < 100
    return [edge["node"] for edge in page["edges"]]


async def total_events(backend: Backend) -> int:
    return (await audit_page(backend, first=0))["totalCount"]


async def admin_name(backend: Backend) -> str:
    """The name the test client's own principal is recorded under."""
    org = await create_org(backend)
    return (await events(backend, nodeId=org))[0]["principalName"]


# -- what gets written -------------------------------------------------------------------


async def test_create_update_and_archive_are_each_recorded_with_before_and_after(backend: Backend) -> None:
    name = f"Org {uid()}"
    payload = await mutate(
        backend, "createOrganization", "($input: CreateOrganizationInput!)",
        {"input": {"name": name, "roles": ["CUSTOMER"], "region": "North"}}, "organization { id }",
    )
    org = payload["organization"]["id"]
    await mutate(
        backend, "updateOrganization", "($id: ID!, $input: UpdateOrganizationInput!)",
        {"id": org, "input": {"region": "South", "name": name}}, "organization { id }",
    )
    await mutate(backend, "archiveOrganization", "($id: ID!)", {"id": org}, "organization { id }")

    archived, updated, created = await events(backend, nodeId=org)  # newest first

    assert (created["operation"], created["action"], created["nodeId"]) == ("createOrganization", "create", org)
    assert created["changes"]["name"] == [None, name]
    assert created["changes"]["region"] == [None, "North"]
    assert created["changes"]["status"] == [None, "active"]  # enums by value
    assert "version" not in created["changes"] and "updated_at" not in created["changes"]
    assert all(before is None for before, _ in created["changes"].values())

    assert (updated["operation"], updated["action"]) == ("updateOrganization", "update")
    assert updated["changes"] == {"region": ["North", "South"]}  # the unchanged name is not listed

    assert (archived["operation"], archived["action"]) == ("archiveOrganization", "archive")
    assert archived["changes"]["status"] == ["active", "archived"]
    before, after = archived["changes"]["archived_at"]
    assert before is None and datetime.fromisoformat(after).tzinfo is not None

    for event in (created, updated, archived):
        assert event["principalKind"] == "internal" and event["role"] == "admin"
        assert event["principalName"] == created["principalName"] != ""
        assert event["organizationId"] is None
    assert created["occurredAt"] <= updated["occurredAt"] <= archived["occurredAt"]


async def test_the_principal_and_its_key_are_recorded(backend: Backend) -> None:
    if not hasattr(backend, "key"):  # authentication not wired into the tests
        return
    key = await backend.key("admin")
    payload = await backend.gql(
        "mutation M($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
        {"input": {"name": f"Org {uid()}", "roles": ["SUPPLIER"]}},
        key=key,
    )
    org = payload["createOrganization"]["organization"]["id"]
    (event,) = await events(backend, nodeId=org)
    prefix = key.split("_")[1]
    assert event["keyPrefix"] == prefix
    assert event["principalName"] == "key:test admin"
    assert (event["principalKind"], event["role"]) == ("internal", "admin")


async def test_create_order_records_the_order_and_every_line_in_one_request(backend: Backend) -> None:
    customer = await create_org(backend)
    product = await product_id(backend)
    payload = await create_order(
        backend, customer,
        [{"productId": product, "quantity": "2", "unitPrice": "10.50"}, {"productId": product, "quantity": "3"}],
    )
    assert payload["errors"] == []
    order = payload["order"]["id"]
    data = await node(backend, order, "... on Order { lines { edges { node { id } } } }")
    lines = [edge["node"]["id"] for edge in data["lines"]["edges"]]
    assert len(lines) == 2

    order_events = await events(backend, nodeId=order)
    assert [e["action"] for e in order_events] == ["update", "create"]  # the total is set after the lines
    total_update, order_created = order_events
    assert order_created["changes"]["customer_id"][1] is not None
    before, after = total_update["changes"]["total_amount"]
    assert Decimal(before) == 0 and Decimal(after) == Decimal("21.00") + 3 * Decimal("10.00")
    line_events = [await events(backend, nodeId=line) for line in lines]
    assert all(len(e) == 1 and e[0]["action"] == "create" for e in line_events)
    first_line = line_events[0][0]
    assert first_line["changes"]["quantity"][1] == "2"  # exact decimals as strings
    assert Decimal(first_line["changes"]["unit_price"][1]) == Decimal("10.50")

    everything = order_events + [e[0] for e in line_events]
    assert {e["operation"] for e in everything} == {"createOrder"}
    assert len({e["occurredAt"] for e in everything}) == 1  # one transaction, one instant
    assert len({e["requestId"] for e in everything}) == 1


async def test_service_records_are_recorded_under_their_own_kind(backend: Backend) -> None:
    customer = await create_org(backend)
    payload = await mutate(
        backend, "createComplaint", "($input: CreateServiceRecordInput!)",
        {"input": {"organizationId": customer, "title": "Late", "severity": "HIGH",
                   "evidenceLinks": ["https://example.com/a.jpg"]}},
        "record { id }",
    )
    assert payload["errors"] == []
    complaint = payload["record"]["id"]
    assert (await node(backend, complaint, "__typename"))["__typename"] == "Complaint"
    await mutate(
        backend, "updateServiceRecord", "($id: ID!, $input: UpdateServiceRecordInput!)",
        {"id": complaint, "input": {"title": "Very late", "compensation": "12.5"}}, "record { id }",
    )
    updated, created = await events(backend, nodeId=complaint)
    assert created["operation"] == "createComplaint" and created["nodeId"] == complaint
    assert created["changes"]["kind"] == [None, "complaint"]
    assert created["changes"]["evidence_links"] == [None, ["https://example.com/a.jpg"]]  # lists kept
    assert updated["changes"]["title"] == ["Late", "Very late"]
    assert Decimal(updated["changes"]["compensation"][1]) == Decimal("12.5")


async def test_product_and_interaction_writes_are_recorded(backend: Backend) -> None:
    product = await product_id(backend, listPrice="99.95")
    await mutate(
        backend, "updateProduct", "($id: ID!, $input: UpdateProductInput!)",
        {"id": product, "input": {"listPrice": "120"}}, "product { id }",
    )
    await mutate(backend, "archiveProduct", "($id: ID!)", {"id": product}, "product { id }")
    archived, updated, created = await events(backend, nodeId=product)
    assert [e["operation"] for e in (created, updated, archived)] == ["createProduct", "updateProduct", "archiveProduct"]
    assert created["changes"]["list_price"] == [None, "99.95"]
    assert [Decimal(v) for v in updated["changes"]["list_price"]] == [Decimal("99.95"), Decimal("120")]
    assert archived["changes"]["status"] == ["active", "discontinued"]

    org = await create_org(backend)
    when = datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)
    payload = await mutate(
        backend, "logInteraction", "($input: LogInteractionInput!)",
        {"input": {"organizationId": org, "channel": "CALL", "direction": "INBOUND", "summary": "Hello",
                   "occurredAt": when.isoformat()}},
        "interaction { id }",
    )
    interaction = payload["interaction"]["id"]
    (event,) = await events(backend, nodeId=interaction)
    assert event["changes"]["channel"] == [None, "call"]
    assert datetime.fromisoformat(event["changes"]["occurred_at"][1]) == when


async def test_invalid_input_writes_no_audit_event(backend: Backend) -> None:
    org = await create_org(backend)
    before = await total_events(backend)

    created = await mutate(
        backend, "createOrganization", "($input: CreateOrganizationInput!)",
        {"input": {"name": "", "roles": ["CUSTOMER"]}}, "organization { id }",
    )
    assert created["errors"] and created["organization"] is None
    updated = await mutate(
        backend, "updateOrganization", "($id: ID!, $input: UpdateOrganizationInput!)",
        {"id": org, "input": {"name": "", "region": "Changed"}}, "organization { id }",
    )
    assert updated["errors"] and updated["organization"] is None
    # createOrder with a bad second line: the order and its good first line roll back too.
    product = await product_id(backend)
    order = await create_order(
        backend, org, [{"productId": product, "quantity": "1"}, {"productId": product, "quantity": "-1"}]
    )
    assert order["errors"] and order["order"] is None

    product_events = await events(backend, nodeId=product)
    assert [e["operation"] for e in product_events] == ["createProduct"]
    assert await total_events(backend) == before + 1  # only createProduct's event
    assert len(await events(backend, nodeId=org)) == 1  # still just the create


# -- reading it back ---------------------------------------------------------------------


async def test_events_filter_by_node_principal_operation_and_time(backend: Backend) -> None:
    org = await create_org(backend)
    other = await create_org(backend)
    (created,) = await events(backend, nodeId=org)
    assert [e["nodeId"] for e in await events(backend, nodeId=other)] == [other]

    name = created["principalName"]
    mine = await audit_page(backend, f={"principalName": name}, first=5)
    assert mine["totalCount"] >= 2
    assert {e["node"]["principalName"] for e in mine["edges"]} == {name}
    assert await events(backend, principalName=f"nobody {uid()}") == []

    assert await events(backend, nodeId=org, operation="updateOrganization") == []
    assert [e["id"] for e in await events(backend, nodeId=org, operation="createOrganization")] == [created["id"]]

    at = datetime.fromisoformat(created["occurredAt"])
    window = {"from": at.isoformat(), "to": (at + timedelta(seconds=1)).isoformat()}
    assert [e["id"] for e in await events(backend, nodeId=org, occurred=window)] == [created["id"]]
    assert await events(backend, nodeId=org, occurred={"to": at.isoformat()}) == []  # `to` is exclusive
    assert await events(backend, nodeId=org, occurred={"from": (at + timedelta(seconds=1)).isoformat()}) == []

    # An id that is not a node of ours matches nothing rather than everything.
    assert await events(backend, nodeId="not-an-id") == []


async def test_events_page_newest_first_with_cursors(backend: Backend) -> None:
    org = await create_org(backend)
    for region in ("A", "B", "C", "D"):
        await mutate(
            backend, "updateOrganization", "($id: ID!, $input: UpdateOrganizationInput!)",
            {"id": org, "input": {"region": region}}, "organization { id }",
        )
    everything = await events(backend, nodeId=org)
    assert [e["changes"].get("region", [None, None])[1] for e in everything] == ["D", "C", "B", "A", None]

    seen, after = [], None
    while True:
        page = await audit_page(backend, f={"nodeId": org}, first=2, after=after)
        assert page["totalCount"] == 5
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [e["id"] for e in everything]

    oldest = await audit_page(backend, f={"nodeId": org}, last=2)
    assert [edge["node"]["id"] for edge in oldest["edges"]] == [e["id"] for e in everything[-2:]]
    assert oldest["pageInfo"]["hasPreviousPage"] is True
    back = await audit_page(backend, f={"nodeId": org}, last=2, before=oldest["pageInfo"]["startCursor"])
    assert [edge["node"]["id"] for edge in back["edges"]] == [e["id"] for e in everything[1:3]]


async def test_an_event_is_a_node(backend: Backend) -> None:
    org = await create_org(backend)
    (event,) = await events(backend, nodeId=org)
    fetched = await node(backend, event["id"], "... on AuditEvent { nodeId action operation }")
    assert (fetched["nodeId"], fetched["action"], fetched["operation"]) == (org, "create", "createOrganization")


async def test_only_admins_read_the_audit_trail(backend: Backend) -> None:
    if not hasattr(backend, "key"):  # authentication not wired into the tests
        return
    org = await create_org(backend)
    (event,) = await events(backend, nodeId=org)
    for role in ("service", "analyst", "read_only"):
        key = await backend.key(role)
        body = await backend.gql(AUDIT_QUERY, {"first": 1}, key=key, errors=True)
        assert body["data"] is None
        assert body["errors"][0]["message"] == "Only admins may read the audit trail."
        # node(id:) goes through the same table rule: a non-admin cannot see the row at all.
        data = await backend.gql("query N($id: ID!) { node(id: $id) { id } }", {"id": event["id"]}, key=key)
        assert data["node"] is None


def test_the_audit_trail_is_append_only() -> None:
    """No mutation writes, changes or deletes audit events: only the unit of work does."""
    mutations = schema._schema.mutation_type.fields
    assert not [name for name in mutations if "audit" in name.lower()]
    audit_event = schema._schema.type_map["AuditEvent"]
    assert "Node" in {i.name for i in audit_event.interfaces}


# -- serialisation -----------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"


def test_changes_are_stored_json_safe_without_bookkeeping_noise() -> None:
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    fields = {
        "price": (Decimal("1.50"), Decimal("2.0000")),
        "when": (None, at),
        "day": (date(2024, 1, 1), date(2024, 1, 2)),
        "colour": (None, Colour.RED),
        "links": (["a"], ["a", "b"]),
        "same": ("x", "x"),
        "version": (1, 2),
        "updated_at": (at, at),
        "id": (None, 7),
    }
    assert changed_fields(fields) == {
        "price": ["1.50", "2.0000"],
        "when": [None, "2024-01-02T03:04:05+00:00"],
        "day": ["2024-01-01", "2024-01-02"],
        "colour": [None, "red"],
        "links": [["a"], ["a", "b"]],
    }
    assert json_safe({"nested": [Decimal("1"), Colour.RED]}) == {"nested": ["1", "red"]}


def test_every_audited_table_names_its_node_type() -> None:
    """An audit event carries the node id of what changed: a table added without an entry in
    NODE_TYPE_NAMES would silently lose it. Bookkeeping tables are the only exceptions."""
    from graph.audit import NODE_TYPE_NAMES, SERVICE_RECORDS
    from graph.models import Base
    from graph.schema import NODE_TYPES

    bookkeeping = {
        "audit_events", "idempotency_keys", "outbox_events", "status_transitions",
        "webhook_deliveries", "webhook_endpoints",
    }
    assert set(Base.metadata.tables) - set(NODE_TYPE_NAMES) - {SERVICE_RECORDS} == bookkeeping
    assert all(name in NODE_TYPES for name in NODE_TYPE_NAMES.values() if name)
