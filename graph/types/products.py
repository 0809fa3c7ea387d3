"""GraphQL types for products and the suppliers' offers of them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.loaders import NO_FILTER as _NO_FILTER
from graph.models import organizations as om
from graph.models import products as m
from graph.resolvers import orders as orr
from graph.resolvers import products as r
from graph.resolvers import service as sr
from graph.types.common import (
    After,
    Before,
    BuyerPrices,
    Connection,
    DecimalRange,
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
    list_connection,
    load_one,
    money,
    nested_connection,
    payload_runner,
    row_builder,
    updating,
)
from graph.types.refs import EarlyWarningRef, OrderLineRef, OrganizationRef, ServiceRecordRef

ProductStatus = strawberry.enum(m.ProductStatus, description="Whether a product is sold.")


@strawberry.type(description="Something we sell.")
class Product(relay.Node):
    id: relay.NodeID[int]
    sku: str = doc("Stock keeping unit (unique).")
    name: str = doc("Name.")
    description: str | None = doc("Description.")
    unit: str = doc("Unit of measure, e.g. pcs, kg, m.")
    status: ProductStatus = doc("Active or discontinued.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    list_price_amount: strawberry.Private[Decimal]
    cost_amount: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]

    @strawberry.field(
        description="List price per unit. For internal users and customers only.", permission_classes=[BuyerPrices]
    )
    def list_price(self) -> Money | None:
        return Money(amount=self.list_price_amount, currency=self.currency)

    @internal("Our cost per unit. Internal only.")
    def cost(self) -> Money | None:
        return money(self.cost_amount, self.currency)

    @strawberry.field(description="Suppliers of this product with their price and lead time.")
    async def supplies(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[Supply]:
        return await nested_connection(
            info, r.SUPPLIES_OF_PRODUCT, self.id, build_supply, _NO_FILTER, "id", SortDirection.ASC,
            first, after, None, None,
        )

    @strawberry.field(description="Order lines for this product, newest first.")
    async def order_lines(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[OrderLineRef]:
        from graph.types.orders import build_line

        return await nested_connection(
            info, orr.LINES_OF_PRODUCT, self.id, build_line, _NO_FILTER, "id", SortDirection.DESC,
            first, after, None, None,
        )

    @strawberry.field(description="Service records (e.g. quality objections) about this product, newest first.")
    async def service_records(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[ServiceRecordRef]:
        from graph.types.service import build_service_record

        return await nested_connection(
            info, sr.RECORDS_OF_PRODUCT, self.id, build_service_record, sr.service_record_filter(None, None),
            "opened_at", SortDirection.DESC, first, after, None, None,
        )

    @strawberry.field(description="Early warnings about this product (product quality), newest first. Internal only.")
    async def warnings(
        self, info: Info,
        filter: Annotated["WarningFilter", strawberry.lazy("graph.types.early_warnings")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[EarlyWarningRef]:
        from graph.resolvers import early_warnings as wr
        from graph.types.early_warnings import warnings_connection

        return await warnings_connection(info, wr.WARNINGS_OF_PRODUCT, self.id, filter, first, after)


build_product = row_builder(
    Product, renames={"list_price_amount": "list_price", "cost_amount": "cost"}
)


@strawberry.type(description="A supplier's offer of a product: its price to us and its lead time.")
class Supply(relay.Node):
    id: relay.NodeID[int]
    supplier_sku: str | None = doc("The supplier's own code for the product.")
    lead_time_days: int = doc("Days from order to dispatch.")
    is_preferred: bool = doc("Our preferred supplier for this product.")
    price_amount: strawberry.Private[Decimal]
    currency: strawberry.Private[str]
    supplier_id: strawberry.Private[int]
    product_id: strawberry.Private[int]

    @strawberry.field(description="The supplier's price per unit.")
    def price(self) -> Money:
        return Money(amount=self.price_amount, currency=self.currency)

    @strawberry.field(description="The supplier.")
    async def supplier(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.supplier_id, build_organization)

    @strawberry.field(description="The product.")
    async def product(self, info: Info) -> Product | None:
        return await load_one(info, m.Product, self.product_id, build_product)


build_supply = row_builder(Supply, renames={"price_amount": "price"})


@strawberry.enum(description="Orders products can be sorted by.")
class ProductSortField(enum.Enum):
    NAME = "name"
    SKU = "sku"
    LIST_PRICE = "list_price"
    CREATED_AT = "created_at"


@strawberry.input(description="Sort order for products.")
class ProductOrder:
    field: ProductSortField = doc("Sort key.", default=ProductSortField.NAME)
    direction: SortDirection = doc("Direction.", default=SortDirection.ASC)


@strawberry.input(description="Conditions on products.")
class ProductFilter:
    search: str | None = doc("Text in the name or SKU.", default=None)
    status: list[ProductStatus] | None = doc("Any of these statuses.", default=None)
    supplier_id: strawberry.ID | None = doc("Supplied by this organization.", default=None)
    list_price: DecimalRange | None = doc("List price in this range.", default=None)
    include_archived: bool = doc("Include archived products.", default=False)


@strawberry.input(description="A new product.")
class CreateProductInput:
    sku: str = doc("SKU (unique).")
    name: str = doc("Name.")
    list_price: Decimal = doc("List price per unit.")
    unit: str | None = doc("Unit of measure (default pcs).", default=None)
    description: str | None = doc("Description.", default=None)
    cost: Decimal | None = doc("Our cost per unit.", default=None)
    currency: str | None = doc("Currency (default CNY).", default=None)


@strawberry.input(description="Changes to a product; omitted fields stay as they are.")
class UpdateProductInput:
    sku: str | None = doc("SKU.", default=strawberry.UNSET)
    name: str | None = doc("Name.", default=strawberry.UNSET)
    list_price: Decimal | None = doc("List price.", default=strawberry.UNSET)
    unit: str | None = doc("Unit of measure.", default=strawberry.UNSET)
    description: str | None = doc("Description.", default=strawberry.UNSET)
    cost: Decimal | None = doc("Our cost.", default=strawberry.UNSET)
    currency: str | None = doc("Currency.", default=strawberry.UNSET)
    status: ProductStatus | None = doc("Status.", default=strawberry.UNSET)


@strawberry.input(description="A supplier's offer of a product (created or replaced).")
class SetSupplyInput:
    supplier_id: strawberry.ID = doc("The supplier.")
    product_id: strawberry.ID = doc("The product.")
    price: Decimal = doc("The supplier's price per unit.")
    lead_time_days: int = doc("Days from order to dispatch.")
    currency: str | None = doc("Currency (default: the product's).", default=None)
    supplier_sku: str | None = doc("The supplier's code.", default=None)
    is_preferred: bool | None = doc("Preferred supplier for the product.", default=None)


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    product: Product | None = doc("The product, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a supply mutation.")
class SupplyPayload:
    supply: Supply | None = doc("The offer, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


_product = payload_runner(ProductPayload, "product", build_product)
_supply = payload_runner(SupplyPayload, "supply", build_supply)


@strawberry.type
class ProductQueries:
    @strawberry.field(description="Products, filtered and sorted.")
    async def products(
        self, info: Info,
        filter: ProductFilter | None = None,
        order_by: ProductOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        order_by = order_by or ProductOrder()
        return await list_connection(
            info, m.Product, build_product, r.product_filter(filter, freeze(filter)), order_by.field.value,
            order_by.direction, first, after, last, before,
        )


@strawberry.type
class ProductMutations:
    @strawberry.mutation(description="Add a product.", permission_classes=[allow("catalogue")])
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload:
        return await _product(info, lambda uow: r.create_product(uow, input_values(input)))

    @strawberry.mutation(description="Change a product.", permission_classes=[allow("catalogue")])
    async def update_product(self, info: Info, id: strawberry.ID, input: UpdateProductInput) -> ProductPayload:
        return await _product(info, updating(m.Product, "Product", r.update_product, id, input_values(input)))

    @strawberry.mutation(description="Archive (discontinue) a product.", permission_classes=[allow("catalogue")])
    async def archive_product(self, info: Info, id: strawberry.ID) -> ProductPayload:
        return await _product(info, updating(m.Product, "Product", r.archive_product, id))

    @strawberry.mutation(description="Record or change a supplier's offer of a product.", permission_classes=[allow("catalogue")])
    async def set_supply(self, info: Info, input: SetSupplyInput) -> SupplyPayload:
        return await _supply(info, lambda uow: r.set_supplier_product(uow, input_values(input)))

    @strawberry.mutation(description="Archive a supplier's offer (the supplier no longer supplies it).", permission_classes=[allow("catalogue")])
    async def archive_supply(self, info: Info, id: strawberry.ID) -> SupplyPayload:
        return await _supply(info, updating(m.SupplierProduct, "Supply", r.archive_supplier_product, id))

