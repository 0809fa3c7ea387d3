"""Orders, lines and shipments: filters, relations, the status rules, and writes.

An order's total is derived from its lines in the same transaction that changes them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from graph.errors import ErrorCode, ErrorCollector, UserInputError
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as om
from graph.models import products as pm
from graph.models.base import utcnow
from graph.models.orders import Order, OrderLine, OrderSource, OrderStatus, Shipment, ShipmentStatus
from graph.models.sync import StatusTransition
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

ORDER = Order.__table__
LINE = OrderLine.__table__
SHIPMENT = Shipment.__table__
TRANSITION = StatusTransition.__table__

_SUPPLIER_ORDERS = select(LINE.c.order_id, LINE.c.supplier_id).where(LINE.c.archived_at.is_(None)).distinct().subquery()

ORDERS_OF_CUSTOMER = Relation("orders_of_customer", Order, ORDER.c.customer_id)
ORDERS_OF_DISTRIBUTOR = Relation("orders_of_distributor", Order, ORDER.c.distributor_id)
ORDERS_OF_SUPPLIER = Relation(
    "orders_of_supplier",
    Order,
    _SUPPLIER_ORDERS.c.supplier_id,
    join=lambda s: s.join(_SUPPLIER_ORDERS, _SUPPLIER_ORDERS.c.order_id == ORDER.c.id),
)
LINES_OF_ORDER = Relation("lines_of_order", OrderLine, LINE.c.order_id, where=(LINE.c.archived_at.is_(None),))
LINES_OF_SUPPLIER = Relation("lines_of_supplier", OrderLine, LINE.c.supplier_id, where=(LINE.c.archived_at.is_(None),))
LINES_OF_PRODUCT = Relation("lines_of_product", OrderLine, LINE.c.product_id, where=(LINE.c.archived_at.is_(None),))
SHIPMENTS_OF_ORDER = Relation("shipments_of_order", Shipment, SHIPMENT.c.order_id)
SHIPMENTS_OF_CUSTOMER = Relation(
    "shipments_of_customer",
    Shipment,
    ORDER.c.customer_id,
    join=lambda s: s.join(ORDER, ORDER.c.id == SHIPMENT.c.order_id),
)
# Status history (written by graph/outbox.py for every status an order or shipment takes).
HISTORY_OF_ORDER = Relation(
    "history_of_order", StatusTransition, TRANSITION.c.record_id, where=(TRANSITION.c.table_name == "orders",)
)
HISTORY_OF_SHIPMENT = Relation(
    "history_of_shipment", StatusTransition, TRANSITION.c.record_id, where=(TRANSITION.c.table_name == "shipments",)
)

# Which status may follow which. Cancelling is allowed until the goods leave.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.SUBMITTED, OrderStatus.CANCELLED}),
    OrderStatus.SUBMITTED: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.IN_FULFILMENT, OrderStatus.CANCELLED}),
    OrderStatus.IN_FULFILMENT: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.CLOSED}),
    OrderStatus.CLOSED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# A shipment waits, travels, and ends delivered, lost or returned.
SHIPMENT_TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    ShipmentStatus.PENDING: frozenset({ShipmentStatus.IN_TRANSIT}),
    ShipmentStatus.IN_TRANSIT: frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.LOST, ShipmentStatus.RETURNED}),
    ShipmentStatus.DELIVERED: frozenset(),
    ShipmentStatus.LOST: frozenset(),
    ShipmentStatus.RETURNED: frozenset(),
}
EDITABLE_LINES = frozenset({OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.CONFIRMED})
ARCHIVABLE = frozenset({OrderStatus.DRAFT, OrderStatus.CANCELLED, OrderStatus.DELIVERED, OrderStatus.CLOSED})
SHIPPABLE = frozenset({OrderStatus.CONFIRMED, OrderStatus.IN_FULFILMENT, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


@cached_filter
def order_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(ORDER.c.archived_at.is_(None))
    if f is not None:
        if f.search:
            conditions.append(
                contains(ORDER.c.number, f.search) | contains(func.coalesce(ORDER.c.external_reference, ""), f.search)
            )
        if f.status:
            conditions.append(ORDER.c.status.in_(f.status))
        if f.sources:
            conditions.append(ORDER.c.source.in_(f.sources))
        if f.customer_id is not None:
            conditions.append(id_condition(ORDER.c.customer_id, f.customer_id, "Organization"))
        if f.distributor_id is not None:
            conditions.append(id_condition(ORDER.c.distributor_id, f.distributor_id, "Organization"))
        if f.supplier_id is not None:
            lines = select(LINE.c.order_id).where(id_condition(LINE.c.supplier_id, f.supplier_id, "Organization"))
            conditions.append(ORDER.c.id.in_(lines))
        if f.currency:
            conditions.append(ORDER.c.currency == f.currency)
        if f.placed is not None:
            if f.placed.from_ is not None:
                conditions.append(ORDER.c.placed_at >= f.placed.from_)
            if f.placed.to is not None:
                conditions.append(ORDER.c.placed_at < f.placed.to)
        if f.promised is not None:
            if f.promised.from_ is not None:
                conditions.append(ORDER.c.promised_date >= f.promised.from_)
            if f.promised.to is not None:
                conditions.append(ORDER.c.promised_date <= f.promised.to)
        if f.total is not None:
            if f.total.min is not None:
                conditions.append(ORDER.c.total_amount >= f.total.min)
            if f.total.max is not None:
                conditions.append(ORDER.c.total_amount <= f.total.max)
    return Filter(key=key, conditions=tuple(conditions))


@cached_filter
def shipment_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(SHIPMENT.c.archived_at.is_(None))
    if f is not None:
        if f.status:
            conditions.append(SHIPMENT.c.status.in_(f.status))
        if f.carrier:
            conditions.append(contains(SHIPMENT.c.carrier, f.carrier))
        if f.tracking_number:
            conditions.append(SHIPMENT.c.tracking_number == f.tracking_number)
        if f.expected is not None:
            if f.expected.from_ is not None:
                conditions.append(SHIPMENT.c.expected_at >= f.expected.from_)
            if f.expected.to is not None:
                conditions.append(SHIPMENT.c.expected_at < f.expected.to)
    return Filter(key=key, conditions=tuple(conditions))


# -- orders ---------------------------------------------------------------------------


def _line_total(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return (quantity * unit_price).quantize(Decimal("0.0001"))


async def _recompute_total(uow: UnitOfWork, order: Order) -> None:
    await uow.session.flush()
    total = (
        await uow.session.execute(
            select(func.coalesce(func.sum(OrderLine.line_total), 0)).where(
                OrderLine.order_id == order.id, OrderLine.archived_at.is_(None)
            )
        )
    ).scalar()
    await uow.update(order, {"total_amount": Decimal(total)})


async def _check_line(
    uow: UnitOfWork, errors: ErrorCollector, path: tuple[str, ...], line: dict[str, Any], *, creating: bool
) -> tuple[pm.Product | None, om.Organization | None]:
    product = None
    if creating or line.get("product_id") is not None:
        product = await check.reference(uow, errors, (*path, "productId"), line.get("product_id"), pm.Product, "Product")
    if creating and line.get("quantity") is None:
        errors.add((*path, "quantity"), "Required.", ErrorCode.REQUIRED)
    check.amount(errors, (*path, "quantity"), line.get("quantity"), positive=True, scale=3)  # type: ignore[arg-type]
    check.amount(errors, (*path, "unitPrice"), line.get("unit_price"))  # type: ignore[arg-type]
    supplier = None
    if line.get("supplier_id") is not None:
        supplier = await check.reference(
            uow, errors, (*path, "supplierId"), line["supplier_id"], om.Organization, "Organization",
            check=lambda o: None if o.is_supplier else "This organization does not hold the supplier role.",
        )
    return product, supplier


async def _add_line(uow: UnitOfWork, order: Order, number: int, line: dict[str, Any], product, supplier) -> OrderLine:  # noqa: ANN001
    unit_price = line.get("unit_price")
    if unit_price is None:
        unit_price = product.list_price
    return await uow.create(
        OrderLine(
            order_id=order.id,
            line_number=number,
            product_id=product.id,
            supplier_id=supplier.id if supplier else None,
            quantity=line["quantity"],
            unit_price=unit_price,
            line_total=_line_total(line["quantity"], unit_price),
        )
    )


def _is_customer(org: om.Organization) -> str | None:
    return None if org.is_customer else "This organization does not hold the customer role."


def _is_distributor(org: om.Organization) -> str | None:
    return None if org.is_distributor else "This organization does not hold the distributor role."


async def create_order(uow: UnitOfWork, data: dict[str, Any]) -> Order:
    errors = ErrorCollector()
    customer = await check.reference(
        uow, errors, "customerId", data.get("customer_id"), om.Organization, "Organization", check=_is_customer
    )
    distributor = await check.reference(
        uow, errors, "distributorId", data.get("distributor_id"), om.Organization, "Organization",
        required=False, check=_is_distributor,
    )
    check.currency(errors, "currency", data.get("currency"))
    check.text(errors, "externalReference", data.get("external_reference"), max_length=100)
    check.text(errors, "notes", data.get("notes"), max_length=10000)
    status = data.get("status") or OrderStatus.DRAFT
    if status not in (OrderStatus.DRAFT, OrderStatus.SUBMITTED):
        errors.add("status", "A new order starts as DRAFT or SUBMITTED.", ErrorCode.INVALID)
    lines = data.get("lines") or []
    if not lines:
        errors.add("lines", "An order needs at least one line.", ErrorCode.REQUIRED)
    if len(lines) > 500:
        errors.add("lines", "At most 500 lines per order.", ErrorCode.OUT_OF_RANGE)
    checked = [await _check_line(uow, errors, ("lines", str(i)), line, creating=True) for i, line in enumerate(lines)]
    errors.raise_if_any()
    order = await uow.create(
        Order(
            number=f"TMP-{uuid.uuid4().hex}",
            customer_id=customer.id,
            distributor_id=distributor.id if distributor else None,
            status=status,
            currency=data.get("currency") or "CNY",
            placed_at=utcnow(),
            requested_date=data.get("requested_date"),
            promised_date=data.get("promised_date"),
            source=data.get("source") or OrderSource.INTERNAL,
            external_reference=data.get("external_reference"),
            notes=data.get("notes"),
        )
    )
    order.number = f"SO{order.id:08d}"  # readable and unique; set once the id is known
    for number, (line, (product, supplier)) in enumerate(zip(lines, checked, strict=True), start=1):
        await _add_line(uow, order, number, line, product, supplier)
    await _recompute_total(uow, order)
    return order


_ORDER_FIELDS = ("requested_date", "promised_date", "notes", "external_reference", "status")


async def update_order(uow: UnitOfWork, order: Order, data: dict[str, Any]) -> Order:
    errors = ErrorCollector()
    if order.archived_at is not None:
        errors.add("id", "Archived orders cannot be changed.", ErrorCode.ARCHIVED)
    values = {k: data[k] for k in _ORDER_FIELDS if k in data}
    if data.get("status") is not None and data["status"] is not order.status:
        if data["status"] not in TRANSITIONS[order.status]:
            errors.add(
                "status",
                f"An order cannot go from {order.status.name} to {data['status'].name}.",
                ErrorCode.INVALID,
            )
    elif "status" in values:
        values.pop("status")
    if "distributor_id" in data:
        distributor = await check.reference(
            uow, errors, "distributorId", data["distributor_id"], om.Organization, "Organization",
            required=False, check=_is_distributor,
        )
        values["distributor_id"] = distributor.id if distributor else None
    check.text(errors, "notes", data.get("notes"), max_length=10000)
    check.text(errors, "externalReference", data.get("external_reference"), max_length=100)
    errors.raise_if_any()
    return await uow.update(order, values)


async def archive_order(uow: UnitOfWork, order: Order) -> Order:
    if order.status not in ARCHIVABLE:
        raise UserInputError.one(
            "id", f"A {order.status.name} order cannot be archived; cancel it first.", ErrorCode.INVALID
        )
    return await uow.archive(order)


# -- lines ----------------------------------------------------------------------------


def _lines_editable(order: Order) -> None:
    if order.archived_at is not None or order.status not in EDITABLE_LINES:
        raise UserInputError.one(
            "orderId", f"Lines of a {order.status.name} order cannot be changed.", ErrorCode.INVALID
        )


async def add_order_line(uow: UnitOfWork, order: Order, line: dict[str, Any]) -> OrderLine:
    _lines_editable(order)
    errors = ErrorCollector()
    product, supplier = await _check_line(uow, errors, (), line, creating=True)
    errors.raise_if_any()
    last = (
        await uow.session.execute(select(func.max(OrderLine.line_number)).where(OrderLine.order_id == order.id))
    ).scalar() or 0
    added = await _add_line(uow, order, last + 1, line, product, supplier)
    await _recompute_total(uow, order)
    return added


async def update_order_line(uow: UnitOfWork, line: OrderLine, data: dict[str, Any]) -> OrderLine:
    order = await uow.find(Order, line.order_id, for_update=True)
    _lines_editable(order)
    if line.archived_at is not None:
        raise UserInputError.one("id", "This line was removed.", ErrorCode.ARCHIVED)
    errors = ErrorCollector()
    product, supplier = await _check_line(uow, errors, (), data, creating=False)
    errors.raise_if_any()
    values: dict[str, Any] = {}
    if product is not None:
        values["product_id"] = product.id
    if "supplier_id" in data:
        values["supplier_id"] = supplier.id if supplier else None
    for name in ("quantity", "unit_price"):
        if data.get(name) is not None:
            values[name] = data[name]
    quantity = values.get("quantity", line.quantity)
    unit_price = values.get("unit_price", line.unit_price)
    values["line_total"] = _line_total(quantity, unit_price)
    await uow.update(line, values)
    await _recompute_total(uow, order)
    return line


async def archive_order_line(uow: UnitOfWork, line: OrderLine) -> OrderLine:
    order = await uow.find(Order, line.order_id, for_update=True)
    _lines_editable(order)
    await uow.archive(line)
    await _recompute_total(uow, order)
    return line


# -- shipments ------------------------------------------------------------------------

_SHIPMENT_FIELDS = ("carrier", "tracking_number", "status", "shipped_at", "expected_at", "delivered_at")


def _validate_shipment(errors: ErrorCollector, data: dict[str, Any], shipment: Shipment | None) -> None:
    creating = shipment is None
    check.text(errors, "carrier", data.get("carrier"), required=creating or "carrier" in data, max_length=100)
    check.text(errors, "trackingNumber", data.get("tracking_number"), max_length=100)

    def current(name: str) -> Any:
        return data[name] if name in data else (getattr(shipment, name) if shipment else None)

    shipped, expected, delivered = current("shipped_at"), current("expected_at"), current("delivered_at")
    if shipped and delivered and delivered < shipped:
        errors.add("deliveredAt", "Cannot be before shippedAt.", ErrorCode.OUT_OF_RANGE)
    if shipped and expected and expected < shipped:
        errors.add("expectedAt", "Cannot be before shippedAt.", ErrorCode.OUT_OF_RANGE)
    status = current("status")
    if status is ShipmentStatus.DELIVERED and not delivered:
        errors.add("deliveredAt", "A delivered shipment needs its delivery time.", ErrorCode.REQUIRED)
    if status in (ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED) and not shipped:
        errors.add("shippedAt", "A shipment on its way needs its shipping time.", ErrorCode.REQUIRED)


async def create_shipment(uow: UnitOfWork, data: dict[str, Any]) -> Shipment:
    errors = ErrorCollector()
    order = await check.reference(uow, errors, "orderId", data.get("order_id"), Order, "Order")
    _validate_shipment(errors, data, None)
    if order is not None and order.status not in SHIPPABLE:
        errors.add("orderId", f"A {order.status.name} order cannot be shipped.", ErrorCode.INVALID)
    errors.raise_if_any()
    values = {k: data[k] for k in _SHIPMENT_FIELDS if data.get(k) is not None}
    return await uow.create(Shipment(order_id=order.id, **values))


async def update_shipment(uow: UnitOfWork, shipment: Shipment, data: dict[str, Any]) -> Shipment:
    errors = ErrorCollector()
    if shipment.archived_at is not None:
        errors.add("id", "Archived shipments cannot be changed.", ErrorCode.ARCHIVED)
    _validate_shipment(errors, data, shipment)
    values = {k: data[k] for k in _SHIPMENT_FIELDS if k in data}
    status = values.get("status")
    if status is None:
        values.pop("status", None)
    elif status is not shipment.status and status not in SHIPMENT_TRANSITIONS[shipment.status]:
        errors.add(
            "status", f"A shipment cannot go from {shipment.status.name} to {status.name}.", ErrorCode.INVALID
        )
    errors.raise_if_any()
    return await uow.update(shipment, values)


async def archive_shipment(uow: UnitOfWork, shipment: Shipment) -> Shipment:
    return await uow.archive(shipment)
