"""GraphQL types for organizations: customers, suppliers and distributors in one record."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.loaders import NO_FILTER, Relation
from graph.models import organizations as m
from graph.models import people as pm
from graph.models import products as prm
from graph.pagination import Include
from graph.resolvers import interactions as ir
from graph.resolvers import orders as orr
from graph.resolvers import organizations as r
from graph.resolvers import people as pr
from graph.resolvers import products as prr
from graph.resolvers import service as sr
from graph.resolvers.contracts import CONTRACTS_OF_ORGANIZATION, contract_filter
from graph.types import relationship as relationship_fields
from graph.types.common import (
    After,
    Before,
    Connection,
    DateTimeRange,
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
from graph.types.refs import (
    ContactRef,
    ContractRef,
    EarlyWarningRef,
    InteractionRef,
    OrderLineRef,
    OrderRef,
    ServiceRecordRef,
    ShipmentRef,
    SupplyRef,
    UserRef,
)

# A quality objection's product, read with the service records when selected.
RECORD_INCLUDES = (Include("product", prm.Product, sr.RECORD.c.product_id),)

OrganizationStatus = strawberry.enum(m.OrganizationStatus, description="Whether we do business with it.")
OrganizationRole = strawberry.enum(m.OrganizationRole, description="A part an organization plays in our chain.")
CustomerTier = strawberry.enum(m.CustomerTier, description="A customer's tier in the value pyramid.")
CreditStanding = strawberry.enum(m.CreditStanding, description="Our judgement of a customer's credit.")
AddressKind = strawberry.enum(m.AddressKind, description="What an address is used for.")


@strawberry.type(description="A postal address of an organization.")
class Address:
    kind: AddressKind = doc("Registered office, shipping or billing.")
    line1: str = doc("Street and number.")
    line2: str | None = doc("Building, floor, unit.")
    city: str | None = doc("City.")
    province: str | None = doc("Province or state.")
    postal_code: str | None = doc("Postal code.")
    country: str = doc("ISO 3166 two-letter country code.")


build_address = row_builder(Address)


@strawberry.enum(description="Orders organizations can be sorted by.")
class OrganizationSortField(enum.Enum):
    NAME = "name"
    CREATED_AT = "created_at"


@strawberry.input(description="Sort order for organizations.")
class OrganizationOrder:
    field: OrganizationSortField = doc("Sort key.", default=OrganizationSortField.NAME)
    direction: SortDirection = doc("Direction.", default=SortDirection.ASC)


@strawberry.input(description="Conditions on organizations; all given conditions must hold.")
class OrganizationFilter:
    search: str | None = doc("Case-insensitive text in the name or legal name.", default=None)
    roles: list[OrganizationRole] | None = doc("Holding any of these roles.", default=None)
    status: list[OrganizationStatus] | None = doc("In any of these statuses.", default=None)
    regions: list[str] | None = doc("In any of these regions.", default=None)
    tiers: list[CustomerTier] | None = doc("In any of these tiers (internal users only).", default=None)
    created: DateTimeRange | None = doc("Created in this range.", default=None)
    include_archived: bool = doc("Include archived organizations.", default=False)


def _order_connection(relation: Relation, description: str):  # noqa: ANN202
    """One of an organization's order lists (as customer, distributor or supplier)."""

    async def resolve(
        self,  # noqa: ANN001
        info: Info,
        filter: Annotated["OrderFilter", strawberry.lazy("graph.types.orders")] | None = None,
        order_by: Annotated["OrderOrder", strawberry.lazy("graph.types.orders")] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[OrderRef]:
        from graph.types.orders import build_order, order_sort

        sort, direction = order_sort(order_by)
        return await nested_connection(
            info, relation, self.id, build_order, orr.order_filter(filter, freeze(filter)),
            sort, direction, first, after, last, before,
        )

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="A company we deal with. One record may be customer, supplier and distributor at once.")
class Organization(relay.Node):
    id: relay.NodeID[int]
    name: str = doc("Trading name.")
    legal_name: str | None = doc("Registered legal name.")
    registration_number: str | None = doc("Business licence / company registration number.")
    tax_id: str | None = doc("Tax identification number.")
    phone: str | None = doc("Main phone number.")
    fax: str | None = doc("Fax number.")
    email: str | None = doc("Main email address.")
    website: str | None = doc("Web site.")
    region: str | None = doc("Sales region.")
    status: OrganizationStatus = doc("Active, suspended or archived.")
    created_at: datetime = doc("When the record was created (UTC).")
    updated_at: datetime = doc("When the record last changed (UTC).")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    is_customer: strawberry.Private[bool]
    is_supplier: strawberry.Private[bool]
    is_distributor: strawberry.Private[bool]
    credit_limit_amount: strawberry.Private[Decimal | None]
    credit_currency: strawberry.Private[str]
    tier: CustomerTier | None = internal("Customer tier (strategic, key, general, potential). Internal only.")
    credit_standing: CreditStanding | None = internal("Our view of its credit standing. Internal only.")
    internal_notes: str | None = internal("Notes for our staff only.")

    @strawberry.field(description="The roles this organization holds.")
    def roles(self) -> list[OrganizationRole]:
        return m.roles_of(self)

    @internal("Credit limit we grant. Internal only.")
    def credit_limit(self) -> Money | None:
        return money(self.credit_limit_amount, self.credit_currency)

    @strawberry.field(description="Registered, shipping and billing addresses (at most one of each).")
    async def addresses(self, info: Info) -> list[Address]:
        loader = info.context.loaders.custom("addresses", lambda ids: r.addresses_of(info.context.reader, ids))
        return [build_address(row) for row in await loader.load(self.id)]

    @internal("The sales rep who owns this account now. Internal only.")
    async def owner(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        loader = info.context.loaders.custom("owner", lambda ids: r.current_owner_ids(info.context.reader, ids))
        return await load_one(info, pm.User, await loader.load(self.id), build_user)

    @internal("Who owned this account, newest first: the history that keeps the account with the company.")
    async def owner_history(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[Annotated["AccountOwnership", strawberry.lazy("graph.types.people")]]:
        from graph.types.people import build_ownership

        return await nested_connection(
            info, pr.OWNERSHIP_OF_ORGANIZATION, self.id, build_ownership, NO_FILTER, "started_at",
            SortDirection.DESC, first, after, None, None,
        )

    @strawberry.field(description="People we talk to at this organization.")
    async def contacts(
        self, info: Info,
        filter: Annotated["ContactFilter", strawberry.lazy("graph.types.people")] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ContactRef]:
        from graph.types.people import build_contact

        return await nested_connection(
            info, pr.CONTACTS_OF_ORGANIZATION, self.id, build_contact, pr.contact_filter(filter, freeze(filter)),
            "name", SortDirection.ASC, first, after, last, before,
        )

    @strawberry.field(description="Contracts between us and this organization, newest first.")
    async def contracts(
        self, info: Info,
        filter: Annotated["ContractFilter", strawberry.lazy("graph.types.contracts")] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ContractRef]:
        from graph.types.contracts import build_contract

        return await nested_connection(
            info, CONTRACTS_OF_ORGANIZATION, self.id, build_contract, contract_filter(filter, freeze(filter)),
            "valid_from", SortDirection.DESC, first, after, last, before,
        )

    orders = _order_connection(orr.ORDERS_OF_CUSTOMER, "Orders this organization placed as a customer.")
    delivered_orders = _order_connection(
        orr.ORDERS_OF_DISTRIBUTOR, "Orders this organization delivers as a distributor."
    )
    supplied_orders = _order_connection(
        orr.ORDERS_OF_SUPPLIER, "Orders with at least one line this organization fulfils as a supplier."
    )

    @strawberry.field(description="Order lines this organization fulfils as a supplier, newest first.")
    async def fulfilled_order_lines(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[OrderLineRef]:
        from graph.types.orders import build_line

        return await nested_connection(
            info, orr.LINES_OF_SUPPLIER, self.id, build_line, NO_FILTER, "id", SortDirection.DESC,
            first, after, None, None,
        )

    @strawberry.field(description="Products this organization supplies, with its price and lead time.")
    async def supplied_products(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[SupplyRef]:
        from graph.types.products import build_supply

        return await nested_connection(
            info, prr.SUPPLIES_OF_SUPPLIER, self.id, build_supply, NO_FILTER, "id", SortDirection.ASC,
            first, after, None, None,
        )

    @strawberry.field(description="Customers this organization serves as a distributor.")
    async def served_customers(
        self, info: Info,
        filter: OrganizationFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Organization]:
        return await nested_connection(
            info, r.SERVED_CUSTOMERS, self.id, build_organization, r.organization_filter(filter, freeze(filter)),
            "name", SortDirection.ASC, first, after, None, None,
        )

    @strawberry.field(description="Distributors that serve this customer.")
    async def distributors(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[Organization]:
        return await nested_connection(
            info, r.DISTRIBUTORS_OF_CUSTOMER, self.id, build_organization, r.organization_filter(None, None),
            "name", SortDirection.ASC, first, after, None, None,
        )

    @strawberry.field(description="Shipments of this customer's orders, newest first.")
    async def shipments(
        self, info: Info,
        filter: Annotated["ShipmentFilter", strawberry.lazy("graph.types.orders")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[ShipmentRef]:
        from graph.types.orders import build_shipment

        return await nested_connection(
            info, orr.SHIPMENTS_OF_CUSTOMER, self.id, build_shipment, orr.shipment_filter(filter, freeze(filter)),
            "created_at", SortDirection.DESC, first, after, None, None,
        )

    @strawberry.field(
        description="Everything that happened with this organization: service requests, complaints, "
        "quality objections, visits and survey responses, newest first."
    )
    async def service_records(
        self, info: Info,
        filter: Annotated["ServiceRecordFilter", strawberry.lazy("graph.types.service")] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ServiceRecordRef]:
        from graph.types.service import build_service_record

        return await nested_connection(
            info, sr.RECORDS_OF_ORGANIZATION, self.id, build_service_record,
            sr.service_record_filter(filter, freeze(filter)), "opened_at", SortDirection.DESC,
            first, after, last, before, include=RECORD_INCLUDES,
        )

    # CRM relationship (graph/types/relationship.py), internal only.
    satisfaction = relationship_fields.satisfaction_field
    opportunities = relationship_fields.opportunities_field
    recommended_products = relationship_fields.recommended_products_field

    @strawberry.field(description="Calls, emails, faxes, messages and meetings with this organization, newest first.")
    async def interactions(
        self, info: Info,
        filter: Annotated["InteractionFilter", strawberry.lazy("graph.types.interactions")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[InteractionRef]:
        from graph.types.interactions import build_interaction

        return await nested_connection(
            info, ir.INTERACTIONS_OF_ORGANIZATION, self.id, build_interaction,
            ir.interaction_filter(filter, freeze(filter)), "occurred_at", SortDirection.DESC,
            first, after, None, None,
        )

    @strawberry.field(
        description="Early warnings concerning it, newest first: as the customer, or (concerning: SUPPLIER; the "
        "default for a non-customer) as the supplier named by product-quality warnings. Internal only."
    )
    async def warnings(
        self, info: Info,
        concerning: Annotated[
            Annotated["WarningParty", strawberry.lazy("graph.types.early_warnings")] | None,
            strawberry.argument(description="As the customer or as the supplier (default: by its roles)."),
        ] = None,
        filter: Annotated["WarningFilter", strawberry.lazy("graph.types.early_warnings")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[EarlyWarningRef]:
        from graph.resolvers import early_warnings as wr
        from graph.types.early_warnings import WarningParty, warnings_connection

        as_supplier = concerning is WarningParty.SUPPLIER or (concerning is None and not self.is_customer)
        relation = wr.WARNINGS_OF_SUPPLIER if as_supplier else wr.WARNINGS_OF_CUSTOMER
        return await warnings_connection(info, relation, self.id, filter, first, after)

    @internal(
        "CRM figures of this customer as of a moment (default now): revenue and margin, RFM, churn risk, "
        "lifetime value, lifecycle stage. Null for non-customers. Internal only."
    )
    async def insights(
        self, info: Info,
        as_of: Annotated[datetime | None, strawberry.argument(description="The moment the figures are taken at (default now).")] = None,
    ) -> Annotated["CustomerInsights", strawberry.lazy("graph.types.crm")] | None:
        from graph.types.crm import organization_insights

        return await organization_insights(info, self.id, self.is_customer, as_of)

    @internal("Revenue, cost and margin per period (default: from the same month last year to today). Internal only.")
    async def revenue_by_period(
        self, info: Info,
        grain: Annotated[
            Annotated["PeriodGrain", strawberry.lazy("graph.types.crm")] | None,
            strawberry.argument(description="MONTH (default), QUARTER or YEAR."),
        ] = None,
        from_: Annotated[date | None, strawberry.argument(name="from", description="First day (UTC).")] = None,
        to: Annotated[date | None, strawberry.argument(description="Last day (UTC), inclusive.")] = None,
    ) -> list[Annotated["PeriodRevenue", strawberry.lazy("graph.types.crm")]]:
        from graph.types.crm import revenue_by_period_of

        return await revenue_by_period_of(info, self.id, grain, from_, to)

    @internal("Tier changes of this customer with date, reason and approver, newest first. Internal only.")
    async def tier_history(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Annotated["TierChange", strawberry.lazy("graph.types.crm")]]:
        from graph.types.crm import tier_history_connection

        return await tier_history_connection(info, self.id, first, after)

    @internal("Lifecycle-stage changes of this customer, newest first. Internal only.")
    async def lifecycle_history(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Annotated["LifecycleChange", strawberry.lazy("graph.types.crm")]]:
        from graph.types.crm import lifecycle_history_connection

        return await lifecycle_history_connection(info, self.id, first, after)

    @internal("Visits planned to this customer, latest planned day first. Internal only.")
    async def visit_plans(
        self, info: Info,
        filter: Annotated["VisitPlanFilter", strawberry.lazy("graph.types.crm")] | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Annotated["VisitPlan", strawberry.lazy("graph.types.crm")]]:
        from graph.types.crm import visit_plans_connection

        return await visit_plans_connection(info, self.id, filter, first, after)


build_organization = row_builder(Organization, renames={"credit_limit_amount": "credit_limit"})


# -- inputs and mutations -------------------------------------------------------------


@strawberry.input(description="An address to set; one per kind.")
class AddressInput:
    kind: AddressKind = doc("Which address this is.")
    line1: str = doc("Street and number.")
    line2: str | None = doc("Building, floor, unit.", default=None)
    city: str | None = doc("City.", default=None)
    province: str | None = doc("Province or state.", default=None)
    postal_code: str | None = doc("Postal code.", default=None)
    country: str | None = doc("ISO 3166 two-letter code (default CN).", default=None)


@strawberry.input(description="A new organization.")
class CreateOrganizationInput:
    name: str = doc("Trading name.")
    roles: list[OrganizationRole] = doc("At least one role.")
    legal_name: str | None = doc("Registered legal name.", default=None)
    registration_number: str | None = doc("Business licence number (unique).", default=None)
    tax_id: str | None = doc("Tax id.", default=None)
    phone: str | None = doc("Phone.", default=None)
    fax: str | None = doc("Fax.", default=None)
    email: str | None = doc("Email.", default=None)
    website: str | None = doc("Web site.", default=None)
    region: str | None = doc("Sales region.", default=None)
    tier: CustomerTier | None = doc("Initial tier.", default=None)
    credit_limit: Decimal | None = doc("Credit limit.", default=None)
    credit_currency: str | None = doc("Currency of the credit limit (default CNY).", default=None)
    credit_standing: CreditStanding | None = doc("Credit standing.", default=None)
    internal_notes: str | None = doc("Internal notes.", default=None)
    addresses: list[AddressInput] | None = doc("Addresses, one per kind.", default=None)


@strawberry.input(description="Changes to an organization; omitted fields stay as they are.")
class UpdateOrganizationInput:
    name: str | None = doc("Trading name.", default=strawberry.UNSET)
    roles: list[OrganizationRole] | None = doc("Replaces the roles (at least one).", default=strawberry.UNSET)
    legal_name: str | None = doc("Registered legal name.", default=strawberry.UNSET)
    registration_number: str | None = doc("Business licence number.", default=strawberry.UNSET)
    tax_id: str | None = doc("Tax id.", default=strawberry.UNSET)
    phone: str | None = doc("Phone.", default=strawberry.UNSET)
    fax: str | None = doc("Fax.", default=strawberry.UNSET)
    email: str | None = doc("Email.", default=strawberry.UNSET)
    website: str | None = doc("Web site.", default=strawberry.UNSET)
    region: str | None = doc("Sales region.", default=strawberry.UNSET)
    status: OrganizationStatus | None = doc("ACTIVE or SUSPENDED.", default=strawberry.UNSET)
    tier: CustomerTier | None = doc("Tier.", default=strawberry.UNSET)
    credit_limit: Decimal | None = doc("Credit limit.", default=strawberry.UNSET)
    credit_currency: str | None = doc("Currency of the credit limit.", default=strawberry.UNSET)
    credit_standing: CreditStanding | None = doc("Credit standing.", default=strawberry.UNSET)
    internal_notes: str | None = doc("Internal notes.", default=strawberry.UNSET)
    addresses: list[AddressInput] | None = doc("Addresses to set (others are kept).", default=strawberry.UNSET)


@strawberry.type(description="The result of an organization mutation.")
class OrganizationPayload:
    organization: Organization | None = doc("The organization, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.input(description="Whether a distributor serves a customer.")
class DistributorCoverageInput:
    distributor_id: strawberry.ID = doc("The distributor.")
    customer_id: strawberry.ID = doc("The customer.")
    serves: bool = doc("True to start serving, false to stop.", default=True)
    region: str | None = doc("Region the coverage applies to.", default=None)


_organization_payload = payload_runner(OrganizationPayload, "organization", build_organization)


@strawberry.type
class OrganizationQueries:
    @strawberry.field(description="Customers, suppliers and distributors, filtered and sorted.")
    async def organizations(
        self, info: Info,
        filter: OrganizationFilter | None = None,
        order_by: OrganizationOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Organization]:
        order_by = order_by or OrganizationOrder()
        return await list_connection(
            info, m.Organization, build_organization, r.organization_filter(filter, freeze(filter)),
            order_by.field.value, order_by.direction, first, after, last, before,
        )


@strawberry.type
class OrganizationMutations:
    @strawberry.mutation(description="Register an organization with one or more roles.", permission_classes=[allow("records")])
    async def create_organization(self, info: Info, input: CreateOrganizationInput) -> OrganizationPayload:
        return await _organization_payload(info, lambda uow: r.create_organization(uow, input_values(input)))

    @strawberry.mutation(description="Change an organization's details, roles or addresses.", permission_classes=[allow("records")])
    async def update_organization(
        self, info: Info, id: strawberry.ID, input: UpdateOrganizationInput
    ) -> OrganizationPayload:
        return await _organization_payload(
            info, updating(m.Organization, "Organization", r.update_organization, id, input_values(input))
        )

    @strawberry.mutation(description="Archive an organization (its history is kept).", permission_classes=[allow("records")])
    async def archive_organization(self, info: Info, id: strawberry.ID) -> OrganizationPayload:
        return await _organization_payload(
            info, updating(m.Organization, "Organization", r.archive_organization, id)
        )

    @strawberry.mutation(description="Start or stop a distributor serving a customer; returns the distributor.", permission_classes=[allow("records")])
    async def set_distributor_coverage(self, info: Info, input: DistributorCoverageInput) -> OrganizationPayload:
        from graph.errors import ErrorCollector
        from graph.resolvers import validation as check

        async def work(uow):  # noqa: ANN001, ANN202
            errors = ErrorCollector()
            distributor = await check.reference(
                uow, errors, "distributorId", input.distributor_id, m.Organization, "Organization",
                check=lambda o: None if o.is_distributor else "This organization does not hold the distributor role.",
            )
            customer = await check.reference(
                uow, errors, "customerId", input.customer_id, m.Organization, "Organization",
                check=lambda o: None if o.is_customer else "This organization does not hold the customer role.",
            )
            check.text(errors, "region", input.region, max_length=100)
            errors.raise_if_any()
            await r.set_distributor_coverage(uow, distributor, customer, input.region, input.serves)
            return distributor

        return await _organization_payload(info, work)

