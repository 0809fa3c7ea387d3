"""The outbox: every committed change to orders, lines, shipments and service records is one
event, with the columns that scope it to its partners, the names (never the values) of the
fields that changed, and — on PostgreSQL — the writing transaction's id. A rolled-back
change leaves none, and the writer costs the same statements for 5 changes as for 2,500."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from graph.access import Principal
from graph.db import StatementLog, current_statement_log
from graph.ids import decode_global_id, encode_global_id
from graph.models.orders import Order, OrderLine, OrderStatus
from graph.models.organizations import Organization
from graph.models.products import Product
from graph.models.sync import OutboxEvent
from graph.writes import Change, transaction
from tests.conftest import Backend
from tests.test_mutations_orders import ORDER_FIELDS, create_order, product_id
from tests.test_mutations_organizations import create_org

PRINCIPAL = Principal.for_role("admin", name="outbox test")


async def run(backend: Backend, name: str, args: str, variables: dict[str, Any], selection: str) -> tuple[dict, str]:
    """Run a mutation under a fresh request id; return its payload and that id."""
    request_id = uuid.uuid4().hex
    names = [p.split(":")[0].strip().lstrip("$") for p in args.strip("()").split(",") if p.strip()]
    call = "(" + ", ".join(f"{n}: ${n}" for n in names) + ")"
    response = await backend.client.post(
        "/graphql",
        json={"query": f"mutation M{args} {{ {name}{call} {{ {selection} errors {{ field code }} }} }}", "variables": variables},
        headers={"x-request-id": request_id},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"][name], request_id


async def events(backend: Backend, request_id: str) -> list[OutboxEvent]:
    async with backend.session_factory() as session:
        stmt = select(OutboxEvent).where(OutboxEvent.request_id == request_id).order_by(OutboxEvent.id)
        return list((await session.execute(stmt)).scalars())


def pk(global_id: str) -> int:
    return decode_global_id(global_id)[1]


async def placed_order(backend: Backend) -> tuple[dict, str, dict[str, int]]:
    customer = await create_org(backend)
    distributor = await create_org(backend, ["DISTRIBUTOR"])
    supplier = await create_org(backend, ["SUPPLIER"])
    product = await product_id(backend, listPrice="123.4567")
    payload, request_id = await run(
        backend, "createOrder", "($input: CreateOrderInput!)",
        {"input": {"customerId": customer, "distributorId": distributor, "status": "SUBMITTED",
                   "lines": [{"productId": product, "quantity": "2", "supplierId": supplier}]}},
        f"order {{ id {ORDER_FIELDS} }}",
    )
    assert payload["errors"] == []
    ids = {"customer": pk(customer), "distributor": pk(distributor), "supplier": pk(supplier)}
    return payload["order"], request_id, ids


async def test_placing_an_order_publishes_the_order_and_its_lines_scoped_to_their_partners(backend: Backend) -> None:
    order, request_id, ids = await placed_order(backend)
    written = await events(backend, request_id)
    order_id = pk(order["id"])
    line_id = pk(order["lines"]["edges"][0]["node"]["id"])
    assert [(e.kind, e.record_id) for e in written] == [
        ("order.created", order_id), ("order_line.created", line_id), ("order.updated", order_id),
    ]
    created, line, total = written
    assert created.node_id == order["id"] and created.table_name == "orders"
    for event in written:
        assert (event.order_id, event.customer_id, event.distributor_id) == (order_id, ids["customer"], ids["distributor"])
        assert event.principal_name.startswith("key:") and event.request_id == request_id
        assert event.txid is None if backend.name == "sqlite" else event.txid > 0
    assert created.supplier_id is None and line.supplier_id == ids["supplier"]
    assert line.node_id == encode_global_id("OrderLine", line_id)
    assert "status" in created.payload["fields"] and "customer_id" in created.payload["fields"]
    assert total.payload == {"fields": ["total_amount"]}


async def test_payloads_name_fields_but_never_carry_values(backend: Backend) -> None:
    order, request_id, _ = await placed_order(backend)
    line = order["lines"]["edges"][0]["node"]["id"]
    payload, update_id = await run(
        backend, "updateOrderLine", "($id: ID!, $input: UpdateOrderLineInput!)",
        {"id": line, "input": {"unitPrice": "98765.4321"}}, "line { id }",
    )
    assert payload["errors"] == []
    written = await events(backend, request_id) + await events(backend, update_id)
    for event in written:
        assert set(event.payload) == {"fields"} and all(isinstance(f, str) for f in event.payload["fields"])
        dumped = json.dumps(event.payload)
        assert "98765" not in dumped and "123.4567" not in dumped and "246.9134" not in dumped
    line_event = next(e for e in await events(backend, update_id) if e.kind == "order_line.updated")
    assert line_event.payload == {"fields": ["line_total", "unit_price"]}


async def test_a_status_change_is_published_as_status_changed(backend: Backend) -> None:
    order, _, _ = await placed_order(backend)
    payload, request_id = await run(
        backend, "updateOrder", "($id: ID!, $input: UpdateOrderInput!)",
        {"id": order["id"], "input": {"status": "CONFIRMED", "notes": "go"}}, "order { id }",
    )
    assert payload["errors"] == []
    [event] = await events(backend, request_id)
    assert event.kind == "order.status_changed" and event.payload == {"fields": ["notes", "status"]}


async def test_shipments_are_published_with_their_order_and_no_supplier(backend: Backend) -> None:
    order, _, ids = await placed_order(backend)
    await run(backend, "updateOrder", "($id: ID!, $input: UpdateOrderInput!)",
              {"id": order["id"], "input": {"status": "CONFIRMED"}}, "order { id }")
    payload, created_id = await run(
        backend, "createShipment", "($input: CreateShipmentInput!)",
        {"input": {"orderId": order["id"], "carrier": "SF"}}, "shipment { id }",
    )
    shipment = payload["shipment"]["id"]
    _, moved_id = await run(
        backend, "updateShipment", "($id: ID!, $input: UpdateShipmentInput!)",
        {"id": shipment, "input": {"status": "IN_TRANSIT", "shippedAt": "2030-01-01T00:00:00+00:00"}}, "shipment { id }",
    )
    _, archived_id = await run(backend, "archiveShipment", "($id: ID!)", {"id": shipment}, "shipment { id }")
    written = [*await events(backend, created_id), *await events(backend, moved_id), *await events(backend, archived_id)]
    assert [e.kind for e in written] == ["shipment.created", "shipment.status_changed", "shipment.archived"]
    for event in written:
        assert event.node_id == shipment and event.order_id == pk(order["id"])
        assert (event.customer_id, event.distributor_id, event.supplier_id) == (ids["customer"], ids["distributor"], None)


async def test_service_records_are_published_for_their_organization_and_the_line_supplier(backend: Backend) -> None:
    order, _, ids = await placed_order(backend)
    line = order["lines"]["edges"][0]["node"]["id"]
    payload, request_id = await run(
        backend, "createQualityObjection", "($input: CreateServiceRecordInput!)",
        {"input": {"organizationId": encode_global_id("Organization", ids["customer"]), "title": "Cracked",
                   "orderId": order["id"], "orderLineId": line, "severity": "HIGH"}},
        "record { id }",
    )
    assert payload["errors"] == [], payload
    [event] = await events(backend, request_id)
    assert event.kind == "service_record.created" and event.node_id == payload["record"]["id"]
    assert (event.order_id, event.customer_id, event.distributor_id, event.supplier_id) == (
        pk(order["id"]), ids["customer"], ids["distributor"], ids["supplier"],
    )


async def test_a_refused_mutation_publishes_nothing(backend: Backend) -> None:
    order, _, _ = await placed_order(backend)
    payload, request_id = await run(
        backend, "updateOrder", "($id: ID!, $input: UpdateOrderInput!)",
        {"id": order["id"], "input": {"status": "CLOSED"}}, "order { id }",
    )
    assert payload["errors"] == [{"field": ["status"], "code": "INVALID"}]
    assert await events(backend, request_id) == []


async def test_a_rolled_back_transaction_publishes_nothing(backend: Backend) -> None:
    customer = await create_org(backend)
    product = await product_id(backend)
    payload = await create_order(backend, customer, [{"productId": product, "quantity": "1"}])
    order_id = pk(payload["order"]["id"])
    request_id = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        async with transaction(backend.session_factory, PRINCIPAL, "test", request_id) as uow:
            order = await uow.find(Order, order_id, for_update=True)
            await uow.update(order, {"notes": "never"})
            await uow._before_commit()  # the outbox rows are written ...
            raise RuntimeError("... and then the transaction fails")
    assert await events(backend, request_id) == []


# -- set-based ------------------------------------------------------------------------


async def _bulk_statements(backend: Backend, orders: int, lines_per_order: int) -> tuple[int, str]:
    """Write `orders` orders with their lines the way a bulk writer does (one flush, changes
    appended), and count the statements the commit hook sends."""
    request_id = uuid.uuid4().hex
    log = StatementLog()
    async with transaction(backend.session_factory, PRINCIPAL, "bulk", request_id) as uow:
        session = uow.session
        customer = (await session.execute(select(Organization.id).limit(1))).scalar_one()
        product = (await session.execute(select(Product.id).limit(1))).scalar_one()
        new_orders = [
            Order(number=f"B{uuid.uuid4().hex[:30]}", customer_id=customer, status=OrderStatus.SUBMITTED,
                  currency="CNY", placed_at=_now(), total_amount=Decimal(0))
            for _ in range(orders)
        ]
        session.add_all(new_orders)
        await session.flush()
        new_lines = [
            OrderLine(order_id=o.id, line_number=n, product_id=product, quantity=Decimal(1), unit_price=Decimal(1),
                      line_total=Decimal(1))
            for o in new_orders for n in range(1, lines_per_order + 1)
        ]
        session.add_all(new_lines)
        await session.flush()
        for obj, type_name in [*((o, "Order") for o in new_orders), *((line, "OrderLine") for line in new_lines)]:
            fields = {"status": (None, obj.status)} if type_name == "Order" else {"quantity": (None, obj.quantity)}
            uow.changes.append(Change(obj.__tablename__, obj.id, "create", fields, type_name))
        token = current_statement_log.set(log)
        try:
            await uow._before_commit()
        finally:
            current_statement_log.reset(token)
        uow.changes.clear()  # already published above; the commit's own hook has nothing left to do
    written = await events(backend, request_id)
    assert len(written) == orders * (1 + lines_per_order)
    assert {e.customer_id for e in written} == {customer}
    return log.count, request_id


def _now():  # noqa: ANN202
    from graph.models.base import utcnow

    return utcnow()


async def test_the_outbox_writer_costs_the_same_statements_for_5_and_for_2500_changes(backend: Backend) -> None:
    small, _ = await _bulk_statements(backend, 1, 4)
    large, _ = await _bulk_statements(backend, 500, 4)
    assert small == large, (small, large)
    # audit insert, transitions insert, line lookup, order lookup, event insert (+ txid on PostgreSQL)
    assert large == (5 if backend.name == "sqlite" else 6)
