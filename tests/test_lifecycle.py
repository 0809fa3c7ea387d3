"""Lifecycles of orders and shipments: legal and illegal steps, the status history every
step leaves (with who made it), and optimistic concurrency with `expectedVersion`."""

from __future__ import annotations

import pytest

from tests.conftest import Backend
from tests.test_mutations_orders import (
    ORDER_FIELDS,
    SHIPMENT_FIELDS,
    at,
    create_shipment,
    first_line,
    new_order,
    update_order,
)
from tests.test_mutations_organizations import codes, mutate, node

HISTORY = "statusHistory(first: 20) { totalCount edges { node { fromStatus toStatus occurredAt principalKind principalName keyPrefix } } }"


async def history(backend: Backend, id: str, type_name: str) -> list[tuple[str | None, str]]:
    data = await node(backend, id, f"... on {type_name} {{ {HISTORY} }}")
    return [(e["node"]["fromStatus"], e["node"]["toStatus"]) for e in data["statusHistory"]["edges"]]


async def update_shipment(backend: Backend, shipment: str, key: str | None = None, **change: object) -> dict:
    return await mutate(
        backend, "updateShipment", "($id: ID!, $input: UpdateShipmentInput!)", {"id": shipment, "input": change},
        "shipment { id status version }",
    )


# -- orders ---------------------------------------------------------------------------


async def test_every_order_status_is_kept_newest_first_with_who_set_it(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "CONFIRMED")
    assert await history(backend, order, "Order") == [
        ("submitted", "confirmed"), ("draft", "submitted"), (None, "draft"),
    ]
    data = await node(backend, order, f"... on Order {{ {HISTORY} }}")
    steps = [e["node"] for e in data["statusHistory"]["edges"]]
    assert data["statusHistory"]["totalCount"] == 3
    assert all(s["principalKind"] == "internal" and s["principalName"].startswith("key:") for s in steps)
    assert all(s["keyPrefix"] for s in steps)


async def test_order_history_pages_with_cursors(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "SHIPPED")
    page = await node(backend, order, "... on Order { statusHistory(first: 2) { pageInfo { hasNextPage endCursor } edges { node { toStatus } } } }")
    assert [e["node"]["toStatus"] for e in page["statusHistory"]["edges"]] == ["shipped", "in_fulfilment"]
    cursor = page["statusHistory"]["pageInfo"]["endCursor"]
    rest = await node(backend, order, f'... on Order {{ statusHistory(first: 10, after: "{cursor}") {{ edges {{ node {{ toStatus }} }} }} }}')
    assert [e["node"]["toStatus"] for e in rest["statusHistory"]["edges"]] == ["confirmed", "submitted", "draft"]


async def test_a_refused_order_transition_leaves_no_history(backend: Backend) -> None:
    order, _, _ = await new_order(backend)
    payload = await update_order(backend, order, status="SHIPPED")
    assert codes(payload) == [(["status"], "INVALID")]
    assert await history(backend, order, "Order") == [(None, "draft")]


async def test_an_update_without_a_status_change_adds_no_step(backend: Backend) -> None:
    order, _, _ = await new_order(backend)
    assert (await update_order(backend, order, notes="hello", status="DRAFT"))["errors"] == []
    assert await history(backend, order, "Order") == [(None, "draft")]


# -- shipments ------------------------------------------------------------------------


async def new_shipment(backend: Backend) -> str:
    order, _, _ = await new_order(backend, "CONFIRMED")
    payload = await create_shipment(backend, order)
    assert payload["errors"] == []
    return payload["shipment"]["id"]


async def test_a_shipment_travels_and_arrives_and_its_history_says_so(backend: Backend) -> None:
    shipment = await new_shipment(backend)
    assert (await update_shipment(backend, shipment, status="IN_TRANSIT", shippedAt=at(0)))["errors"] == []
    assert (await update_shipment(backend, shipment, status="DELIVERED", deliveredAt=at(5)))["errors"] == []
    assert await history(backend, shipment, "Shipment") == [
        ("in_transit", "delivered"), ("pending", "in_transit"), (None, "pending"),
    ]


@pytest.mark.parametrize("end", ["LOST", "RETURNED"])
async def test_a_shipment_in_transit_may_be_lost_or_returned(backend: Backend, end: str) -> None:
    shipment = await new_shipment(backend)
    assert (await update_shipment(backend, shipment, status="IN_TRANSIT", shippedAt=at(0)))["errors"] == []
    payload = await update_shipment(backend, shipment, status=end)
    assert payload["errors"] == [] and payload["shipment"]["status"] == end


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "DELIVERED"),
        ([], "LOST"),
        ([], "RETURNED"),
        (["IN_TRANSIT"], "PENDING"),
        (["IN_TRANSIT", "DELIVERED"], "IN_TRANSIT"),
        (["IN_TRANSIT", "LOST"], "DELIVERED"),
        (["IN_TRANSIT", "RETURNED"], "PENDING"),
    ],
)
async def test_a_shipment_refuses_a_step_not_in_its_lifecycle(backend: Backend, path: list[str], target: str) -> None:
    shipment = await new_shipment(backend)
    dates = {"shippedAt": at(0), "deliveredAt": at(5)}
    for step in path:
        assert (await update_shipment(backend, shipment, status=step, **dates))["errors"] == []
    before = await node(backend, shipment, SHIPMENT_FIELDS)
    steps = await history(backend, shipment, "Shipment")
    payload = await update_shipment(backend, shipment, status=target, carrier="Other", **dates)
    assert payload["shipment"] is None
    assert (["status"], "INVALID") in codes(payload)
    assert await node(backend, shipment, SHIPMENT_FIELDS) == before
    assert await history(backend, shipment, "Shipment") == steps


# -- expectedVersion ------------------------------------------------------------------

VERSIONED = "($id: ID!, $input: {input}!, $expectedVersion: Int)"


async def test_update_order_with_the_current_version_succeeds(backend: Backend) -> None:
    order, _, _ = await new_order(backend)
    version = (await node(backend, order, "... on Order { version }"))["version"]
    payload = await mutate(
        backend, "updateOrder", VERSIONED.format(input="UpdateOrderInput"),
        {"id": order, "input": {"notes": "ok"}, "expectedVersion": version}, "order { version notes }",
    )
    assert payload["errors"] == [] and payload["order"] == {"version": version + 1, "notes": "ok"}


async def test_update_order_with_a_stale_version_is_a_conflict_and_changes_nothing(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "SUBMITTED")
    before = await node(backend, order, ORDER_FIELDS)
    payload = await mutate(
        backend, "updateOrder", VERSIONED.format(input="UpdateOrderInput"),
        {"id": order, "input": {"status": "CONFIRMED", "notes": "late"}, "expectedVersion": before["version"] - 1},
        "order { id }",
    )
    assert payload["order"] is None
    assert codes(payload) == [(["expectedVersion"], "CONFLICT")]
    assert f"version {before['version']}" in payload["errors"][0]["message"]
    assert await node(backend, order, ORDER_FIELDS) == before
    assert await history(backend, order, "Order") == [("draft", "submitted"), (None, "draft")]


async def test_every_versioned_mutation_checks_the_expected_version(backend: Backend) -> None:
    order, customer, _ = await new_order(backend, "CONFIRMED")
    line = await first_line(backend, order)
    shipment = (await create_shipment(backend, order))["shipment"]["id"]
    record = await mutate(
        backend, "createComplaint", "($input: CreateServiceRecordInput!)",
        {"input": {"organizationId": customer, "title": "Late"}}, "record { id }",
    )
    record = record["record"]["id"]
    for name, args, variables, selection in [
        ("updateOrderLine", VERSIONED.format(input="UpdateOrderLineInput"), {"id": line, "input": {"quantity": "5"}}, "line { id }"),
        ("archiveOrderLine", "($id: ID!, $expectedVersion: Int)", {"id": line}, "line { id }"),
        ("archiveOrder", "($id: ID!, $expectedVersion: Int)", {"id": order}, "order { id }"),
        ("updateShipment", VERSIONED.format(input="UpdateShipmentInput"), {"id": shipment, "input": {"carrier": "X"}}, "shipment { id }"),
        ("archiveShipment", "($id: ID!, $expectedVersion: Int)", {"id": shipment}, "shipment { id }"),
        ("updateServiceRecord", VERSIONED.format(input="UpdateServiceRecordInput"), {"id": record, "input": {"title": "X"}}, "record { id }"),
        ("archiveServiceRecord", "($id: ID!, $expectedVersion: Int)", {"id": record}, "record { id }"),
    ]:
        payload = await mutate(backend, name, args, {**variables, "expectedVersion": 99}, selection)
        assert codes(payload) == [(["expectedVersion"], "CONFLICT")], name
    version = (await node(backend, shipment, "... on Shipment { version }"))["version"]
    payload = await mutate(
        backend, "archiveShipment", "($id: ID!, $expectedVersion: Int)", {"id": shipment, "expectedVersion": version},
        "shipment { archivedAt }",
    )
    assert payload["errors"] == [] and payload["shipment"]["archivedAt"]


async def test_partners_see_the_status_history_of_their_own_orders_only(backend: Backend) -> None:
    from graph.ids import decode_global_id

    data = await backend.gql(
        """{ orders(first: 100) { edges { node { id customer { id }
             statusHistory(first: 5) { edges { node { id toStatus } } } } } } }"""
    )
    with_history = [e["node"] for e in data["orders"]["edges"] if e["node"]["statusHistory"]["edges"]]
    assert with_history, "orders changed by the other tests carry history"
    mine = with_history[0]
    customer = decode_global_id(mine["customer"]["id"])[1]
    key = await backend.key("customer", organization_id=customer)
    own = await backend.gql(
        "query($id: ID!) { node(id: $id) { ... on Order { statusHistory { edges { node { id toStatus } } } } } }",
        {"id": mine["id"]}, key=key, errors=True,
    )
    assert own["data"]["node"]["statusHistory"]["edges"] == mine["statusHistory"]["edges"]
    foreign = next((o for o in with_history if o["customer"]["id"] != mine["customer"]["id"]), None)
    if foreign is not None:
        change_id = foreign["statusHistory"]["edges"][0]["node"]["id"]
        assert (await backend.gql("query($id: ID!) { node(id: $id) { id } }", {"id": change_id}, key=key))["node"] is None
        assert (await backend.gql("query($id: ID!) { node(id: $id) { id } }", {"id": change_id}))["node"] == {"id": change_id}
