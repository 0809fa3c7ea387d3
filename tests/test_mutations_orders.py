"""Mutations on products, supplies, orders, order lines, shipments and service records.

Each mutation: the happy path is re-read from the graph to prove it persisted, and a bad
input returns a typed error (field path + code) and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Backend
from tests.test_mutations_organizations import (
    codes,
    create_contact,
    create_org,
    create_user,
    mutate,
    node,
    uid,
)

# -- products -------------------------------------------------------------------------

PRODUCT_FIELDS = "... on Product { sku name unit description status version archivedAt listPrice { amount currency } cost { amount } }"


async def create_product(backend: Backend, **extra: Any) -> dict:
    return await mutate(
        backend, "createProduct", "($input: CreateProductInput!)",
        {"input": {"sku": f"SKU-{uid()[:20]}", "name": f"Widget {uid()}", "listPrice": "10.00", "unit": "pcs", **extra}},
        f"product {{ id {PRODUCT_FIELDS} }}",
    )


async def product_id(backend: Backend, **extra: Any) -> str:
    payload = await create_product(backend, **extra)
    assert payload["errors"] == []
    return payload["product"]["id"]


async def product_count(backend: Backend, search: str) -> int:
    data = await backend.gql(
        "query P($s: String) { products(filter: {search: $s, includeArchived: true}) { totalCount } }", {"s": search}
    )
    return data["products"]["totalCount"]


async def test_create_product_persists_exact_prices(backend: Backend) -> None:
    sku = f"SKU-{uid()[:20]}"
    payload = await create_product(
        backend, sku=sku, name="Valve", listPrice="1234.5678", cost="999.1", unit="box", description="Brass", currency="USD"
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["product"]["id"], PRODUCT_FIELDS)
    assert (stored["sku"], stored["name"], stored["unit"], stored["description"]) == (sku, "Valve", "box", "Brass")
    assert stored["status"] == "ACTIVE" and stored["version"] == 1
    assert Decimal(stored["listPrice"]["amount"]) == Decimal("1234.5678") and stored["listPrice"]["currency"] == "USD"
    assert Decimal(stored["cost"]["amount"]) == Decimal("999.1")


async def test_create_product_without_a_unit_uses_the_default_unit(backend: Backend) -> None:
    # The input declares `unit: String = null`, so omitting it must not be an error.
    payload = await mutate(
        backend, "createProduct", "($input: CreateProductInput!)",
        {"input": {"sku": f"SKU-{uid()[:20]}", "name": "No unit given", "listPrice": "1"}}, f"product {{ id {PRODUCT_FIELDS} }}",
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["product"]["id"], PRODUCT_FIELDS)
    assert stored["unit"]


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"sku": "TAKEN"}, ["sku"], "DUPLICATE"),
        ({"sku": " "}, ["sku"], "REQUIRED"),
        ({"listPrice": "-0.01"}, ["listPrice"], "OUT_OF_RANGE"),
        ({"listPrice": "1.00001"}, ["listPrice"], "INVALID"),
        ({"cost": "10000000000000"}, ["cost"], "OUT_OF_RANGE"),
        ({"currency": "EURO"}, ["currency"], "INVALID"),
        ({"unit": ""}, ["unit"], "REQUIRED"),
    ],
)
async def test_create_product_rejects_bad_input_and_adds_nothing(backend: Backend, extra: dict, field: list, code: str) -> None:
    taken = (await create_product(backend))["product"]["sku"]
    marker = uid()
    if extra.get("sku") == "TAKEN":
        extra = {"sku": taken}
    payload = await create_product(backend, name=f"Bad {marker}", **extra)
    assert payload["product"] is None
    assert codes(payload) == [(field, code)]
    assert await product_count(backend, marker) == 0
    assert await product_count(backend, taken) == 1


async def test_update_product_changes_fields(backend: Backend) -> None:
    product = await product_id(backend)
    sku = f"SKU-{uid()[:20]}"
    payload = await mutate(
        backend, "updateProduct", "($id: ID!, $input: UpdateProductInput!)",
        {"id": product, "input": {"sku": sku, "listPrice": "20.25", "status": "DISCONTINUED"}}, "product { id version }",
    )
    assert payload["errors"] == [] and payload["product"]["version"] == 2
    stored = await node(backend, product, PRODUCT_FIELDS)
    assert stored["sku"] == sku and stored["status"] == "DISCONTINUED"
    assert Decimal(stored["listPrice"]["amount"]) == Decimal("20.25")


async def test_update_product_rejects_bad_input_and_leaves_it_unchanged(backend: Backend) -> None:
    taken = (await create_product(backend))["product"]["sku"]
    product = await product_id(backend)
    before = await node(backend, product, PRODUCT_FIELDS)
    for change, expected in [
        ({"sku": taken}, [(["sku"], "DUPLICATE")]),
        ({"listPrice": "-1", "name": ""}, [(["name"], "REQUIRED"), (["listPrice"], "OUT_OF_RANGE")]),
        ({"unit": "u" * 21}, [(["unit"], "TOO_LONG")]),
    ]:
        payload = await mutate(
            backend, "updateProduct", "($id: ID!, $input: UpdateProductInput!)", {"id": product, "input": change},
            "product { id }",
        )
        assert payload["product"] is None
        assert codes(payload) == expected, change
    assert await node(backend, product, PRODUCT_FIELDS) == before


async def test_archive_product_discontinues_it_and_freezes_it(backend: Backend) -> None:
    product = await product_id(backend)
    payload = await mutate(backend, "archiveProduct", "($id: ID!)", {"id": product}, "product { id status archivedAt }")
    assert payload["errors"] == []
    stored = await node(backend, product, PRODUCT_FIELDS)
    assert stored["status"] == "DISCONTINUED" and stored["archivedAt"] is not None
    again = await mutate(backend, "archiveProduct", "($id: ID!)", {"id": product}, "product { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateProduct", "($id: ID!, $input: UpdateProductInput!)", {"id": product, "input": {"name": "Back"}},
        "product { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, product, PRODUCT_FIELDS) == stored


# -- supplies -------------------------------------------------------------------------

SUPPLIES = """... on Product { supplies(first: 20) { totalCount edges { node {
  id supplierSku leadTimeDays isPreferred price { amount currency } supplier { id } } } } }"""


async def set_supply(backend: Backend, supplier: str, product: str, **extra: Any) -> dict:
    return await mutate(
        backend, "setSupply", "($input: SetSupplyInput!)",
        {"input": {"supplierId": supplier, "productId": product, "price": "5.50", "leadTimeDays": 14, **extra}},
        "supply { id leadTimeDays price { amount } }",
    )


async def test_set_supply_records_then_changes_the_one_offer_per_pair(backend: Backend) -> None:
    supplier = await create_org(backend, ["SUPPLIER"])
    product = await product_id(backend)
    first = await set_supply(backend, supplier, product, supplierSku="S-1", isPreferred=True, currency="EUR")
    assert first["errors"] == []
    supplies = (await node(backend, product, SUPPLIES))["supplies"]
    assert supplies["totalCount"] == 1
    offer = supplies["edges"][0]["node"]
    assert offer["id"] == first["supply"]["id"] and offer["supplier"]["id"] == supplier
    assert (offer["supplierSku"], offer["leadTimeDays"], offer["isPreferred"]) == ("S-1", 14, True)
    assert Decimal(offer["price"]["amount"]) == Decimal("5.50") and offer["price"]["currency"] == "EUR"

    second = await set_supply(backend, supplier, product, price="4.25", leadTimeDays=7)
    assert second["errors"] == [] and second["supply"]["id"] == first["supply"]["id"]
    supplies = (await node(backend, product, SUPPLIES))["supplies"]
    assert supplies["totalCount"] == 1
    offer = supplies["edges"][0]["node"]
    assert Decimal(offer["price"]["amount"]) == Decimal("4.25") and offer["leadTimeDays"] == 7


async def test_set_supply_rejects_bad_input_and_records_no_offer(backend: Backend) -> None:
    supplier, customer = await create_org(backend, ["SUPPLIER"]), await create_org(backend, ["CUSTOMER"])
    product = await product_id(backend)
    for who, extra, expected in [
        (customer, {}, [(["supplierId"], "INVALID")]),
        (supplier, {"price": "0"}, [(["price"], "OUT_OF_RANGE")]),
        (supplier, {"leadTimeDays": -1}, [(["leadTimeDays"], "OUT_OF_RANGE")]),
        (supplier, {"currency": "eur"}, [(["currency"], "INVALID")]),
        (supplier, {"productId": supplier}, [(["productId"], "INVALID")]),
    ]:
        payload = await set_supply(backend, who, product, **extra)
        assert payload["supply"] is None
        assert codes(payload) == expected, extra
    assert (await node(backend, product, SUPPLIES))["supplies"]["totalCount"] == 0


async def test_archive_supply_withdraws_the_offer(backend: Backend) -> None:
    supplier = await create_org(backend, ["SUPPLIER"])
    product = await product_id(backend)
    supply = (await set_supply(backend, supplier, product))["supply"]["id"]
    payload = await mutate(backend, "archiveSupply", "($id: ID!)", {"id": supply}, "supply { id }")
    assert payload["errors"] == []
    assert (await node(backend, product, SUPPLIES))["supplies"]["totalCount"] == 0
    again = await mutate(backend, "archiveSupply", "($id: ID!)", {"id": supply}, "supply { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    assert (await node(backend, product, SUPPLIES))["supplies"]["totalCount"] == 0


# -- orders ---------------------------------------------------------------------------

ORDER_FIELDS = """... on Order { number status currency version archivedAt notes promisedDate total { amount currency }
  customer { id } distributor { id }
  lines(first: 50) { totalCount edges { node { id lineNumber quantity unitPrice { amount } lineTotal { amount } } } } }"""


async def create_order(backend: Backend, customer: str, lines: list[dict], **extra: Any) -> dict:
    return await mutate(
        backend, "createOrder", "($input: CreateOrderInput!)",
        {"input": {"customerId": customer, "lines": lines, **extra}}, f"order {{ id {ORDER_FIELDS} }}",
    )


async def new_order(backend: Backend, status: str = "DRAFT") -> tuple[str, str, str]:
    """An order in `status` with one line (2 x 10.00); returns (order, customer, product)."""
    customer = await create_org(backend)
    product = await product_id(backend)
    payload = await create_order(backend, customer, [{"productId": product, "quantity": "2"}])
    assert payload["errors"] == []
    order = payload["order"]["id"]
    path = ["SUBMITTED", "CONFIRMED", "IN_FULFILMENT", "SHIPPED", "DELIVERED", "CLOSED"]
    if status == "CANCELLED":
        await update_order(backend, order, status="CANCELLED")
    elif status != "DRAFT":
        for step in path[: path.index(status) + 1]:
            assert (await update_order(backend, order, status=step))["errors"] == []
    return order, customer, product


async def update_order(backend: Backend, order: str, **change: Any) -> dict:
    return await mutate(
        backend, "updateOrder", "($id: ID!, $input: UpdateOrderInput!)", {"id": order, "input": change},
        "order { id status version }",
    )


async def order_total(backend: Backend, order: str) -> Decimal:
    return Decimal((await node(backend, order, "... on Order { total { amount } }"))["total"]["amount"])


async def orders_of(backend: Backend, customer: str) -> int:
    data = await node(backend, customer, "... on Organization { orders(filter: {includeArchived: true}) { totalCount } }")
    return data["orders"]["totalCount"]


async def test_create_order_computes_the_total_from_its_lines(backend: Backend) -> None:
    customer = await create_org(backend)
    distributor = await create_org(backend, ["DISTRIBUTOR"])
    supplier = await create_org(backend, ["SUPPLIER"])
    p1 = await product_id(backend, listPrice="19.99")
    p2 = await product_id(backend)
    payload = await create_order(
        backend, customer,
        [{"productId": p1, "quantity": "3"}, {"productId": p2, "quantity": "1.5", "unitPrice": "7.3333", "supplierId": supplier}],
        distributorId=distributor, status="SUBMITTED", currency="USD", notes="Rush",
    )
    assert payload["errors"] == []
    created = payload["order"]
    assert created["number"].startswith("SO")
    stored = await node(backend, created["id"], ORDER_FIELDS)
    assert stored["status"] == "SUBMITTED" and stored["currency"] == "USD" and stored["notes"] == "Rush"
    assert stored["customer"]["id"] == customer and stored["distributor"]["id"] == distributor
    lines = [e["node"] for e in stored["lines"]["edges"]]
    assert [line["lineNumber"] for line in lines] == [1, 2]
    expected = [Decimal("3") * Decimal("19.99"), (Decimal("1.5") * Decimal("7.3333")).quantize(Decimal("0.0001"))]
    assert [Decimal(line["lineTotal"]["amount"]) for line in lines] == expected
    assert Decimal(stored["total"]["amount"]) == sum(expected) == Decimal("70.97")
    assert stored["total"]["currency"] == "USD"
    assert await orders_of(backend, customer) == 1


async def test_create_order_rejects_bad_input_and_places_nothing(backend: Backend) -> None:
    customer = await create_org(backend)
    supplier = await create_org(backend, ["SUPPLIER"])
    product = await product_id(backend)
    archived = await product_id(backend)
    await mutate(backend, "archiveProduct", "($id: ID!)", {"id": archived}, "product { id }")
    line = {"productId": product, "quantity": "1"}
    for who, lines, extra, expected in [
        (supplier, [line], {}, [(["customerId"], "INVALID")]),
        (customer, [], {}, [(["lines"], "REQUIRED")]),
        (customer, [line], {"status": "CONFIRMED"}, [(["status"], "INVALID")]),
        (customer, [line], {"distributorId": supplier}, [(["distributorId"], "INVALID")]),
        (customer, [line, {"productId": product, "quantity": "0"}], {}, [(["lines", "1", "quantity"], "OUT_OF_RANGE")]),
        (customer, [{"productId": product, "quantity": "1.0001"}], {}, [(["lines", "0", "quantity"], "INVALID")]),
        (customer, [{"productId": archived, "quantity": "1"}], {}, [(["lines", "0", "productId"], "ARCHIVED")]),
        (customer, [{**line, "supplierId": customer}], {}, [(["lines", "0", "supplierId"], "INVALID")]),
        (customer, [{**line, "unitPrice": "-2"}], {}, [(["lines", "0", "unitPrice"], "OUT_OF_RANGE")]),
    ]:
        payload = await create_order(backend, who, lines, **extra)
        assert payload["order"] is None
        assert codes(payload) == expected, (lines, extra)
    assert await orders_of(backend, customer) == 0
    assert await orders_of(backend, supplier) == 0


async def test_update_order_follows_the_status_transitions(backend: Backend) -> None:
    order, _, _ = await new_order(backend)
    distributor = await create_org(backend, ["DISTRIBUTOR"])
    payload = await update_order(backend, order, status="SUBMITTED", distributorId=distributor, promisedDate="2030-05-01")
    assert payload["errors"] == [] and payload["order"]["status"] == "SUBMITTED"
    for step in ("CONFIRMED", "IN_FULFILMENT", "SHIPPED", "DELIVERED", "CLOSED"):
        assert (await update_order(backend, order, status=step))["errors"] == []
    stored = await node(backend, order, ORDER_FIELDS)
    assert stored["status"] == "CLOSED" and stored["promisedDate"] == "2030-05-01"
    assert stored["distributor"]["id"] == distributor


@pytest.mark.parametrize(
    ("status", "target"),
    [("DRAFT", "CONFIRMED"), ("DRAFT", "SHIPPED"), ("SUBMITTED", "DRAFT"), ("SHIPPED", "CANCELLED"), ("CANCELLED", "SUBMITTED")],
)
async def test_update_order_refuses_a_transition_not_in_the_table(backend: Backend, status: str, target: str) -> None:
    order, _, _ = await new_order(backend, status)
    before = await node(backend, order, ORDER_FIELDS)
    payload = await update_order(backend, order, status=target, notes="should not stick")
    assert payload["order"] is None
    assert codes(payload) == [(["status"], "INVALID")]
    assert await node(backend, order, ORDER_FIELDS) == before


async def test_update_order_rejects_bad_references_and_long_text(backend: Backend) -> None:
    order, customer, _ = await new_order(backend)
    before = await node(backend, order, ORDER_FIELDS)
    payload = await update_order(backend, order, distributorId=customer, externalReference="x" * 101)
    assert codes(payload) == [(["distributorId"], "INVALID"), (["externalReference"], "TOO_LONG")]
    assert await node(backend, order, ORDER_FIELDS) == before


async def test_archive_order_archives_a_draft_and_freezes_it(backend: Backend) -> None:
    order, customer, _ = await new_order(backend)
    payload = await mutate(backend, "archiveOrder", "($id: ID!)", {"id": order}, "order { id archivedAt }")
    assert payload["errors"] == [] and payload["order"]["archivedAt"] is not None
    stored = await node(backend, order, ORDER_FIELDS)
    assert stored["archivedAt"] is not None
    visible = await node(backend, customer, "... on Organization { orders { totalCount } }")
    assert visible["orders"]["totalCount"] == 0
    assert codes(await update_order(backend, order, notes="x")) == [(["id"], "ARCHIVED")]
    again = await mutate(backend, "archiveOrder", "($id: ID!)", {"id": order}, "order { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    assert await node(backend, order, ORDER_FIELDS) == stored


@pytest.mark.parametrize("status", ["SUBMITTED", "CONFIRMED", "IN_FULFILMENT", "SHIPPED"])
async def test_archive_order_refuses_an_order_in_progress(backend: Backend, status: str) -> None:
    order, _, _ = await new_order(backend, status)
    before = await node(backend, order, ORDER_FIELDS)
    payload = await mutate(backend, "archiveOrder", "($id: ID!)", {"id": order}, "order { id }")
    assert payload["order"] is None
    assert codes(payload) == [(["id"], "INVALID")]
    assert await node(backend, order, ORDER_FIELDS) == before


# -- order lines ----------------------------------------------------------------------

LINE_FIELDS = "... on OrderLine { lineNumber quantity version unitPrice { amount } lineTotal { amount } product { id } supplier { id } }"


async def add_line(backend: Backend, order: str, **line: Any) -> dict:
    return await mutate(
        backend, "addOrderLine", "($orderId: ID!, $input: OrderLineInput!)", {"orderId": order, "input": line},
        f"line {{ id {LINE_FIELDS} }}",
    )


async def first_line(backend: Backend, order: str) -> str:
    return (await node(backend, order, ORDER_FIELDS))["lines"]["edges"][0]["node"]["id"]


async def test_add_order_line_numbers_it_and_raises_the_total(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "CONFIRMED")
    supplier = await create_org(backend, ["SUPPLIER"])
    product = await product_id(backend, listPrice="3.3333")
    before = await order_total(backend, order)
    payload = await add_line(backend, order, productId=product, quantity="0.125", supplierId=supplier)
    assert payload["errors"] == []
    line = payload["line"]
    assert line["lineNumber"] == 2 and line["supplier"]["id"] == supplier
    stored = await node(backend, line["id"], LINE_FIELDS)
    assert Decimal(stored["unitPrice"]["amount"]) == Decimal("3.3333")
    added = (Decimal("0.125") * Decimal("3.3333")).quantize(Decimal("0.0001"))
    assert Decimal(stored["lineTotal"]["amount"]) == added
    assert await order_total(backend, order) == before + added == Decimal("20.4167")
    assert (await node(backend, order, ORDER_FIELDS))["lines"]["totalCount"] == 2


async def test_add_order_line_rejects_bad_input_and_leaves_the_order_unchanged(backend: Backend) -> None:
    draft, _, product = await new_order(backend)
    shipping, _, _ = await new_order(backend, "IN_FULFILMENT")
    for order, line, expected in [
        (draft, {"productId": product, "quantity": "-1"}, [(["quantity"], "OUT_OF_RANGE")]),
        (draft, {"productId": draft, "quantity": "1"}, [(["productId"], "INVALID")]),
        (draft, {"productId": product, "quantity": "1", "unitPrice": "NaN"}, [(["unitPrice"], "INVALID")]),
        (shipping, {"productId": product, "quantity": "1"}, [(["orderId"], "INVALID")]),
        (product, {"productId": product, "quantity": "1"}, [(["orderId"], "NOT_FOUND")]),
    ]:
        before = None if order == product else await node(backend, order, ORDER_FIELDS)
        payload = await add_line(backend, order, **line)
        assert payload["line"] is None
        assert codes(payload) == expected, line
        if before is not None:
            assert await node(backend, order, ORDER_FIELDS) == before


async def test_update_order_line_changes_the_order_total_exactly(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "SUBMITTED")
    extra = await add_line(backend, order, productId=await product_id(backend), quantity="1", unitPrice="0.1")
    line = await first_line(backend, order)
    assert await order_total(backend, order) == Decimal("20.1")
    payload = await mutate(
        backend, "updateOrderLine", "($id: ID!, $input: UpdateOrderLineInput!)",
        {"id": line, "input": {"quantity": "3.333", "unitPrice": "0.3"}}, f"line {{ id {LINE_FIELDS} }}",
    )
    assert payload["errors"] == []
    stored = await node(backend, line, LINE_FIELDS)
    assert Decimal(stored["quantity"]) == Decimal("3.333") and stored["version"] == 2
    assert Decimal(stored["lineTotal"]["amount"]) == Decimal("0.9999")
    assert await order_total(backend, order) == Decimal("0.9999") + Decimal(extra["line"]["lineTotal"]["amount"]) == Decimal("1.0999")


async def test_update_order_line_rejects_bad_input_and_keeps_line_and_total(backend: Backend) -> None:
    order, customer, _ = await new_order(backend)
    line = await first_line(backend, order)
    before_order, before_line = await node(backend, order, ORDER_FIELDS), await node(backend, line, LINE_FIELDS)
    for change, expected in [
        ({"quantity": "0"}, [(["quantity"], "OUT_OF_RANGE")]),
        ({"quantity": "0.0005"}, [(["quantity"], "INVALID")]),
        ({"unitPrice": "-3"}, [(["unitPrice"], "OUT_OF_RANGE")]),
        ({"supplierId": customer}, [(["supplierId"], "INVALID")]),
    ]:
        payload = await mutate(
            backend, "updateOrderLine", "($id: ID!, $input: UpdateOrderLineInput!)", {"id": line, "input": change},
            "line { id }",
        )
        assert payload["line"] is None
        assert codes(payload) == expected, change
    assert await node(backend, line, LINE_FIELDS) == before_line
    assert await node(backend, order, ORDER_FIELDS) == before_order


async def test_update_order_line_refuses_lines_of_an_order_in_fulfilment(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "IN_FULFILMENT")
    line = await first_line(backend, order)
    before = await node(backend, order, ORDER_FIELDS)
    payload = await mutate(
        backend, "updateOrderLine", "($id: ID!, $input: UpdateOrderLineInput!)", {"id": line, "input": {"quantity": "9"}},
        "line { id }",
    )
    assert codes(payload) == [(["orderId"], "INVALID")]
    assert await node(backend, order, ORDER_FIELDS) == before


async def test_archive_order_line_removes_it_from_the_total(backend: Backend) -> None:
    order, _, _ = await new_order(backend)
    extra = (await add_line(backend, order, productId=await product_id(backend), quantity="2", unitPrice="1.25"))["line"]
    assert await order_total(backend, order) == Decimal("22.50")
    payload = await mutate(backend, "archiveOrderLine", "($id: ID!)", {"id": extra["id"]}, "line { id }")
    assert payload["errors"] == []
    stored = await node(backend, order, ORDER_FIELDS)
    assert Decimal(stored["total"]["amount"]) == Decimal("20.00")
    assert stored["lines"]["totalCount"] == 1

    again = await mutate(backend, "archiveOrderLine", "($id: ID!)", {"id": extra["id"]}, "line { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateOrderLine", "($id: ID!, $input: UpdateOrderLineInput!)",
        {"id": extra["id"], "input": {"quantity": "5"}}, "line { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, order, ORDER_FIELDS) == stored


# -- shipments ------------------------------------------------------------------------

SHIPMENT_FIELDS = "... on Shipment { carrier trackingNumber status shippedAt expectedAt deliveredAt version archivedAt order { id } }"


def at(hours: int) -> str:
    return (datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=hours)).isoformat()


async def create_shipment(backend: Backend, order: str, **extra: Any) -> dict:
    return await mutate(
        backend, "createShipment", "($input: CreateShipmentInput!)",
        {"input": {"orderId": order, "carrier": "SF Express", **extra}}, f"shipment {{ id {SHIPMENT_FIELDS} }}",
    )


async def shipments_of(backend: Backend, order: str) -> int:
    return (await node(backend, order, "... on Order { shipments { totalCount } }"))["shipments"]["totalCount"]


async def test_create_shipment_for_a_confirmed_order(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "CONFIRMED")
    tracking = uid()
    payload = await create_shipment(
        backend, order, trackingNumber=tracking, status="IN_TRANSIT", shippedAt=at(0), expectedAt=at(48)
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["shipment"]["id"], SHIPMENT_FIELDS)
    assert (stored["carrier"], stored["trackingNumber"], stored["status"]) == ("SF Express", tracking, "IN_TRANSIT")
    assert datetime.fromisoformat(stored["shippedAt"]) == datetime.fromisoformat(at(0))
    assert datetime.fromisoformat(stored["expectedAt"]) == datetime.fromisoformat(at(48))
    assert stored["order"]["id"] == order
    assert await shipments_of(backend, order) == 1


async def test_create_shipment_rejects_bad_input_and_ships_nothing(backend: Backend) -> None:
    draft, _, _ = await new_order(backend)
    confirmed, _, _ = await new_order(backend, "CONFIRMED")
    for order, extra, expected in [
        (draft, {}, [(["orderId"], "INVALID")]),
        (confirmed, {"carrier": " "}, [(["carrier"], "REQUIRED")]),
        (confirmed, {"status": "IN_TRANSIT"}, [(["shippedAt"], "REQUIRED")]),
        (confirmed, {"status": "DELIVERED", "shippedAt": at(0)}, [(["deliveredAt"], "REQUIRED")]),
        (confirmed, {"shippedAt": at(10), "deliveredAt": at(5)}, [(["deliveredAt"], "OUT_OF_RANGE")]),
        (confirmed, {"shippedAt": at(10), "expectedAt": at(5)}, [(["expectedAt"], "OUT_OF_RANGE")]),
    ]:
        payload = await create_shipment(backend, order, **extra)
        assert payload["shipment"] is None
        assert codes(payload) == expected, extra
    assert await shipments_of(backend, draft) == 0
    assert await shipments_of(backend, confirmed) == 0


async def test_update_shipment_records_delivery(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "CONFIRMED")
    shipment = (await create_shipment(backend, order, status="IN_TRANSIT", shippedAt=at(0)))["shipment"]["id"]
    payload = await mutate(
        backend, "updateShipment", "($id: ID!, $input: UpdateShipmentInput!)",
        {"id": shipment, "input": {"status": "DELIVERED", "deliveredAt": at(30)}}, "shipment { id version }",
    )
    assert payload["errors"] == [] and payload["shipment"]["version"] == 2
    stored = await node(backend, shipment, SHIPMENT_FIELDS)
    assert stored["status"] == "DELIVERED"
    assert datetime.fromisoformat(stored["deliveredAt"]) == datetime.fromisoformat(at(30))


async def test_update_shipment_checks_dates_against_the_stored_ones(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "CONFIRMED")
    shipment = (await create_shipment(backend, order, status="IN_TRANSIT", shippedAt=at(10)))["shipment"]["id"]
    before = await node(backend, shipment, SHIPMENT_FIELDS)
    for change, expected in [
        ({"deliveredAt": at(5)}, [(["deliveredAt"], "OUT_OF_RANGE")]),
        ({"status": "DELIVERED"}, [(["deliveredAt"], "REQUIRED")]),
        ({"shippedAt": None}, [(["shippedAt"], "REQUIRED")]),
        ({"carrier": ""}, [(["carrier"], "REQUIRED")]),
    ]:
        payload = await mutate(
            backend, "updateShipment", "($id: ID!, $input: UpdateShipmentInput!)", {"id": shipment, "input": change},
            "shipment { id }",
        )
        assert payload["shipment"] is None
        assert codes(payload) == expected, change
    assert await node(backend, shipment, SHIPMENT_FIELDS) == before


async def test_archive_shipment_hides_it_and_freezes_it(backend: Backend) -> None:
    order, _, _ = await new_order(backend, "CONFIRMED")
    shipment = (await create_shipment(backend, order))["shipment"]["id"]
    payload = await mutate(backend, "archiveShipment", "($id: ID!)", {"id": shipment}, "shipment { id archivedAt }")
    assert payload["errors"] == [] and payload["shipment"]["archivedAt"] is not None
    stored = await node(backend, shipment, SHIPMENT_FIELDS)
    assert await shipments_of(backend, order) == 0
    again = await mutate(backend, "archiveShipment", "($id: ID!)", {"id": shipment}, "shipment { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateShipment", "($id: ID!, $input: UpdateShipmentInput!)",
        {"id": shipment, "input": {"carrier": "EMS"}}, "shipment { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, shipment, SHIPMENT_FIELDS) == stored


# -- service records ------------------------------------------------------------------

RECORD_FIELDS = """... on ServiceRecord { kind title status closedAt resolution version archivedAt
  organization { id } contact { id } assignee { id } order { id } }
  ... on QualityObjection { severity evidenceLinks product { id } orderLine { id } }
  ... on SatisfactionSurvey { score comments }
  ... on Visit { plannedAt purpose }
  ... on ServiceRequest { cost { amount currency } }
  ... on Complaint { compensation { amount } }"""


async def create_record(backend: Backend, mutation: str, org: str, **extra: Any) -> dict:
    return await mutate(
        backend, mutation, "($input: CreateServiceRecordInput!)",
        {"input": {"organizationId": org, "title": f"Record {uid()}", **extra}}, f"record {{ id {RECORD_FIELDS} }}",
    )


async def records_of(backend: Backend, org: str) -> int:
    data = await node(backend, org, "... on Organization { serviceRecords(filter: {includeArchived: true}) { totalCount } }")
    return data["serviceRecords"]["totalCount"]


@pytest.mark.parametrize(
    ("mutation", "kind", "extra", "check"),
    [
        ("createServiceRequest", "SERVICE_REQUEST", {"cost": "150.5", "currency": "CNY"},
         lambda r: Decimal(r["cost"]["amount"]) == Decimal("150.5")),
        ("createComplaint", "COMPLAINT", {"severity": "HIGH", "compensation": "20"},
         lambda r: Decimal(r["compensation"]["amount"]) == 20),
        ("createQualityObjection", "QUALITY_OBJECTION", {"severity": "CRITICAL", "evidenceLinks": ["https://e.x/1.jpg"]},
         lambda r: r["severity"] == "CRITICAL" and r["evidenceLinks"] == ["https://e.x/1.jpg"] and r["orderLine"] is not None),
        ("createVisit", "VISIT", {"plannedAt": "2030-02-03T04:05:06+00:00", "purpose": "Audit"},
         lambda r: datetime.fromisoformat(r["plannedAt"]) == datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC) and r["purpose"] == "Audit"),
        ("createSatisfactionSurvey", "SATISFACTION_SURVEY", {"score": 10, "comments": "Great"},
         lambda r: (r["score"], r["comments"]) == (10, "Great")),
    ],
)
async def test_create_service_record_of_each_kind_persists(
    backend: Backend, mutation: str, kind: str, extra: dict, check: Any
) -> None:
    order, customer, product = await new_order(backend)
    contact, assignee = await create_contact(backend, customer), await create_user(backend)
    if kind == "QUALITY_OBJECTION":
        extra = {**extra, "orderLineId": await first_line(backend, order)}
    payload = await create_record(
        backend, mutation, customer, contactId=contact, assigneeId=assignee, orderId=order, **extra
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["record"]["id"], RECORD_FIELDS)
    assert stored["kind"] == kind and stored["status"] == "OPEN" and stored["closedAt"] is None
    assert stored["organization"]["id"] == customer and stored["contact"]["id"] == contact
    assert stored["assignee"]["id"] == assignee and stored["order"]["id"] == order
    if kind == "QUALITY_OBJECTION":
        assert stored["product"]["id"] == product  # taken from the order line
    assert check(stored)
    assert await records_of(backend, customer) == 1


@pytest.mark.parametrize(
    ("mutation", "extra", "expected"),
    [
        ("createQualityObjection", {}, [(["severity"], "REQUIRED"), (["orderLineId"], "REQUIRED")]),
        ("createQualityObjection", {"severity": "LOW", "productId": "PRODUCT", "evidenceLinks": ["ftp://x"]},
         [(["evidenceLinks", "0"], "INVALID")]),
        ("createSatisfactionSurvey", {"score": 11}, [(["score"], "OUT_OF_RANGE")]),
        ("createSatisfactionSurvey", {"score": -1}, [(["score"], "OUT_OF_RANGE")]),
        ("createSatisfactionSurvey", {}, [(["score"], "REQUIRED")]),
        ("createVisit", {}, [(["plannedAt"], "REQUIRED")]),
        ("createServiceRequest", {"status": "RESOLVED"}, [(["resolution"], "REQUIRED")]),
        ("createComplaint", {"compensation": "-1"}, [(["compensation"], "OUT_OF_RANGE")]),
        ("createComplaint", {"title": " "}, [(["title"], "REQUIRED")]),
        ("createServiceRequest", {"orderId": "FOREIGN"}, [(["orderId"], "INVALID")]),
        ("createServiceRequest", {"contactId": "FOREIGN"}, [(["contactId"], "INVALID")]),
    ],
)
async def test_create_service_record_rejects_bad_input_and_records_nothing(
    backend: Backend, mutation: str, extra: dict, expected: list
) -> None:
    customer = await create_org(backend)
    if "FOREIGN" in extra.values():
        foreign_order, other, _ = await new_order(backend)
        foreign = {"orderId": foreign_order, "contactId": await create_contact(backend, other)}
        extra = {k: foreign[k] if v == "FOREIGN" else v for k, v in extra.items()}
    if extra.get("productId") == "PRODUCT":
        extra = {**extra, "productId": await product_id(backend)}
    payload = await create_record(backend, mutation, customer, **extra)
    assert payload["record"] is None
    assert codes(payload) == expected
    assert await records_of(backend, customer) == 0


async def update_record(backend: Backend, record: str, **change: Any) -> dict:
    return await mutate(
        backend, "updateServiceRecord", "($id: ID!, $input: UpdateServiceRecordInput!)", {"id": record, "input": change},
        f"record {{ id {RECORD_FIELDS} }}",
    )


async def test_update_service_record_resolves_with_a_resolution_and_reopens(backend: Backend) -> None:
    customer = await create_org(backend)
    assignee = await create_user(backend)
    record = (await create_record(backend, "createComplaint", customer))["record"]["id"]
    payload = await update_record(backend, record, assigneeId=assignee, status="RESOLVED", resolution="Replaced the part")
    assert payload["errors"] == []
    stored = await node(backend, record, RECORD_FIELDS)
    assert (stored["status"], stored["resolution"], stored["assignee"]["id"]) == ("RESOLVED", "Replaced the part", assignee)
    assert stored["closedAt"] is not None and stored["version"] == 2

    assert (await update_record(backend, record, status="IN_PROGRESS"))["errors"] == []
    reopened = await node(backend, record, RECORD_FIELDS)
    assert reopened["status"] == "IN_PROGRESS" and reopened["closedAt"] is None


async def test_update_service_record_rejects_bad_input_and_leaves_it_unchanged(backend: Backend) -> None:
    customer = await create_org(backend)
    product = await product_id(backend)
    survey = (await create_record(backend, "createSatisfactionSurvey", customer, score=5))["record"]["id"]
    objection = (await create_record(backend, "createQualityObjection", customer, severity="LOW", productId=product))["record"]["id"]
    for record, change, expected in [
        (survey, {"status": "CLOSED"}, [(["resolution"], "REQUIRED")]),
        (survey, {"score": 42}, [(["score"], "OUT_OF_RANGE")]),
        (survey, {"score": None}, [(["score"], "REQUIRED")]),
        (objection, {"severity": None}, [(["severity"], "REQUIRED")]),
        (objection, {"productId": None}, [(["orderLineId"], "REQUIRED")]),
        (objection, {"assigneeId": customer}, [(["assigneeId"], "INVALID")]),
    ]:
        before = await node(backend, record, RECORD_FIELDS)
        payload = await update_record(backend, record, **change)
        assert payload["record"] is None
        assert codes(payload) == expected, change
        assert await node(backend, record, RECORD_FIELDS) == before


async def test_archive_service_record_hides_it_and_freezes_it(backend: Backend) -> None:
    customer = await create_org(backend)
    record = (await create_record(backend, "createServiceRequest", customer))["record"]["id"]
    payload = await mutate(backend, "archiveServiceRecord", "($id: ID!)", {"id": record}, "record { id archivedAt }")
    assert payload["errors"] == [] and payload["record"]["archivedAt"] is not None
    stored = await node(backend, record, RECORD_FIELDS)
    visible = await node(backend, customer, "... on Organization { serviceRecords { totalCount } }")
    assert visible["serviceRecords"]["totalCount"] == 0
    again = await mutate(backend, "archiveServiceRecord", "($id: ID!)", {"id": record}, "record { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    assert codes(await update_record(backend, record, title="Revived")) == [(["id"], "ARCHIVED")]
    assert await node(backend, record, RECORD_FIELDS) == stored
