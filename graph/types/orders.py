"""GraphQL types for orders, their lines and shipments."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.loaders import NO_FILTER
from graph.models import orders as m
from graph.models import organizations as om
from graph.models import products as pm
from graph.pagination import Include
from graph.resolvers import orders as r
from graph.resolvers import service as sr
from graph.types.common import (
    After,
    Before,
    BuyerPrices,
    Connection,
    DateRange,
    DateTimeRange,
    DecimalRange,
    ExpectedVersion,
    First,
    Last,
    Money,
    SortDirection,
    UserError,
    allow,
    doc,
    freeze,
    input_values,
    internal,
    known_or_load,
    list_connection,
    load_one,
    nested_connection,
    payload_runner,
    row_builder,
    updating_version,
)
from graph.types.refs import EarlyWarningRef, OrganizationRef, ProductRef, ServiceRecordRef

OrderStatus = strawberry.enum(m.OrderStatus, description="Where an order is in its lifecycle.")
OrderSource = strawberry.enum(m.OrderSource, description="How an order reached us.")
ShipmentStatus = strawberry.enum(m.ShipmentStatus, description="Where a shipment is.")

# To-one records of a line read in the lines' own statement when the client selects them.
# To-one records a list of orders joins in when the client selects them (graph/pagination.py).
ORDER_INCLUDES = (
    Include("customer", om.Organization, m.Order.__table__.c.customer_id),
    Include("distributor", om.Organization, m.Order.__table__.c.distributor_id),
)
LINE_INCLUDES = (
    Include("product", pm.Product, m.OrderLine.__table__.c.product_id),
    Include("supplier", om.Organization, m.OrderLine.__table__.c.supplier_id),
)


@strawberry.type(description="One step of an order's or a shipment's lifecycle: the status it took, when, and who.")
class StatusChange(relay.Node):
    id: relay.NodeID[int]
    from_status: str | None = doc("The status before (null: the record was created in `toStatus`), lower case.")
    to_status: str = doc("The status taken, lower case, e.g. in_transit.")
    occurred_at: datetime = doc("When the change committed.")
    principal_kind: str = doc("Who made it: internal, customer, supplier or distributor.")
    principal_name: str = internal("The name of the user or API key that made it. Internal users only.")
    key_prefix: str | None = internal("The visible prefix of the API key used, if any. Internal users only.")
    reason: str | None = doc("Why, when the change gave a reason.")


build_status_change = row_builder(StatusChange)


async def _status_history(
    info: Info, relation, record_id: int, first: int | None, after: str | None  # noqa: ANN001
) -> Connection[StatusChange]:
    return await nested_connection(
        info, relation, record_id, build_status_change, NO_FILTER, "occurred_at", SortDirection.DESC,
        first, after, None, None,
    )


@strawberry.type(description="A customer's order: lines of products, fulfilled by suppliers, delivered in shipments.")
class Order(relay.Node):
    id: relay.NodeID[int]
    number: str = doc("Order number (unique).")
    status: OrderStatus = doc("Lifecycle status.")
    currency: str = doc("Currency of all amounts on the order.")
    placed_at: datetime = doc("When the order was placed.")
    requested_date: date | None = doc("Delivery date the customer asked for.")
    promised_date: date | None = doc("Delivery date we promised.")
    source: OrderSource = doc("Portal, sync or internal.")
    external_reference: str | None = doc("The order's key in the partner system it was synced from.")
    notes: str | None = doc("Notes.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    total_amount: strawberry.Private[Decimal]
    customer_id: strawberry.Private[int]
    distributor_id: strawberry.Private[int | None]

    @strawberry.field(
        description="Sum of the line totals. For internal users and the buying customer only.",
        permission_classes=[BuyerPrices],
    )
    def total(self) -> Money | None:
        return Money(amount=self.total_amount, currency=self.currency)

    @strawberry.field(description="The customer who placed the order.")
    def customer(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return known_or_load(info, om.Organization, self.customer_id, build_organization)

    @strawberry.field(description="The distributor delivering the order, if any.")
    def distributor(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return known_or_load(info, om.Organization, self.distributor_id, build_organization)

    @strawberry.field(description="The order's lines, by line number.")
    async def lines(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[OrderLine]:
        def build(row) -> OrderLine:  # noqa: ANN001
            line = build_line(row)
            line.order_currency = self.currency
            return line

        return await nested_connection(
            info, r.LINES_OF_ORDER, self.id, build, NO_FILTER, "line_number", SortDirection.ASC,
            first, after, None, None, include=LINE_INCLUDES,
        )

    @strawberry.field(description="Shipments delivering the order.")
    async def shipments(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[Shipment]:
        return await nested_connection(
            info, r.SHIPMENTS_OF_ORDER, self.id, build_shipment, r.shipment_filter(None, None),
            "created_at", SortDirection.ASC, first, after, None, None,
        )

    @strawberry.field(description="Service records raised against this order, newest first.")
    async def service_records(
        self, info: Info,
        filter: Annotated["ServiceRecordFilter", strawberry.lazy("graph.types.service")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[ServiceRecordRef]:
        from graph.types.service import build_service_record

        return await nested_connection(
            info, sr.RECORDS_OF_ORDER, self.id, build_service_record, sr.service_record_filter(filter, freeze(filter)),
            "opened_at", SortDirection.DESC, first, after, None, None,
        )


    @strawberry.field(description="Every status the order took, newest first (its creation included).")
    async def status_history(self, info: Info, first: First = None, after: After = None) -> Connection[StatusChange]:
        return await _status_history(info, r.HISTORY_OF_ORDER, self.id, first, after)

    @strawberry.field(description="Early warnings about this order, newest first. Internal only.")
    async def warnings(
        self, info: Info,
        filter: Annotated["WarningFilter", strawberry.lazy("graph.types.early_warnings")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[EarlyWarningRef]:
        from graph.resolvers import early_warnings as wr
        from graph.types.early_warnings import warnings_connection

        return await warnings_connection(info, wr.WARNINGS_OF_ORDER, self.id, filter, first, after)


build_order = row_builder(Order)


@strawberry.type(description="One product on an order, with the supplier fulfilling it.")
class OrderLine(relay.Node):
    id: relay.NodeID[int]
    line_number: int = doc("Position on the order, from 1.")
    quantity: Decimal = doc("Quantity in the product's unit.")
    version: int = doc("Incremented on every change.")
    unit_price_amount: strawberry.Private[Decimal]
    line_total_amount: strawberry.Private[Decimal]
    order_id: strawberry.Private[int]
    product_id: strawberry.Private[int]
    supplier_id: strawberry.Private[int | None]
    # Set when the line is read under its order (Order.lines): its prices need no lookup.
    order_currency: strawberry.Private[str | None] = dataclasses.field(default=None, init=False)

    def _money(self, info: Info, amount: Decimal) -> Money | Awaitable[Money]:
        """The amount in the order's currency: at once when known, else after loading the order."""
        if self.order_currency is not None:
            return Money(amount=amount, currency=self.order_currency)

        async def later() -> Money:
            row = await info.context.loaders.by_id(m.Order).load(self.order_id)
            return Money(amount=amount, currency=row.currency if row is not None else "CNY")

        return later()

    # Plain (not async) resolvers: under an order they return at once, saving a coroutine and
    # a loader round per price; elsewhere they return an awaitable that graphql-core awaits.
    @strawberry.field(
        description="Price per unit the customer pays. For internal users and the buying customer only.",
        permission_classes=[BuyerPrices],
    )
    def unit_price(self, info: Info) -> Money | None:
        return self._money(info, self.unit_price_amount)

    @strawberry.field(
        description="Quantity times unit price. For internal users and the buying customer only.",
        permission_classes=[BuyerPrices],
    )
    def line_total(self, info: Info) -> Money | None:
        return self._money(info, self.line_total_amount)

    @strawberry.field(description="The order this line belongs to.")
    async def order(self, info: Info) -> Order | None:
        return await load_one(info, m.Order, self.order_id, build_order)

    @strawberry.field(description="The product ordered.")
    def product(self, info: Info) -> ProductRef | None:
        from graph.types.products import build_product

        return known_or_load(info, pm.Product, self.product_id, build_product)

    @strawberry.field(description="The supplier fulfilling this line.")
    def supplier(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return known_or_load(info, om.Organization, self.supplier_id, build_organization)


build_line = row_builder(OrderLine, renames={"unit_price_amount": "unit_price", "line_total_amount": "line_total"})


@strawberry.type(description="A consignment delivering (part of) an order.")
class Shipment(relay.Node):
    id: relay.NodeID[int]
    carrier: str = doc("Carrier or logistics company.")
    tracking_number: str | None = doc("The carrier's tracking number.")
    status: ShipmentStatus = doc("Pending, in transit, delivered, lost or returned.")
    shipped_at: datetime | None = doc("When it left.")
    expected_at: datetime | None = doc("When it is expected.")
    delivered_at: datetime | None = doc("When it arrived.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    order_id: strawberry.Private[int]

    @strawberry.field(description="The order shipped.")
    async def order(self, info: Info) -> Order | None:
        return await load_one(info, m.Order, self.order_id, build_order)

    @strawberry.field(description="Every status the shipment took, newest first (its creation included).")
    async def status_history(self, info: Info, first: First = None, after: After = None) -> Connection[StatusChange]:
        return await _status_history(info, r.HISTORY_OF_SHIPMENT, self.id, first, after)


build_shipment = row_builder(Shipment)


@strawberry.enum(description="Orders orders can be sorted by.")
class OrderSortField(enum.Enum):
    PLACED_AT = "placed_at"
    TOTAL = "total_amount"
    NUMBER = "number"
    CREATED_AT = "created_at"


@strawberry.input(description="Sort order for orders (default: newest first).")
class OrderOrder:
    field: OrderSortField = doc("Sort key.", default=OrderSortField.PLACED_AT)
    direction: SortDirection = doc("Direction.", default=SortDirection.DESC)


def order_sort(order_by: OrderOrder | None) -> tuple[str, SortDirection]:
    order_by = order_by or OrderOrder()
    return order_by.field.value, order_by.direction


@strawberry.input(description="Conditions on orders; all given conditions must hold.")
class OrderFilter:
    search: str | None = doc("Text in the order number or external reference.", default=None)
    status: list[OrderStatus] | None = doc("Any of these statuses.", default=None)
    sources: list[OrderSource] | None = doc("Any of these sources.", default=None)
    customer_id: strawberry.ID | None = doc("Placed by this customer.", default=None)
    distributor_id: strawberry.ID | None = doc("Delivered by this distributor.", default=None)
    supplier_id: strawberry.ID | None = doc("With a line fulfilled by this supplier.", default=None)
    currency: str | None = doc("In this currency.", default=None)
    placed: DateTimeRange | None = doc("Placed in this range.", default=None)
    promised: DateRange | None = doc("Promised for a date in this range.", default=None)
    total: DecimalRange | None = doc("Total in this range.", default=None)
    include_archived: bool = doc("Include archived orders.", default=False)


@strawberry.input(description="Conditions on shipments.")
class ShipmentFilter:
    status: list[ShipmentStatus] | None = doc("Any of these statuses.", default=None)
    carrier: str | None = doc("Text in the carrier's name.", default=None)
    tracking_number: str | None = doc("This exact tracking number.", default=None)
    expected: DateTimeRange | None = doc("Expected in this range.", default=None)
    include_archived: bool = doc("Include archived shipments.", default=False)


@strawberry.input(description="A line of a new order.")
class OrderLineInput:
    product_id: strawberry.ID = doc("The product.")
    quantity: Decimal = doc("Quantity (> 0, up to 3 decimals).")
    unit_price: Decimal | None = doc("Price per unit (default: the product's list price).", default=None)
    supplier_id: strawberry.ID | None = doc("The supplier to fulfil it.", default=None)


@strawberry.input(description="Changes to an order line; omitted fields stay as they are.")
class UpdateOrderLineInput:
    product_id: strawberry.ID | None = doc("The product.", default=strawberry.UNSET)
    quantity: Decimal | None = doc("Quantity.", default=strawberry.UNSET)
    unit_price: Decimal | None = doc("Price per unit.", default=strawberry.UNSET)
    supplier_id: strawberry.ID | None = doc("The supplier (null to unassign).", default=strawberry.UNSET)


@strawberry.input(description="A new order with its lines.")
class CreateOrderInput:
    customer_id: strawberry.ID = doc("The customer placing it.")
    lines: list[OrderLineInput] = doc("At least one line (at most 500).")
    distributor_id: strawberry.ID | None = doc("The distributor delivering it.", default=None)
    currency: str | None = doc("Currency (default CNY).", default=None)
    status: OrderStatus | None = doc("DRAFT (default) or SUBMITTED.", default=None)
    requested_date: date | None = doc("Requested delivery date.", default=None)
    promised_date: date | None = doc("Promised delivery date.", default=None)
    source: OrderSource | None = doc("How it reached us (default INTERNAL).", default=None)
    external_reference: str | None = doc("Key in the partner's system.", default=None)
    notes: str | None = doc("Notes.", default=None)


@strawberry.input(description="Changes to an order header; omitted fields stay as they are.")
class UpdateOrderInput:
    status: OrderStatus | None = doc("Next status (only legal transitions).", default=strawberry.UNSET)
    distributor_id: strawberry.ID | None = doc("Distributor (null to unassign).", default=strawberry.UNSET)
    requested_date: date | None = doc("Requested delivery date.", default=strawberry.UNSET)
    promised_date: date | None = doc("Promised delivery date.", default=strawberry.UNSET)
    external_reference: str | None = doc("Key in the partner's system.", default=strawberry.UNSET)
    notes: str | None = doc("Notes.", default=strawberry.UNSET)


@strawberry.input(description="A new shipment for an order.")
class CreateShipmentInput:
    order_id: strawberry.ID = doc("The order shipped.")
    carrier: str = doc("Carrier.")
    tracking_number: str | None = doc("Tracking number.", default=None)
    status: ShipmentStatus | None = doc("Status (default PENDING).", default=None)
    shipped_at: datetime | None = doc("When it left.", default=None)
    expected_at: datetime | None = doc("When it is expected.", default=None)
    delivered_at: datetime | None = doc("When it arrived.", default=None)


@strawberry.input(description="Changes to a shipment; omitted fields stay as they are.")
class UpdateShipmentInput:
    carrier: str | None = doc("Carrier.", default=strawberry.UNSET)
    tracking_number: str | None = doc("Tracking number.", default=strawberry.UNSET)
    status: ShipmentStatus | None = doc("Status.", default=strawberry.UNSET)
    shipped_at: datetime | None = doc("When it left.", default=strawberry.UNSET)
    expected_at: datetime | None = doc("When it is expected.", default=strawberry.UNSET)
    delivered_at: datetime | None = doc("When it arrived.", default=strawberry.UNSET)


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    order: Order | None = doc("The order, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of an order-line mutation.")
class OrderLinePayload:
    line: OrderLine | None = doc("The line, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a shipment mutation.")
class ShipmentPayload:
    shipment: Shipment | None = doc("The shipment, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


_order = payload_runner(OrderPayload, "order", build_order)
_line = payload_runner(OrderLinePayload, "line", build_line)
_shipment = payload_runner(ShipmentPayload, "shipment", build_shipment)


@strawberry.type
class OrderQueries:
    @strawberry.field(description="Orders, filtered and sorted (default: newest first).")
    async def orders(
        self, info: Info,
        filter: OrderFilter | None = None,
        order_by: OrderOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Order]:
        sort, direction = order_sort(order_by)
        return await list_connection(
            info, m.Order, build_order, r.order_filter(filter, freeze(filter)), sort, direction, first, after, last, before,
            include=ORDER_INCLUDES,
        )

    @strawberry.field(description="Shipments, newest first.")
    async def shipments(
        self, info: Info,
        filter: ShipmentFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Shipment]:
        return await list_connection(
            info, m.Shipment, build_shipment, r.shipment_filter(filter, freeze(filter)), "created_at", SortDirection.DESC,
            first, after, last, before,
        )


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Place an order with its lines; the total is computed from the lines.", permission_classes=[allow("orders")])
    async def create_order(self, info: Info, input: CreateOrderInput) -> OrderPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            data = input_values(input)
            data["lines"] = [input_values(line) for line in input.lines]
            return await r.create_order(uow, data)

        return await _order(info, work)

    @strawberry.mutation(description="Change an order header or move it to its next status.", permission_classes=[allow("order_changes")])
    async def update_order(
        self, info: Info, id: strawberry.ID, input: UpdateOrderInput, expected_version: ExpectedVersion = None
    ) -> OrderPayload:
        return await _order(
            info, updating_version(m.Order, "Order", r.update_order, id, expected_version, input_values(input))
        )

    @strawberry.mutation(description="Archive a draft, cancelled, delivered or closed order.", permission_classes=[allow("order_changes")])
    async def archive_order(self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None) -> OrderPayload:
        return await _order(info, updating_version(m.Order, "Order", r.archive_order, id, expected_version))

    @strawberry.mutation(description="Add a line to an order that is not yet in fulfilment.", permission_classes=[allow("order_changes")])
    async def add_order_line(
        self,
        info: Info,
        order_id: Annotated[strawberry.ID, strawberry.argument(description="The order to add the line to.")],
        input: OrderLineInput,
    ) -> OrderLinePayload:
        async def work(uow):  # noqa: ANN001, ANN202
            order = await uow.get(m.Order, order_id, "Order", field_name="orderId")
            return await r.add_order_line(uow, order, input_values(input))

        return await _line(info, work)

    @strawberry.mutation(description="Change an order line; the order total follows.", permission_classes=[allow("order_changes")])
    async def update_order_line(
        self, info: Info, id: strawberry.ID, input: UpdateOrderLineInput, expected_version: ExpectedVersion = None
    ) -> OrderLinePayload:
        return await _line(
            info,
            updating_version(m.OrderLine, "OrderLine", r.update_order_line, id, expected_version, input_values(input)),
        )

    @strawberry.mutation(description="Remove (archive) an order line; the order total follows.", permission_classes=[allow("order_changes")])
    async def archive_order_line(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> OrderLinePayload:
        return await _line(info, updating_version(m.OrderLine, "OrderLine", r.archive_order_line, id, expected_version))

    @strawberry.mutation(description="Record a shipment for a confirmed order.", permission_classes=[allow("shipments")])
    async def create_shipment(self, info: Info, input: CreateShipmentInput) -> ShipmentPayload:
        return await _shipment(info, lambda uow: r.create_shipment(uow, input_values(input)))

    @strawberry.mutation(description="Change a shipment (status, dates, tracking).", permission_classes=[allow("shipments")])
    async def update_shipment(
        self, info: Info, id: strawberry.ID, input: UpdateShipmentInput, expected_version: ExpectedVersion = None
    ) -> ShipmentPayload:
        return await _shipment(
            info, updating_version(m.Shipment, "Shipment", r.update_shipment, id, expected_version, input_values(input))
        )

    @strawberry.mutation(description="Archive a shipment record.", permission_classes=[allow("order_changes")])
    async def archive_shipment(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> ShipmentPayload:
        return await _shipment(info, updating_version(m.Shipment, "Shipment", r.archive_shipment, id, expected_version))

