"""GraphQL types for service records. One interface, five kinds, one table underneath,
so "everything that happened with this customer" is a single connection."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.models import orders as om
from graph.models import organizations as orgm
from graph.models import people as pm
from graph.models import products as prm
from graph.models import service as m
from graph.resolvers import service as r
from graph.types.common import (
    After,
    Before,
    BuyerPrices,
    Connection,
    DateTimeRange,
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
    list_connection,
    load_one,
    money,
    payload_runner,
    row_builder,
    updating_version,
)
from graph.types.refs import ContactRef, OrderLineRef, OrderRef, OrganizationRef, ProductRef, UserRef

ServiceRecordKind = strawberry.enum(m.ServiceRecordKind, description="The kind of a service record.")
ServiceStatus = strawberry.enum(m.ServiceStatus, description="Where a service record stands.")
Severity = strawberry.enum(m.Severity, description="How serious a complaint or objection is.")


@strawberry.interface(description="Anything that happened in serving a customer; all kinds share these fields.")
class ServiceRecord(relay.Node):
    id: relay.NodeID[int]
    kind: ServiceRecordKind = doc("Which kind of record this is.")
    title: str = doc("Short title.")
    description: str | None = doc("What was reported or asked.")
    status: ServiceStatus = doc("Open, in progress, resolved, closed or cancelled.")
    opened_at: datetime = doc("When it was opened.")
    closed_at: datetime | None = doc("When it was resolved, closed or cancelled.")
    resolution: str | None = doc("How it was resolved.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    organization_id: strawberry.Private[int]
    contact_id: strawberry.Private[int | None]
    assignee_id: strawberry.Private[int | None]
    order_id: strawberry.Private[int | None]

    @strawberry.field(description="The customer (or partner) concerned.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, orgm.Organization, self.organization_id, build_organization)

    @strawberry.field(description="The contact who raised it or was met.")
    async def contact(self, info: Info) -> ContactRef | None:
        from graph.types.people import build_contact

        return await load_one(info, pm.Contact, self.contact_id, build_contact)

    @strawberry.field(description="Our staff member handling it.")
    async def assignee(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, pm.User, self.assignee_id, build_user)

    @strawberry.field(description="The order it concerns, if any.")
    async def order(self, info: Info) -> OrderRef | None:
        from graph.types.orders import build_order

        return await load_one(info, om.Order, self.order_id, build_order)


@strawberry.type(description="A request for service: what was asked, what was done, what it cost.")
class ServiceRequest(ServiceRecord):
    cost_amount: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]

    @internal("What serving the request cost us. Internal only.")
    def cost(self) -> Money | None:
        return money(self.cost_amount, self.currency)


@strawberry.type(description="A customer's complaint, graded by severity, compensated where due.")
class Complaint(ServiceRecord):
    severity: Severity | None = doc("How serious it is.")
    evidence_links: list[str] | None = doc("Links to photos and documents.")
    order_line_id: strawberry.Private[int | None]
    compensation_amount: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]

    @strawberry.field(description="Compensation granted to the customer.", permission_classes=[BuyerPrices])
    def compensation(self) -> Money | None:
        return money(self.compensation_amount, self.currency)

    @strawberry.field(description="The order line complained about, if the complaint names one.")
    async def order_line(self, info: Info) -> OrderLineRef | None:
        from graph.types.orders import build_line

        return await load_one(info, om.OrderLine, self.order_line_id, build_line)


@strawberry.type(description="An objection to the quality of delivered goods, tied to an order line or product.")
class QualityObjection(ServiceRecord):
    severity: Severity | None = doc("How serious it is.")
    evidence_links: list[str] | None = doc("Links to photos and test reports.")
    order_line_id: strawberry.Private[int | None]
    product_id: strawberry.Private[int | None]
    compensation_amount: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]

    @strawberry.field(description="Compensation granted to the customer.", permission_classes=[BuyerPrices])
    def compensation(self) -> Money | None:
        return money(self.compensation_amount, self.currency)

    @strawberry.field(description="The order line objected to.")
    async def order_line(self, info: Info) -> OrderLineRef | None:
        from graph.types.orders import build_line

        return await load_one(info, om.OrderLine, self.order_line_id, build_line)

    @strawberry.field(description="The product objected to.")
    async def product(self, info: Info) -> ProductRef | None:
        from graph.types.products import build_product

        return await load_one(info, prm.Product, self.product_id, build_product)


@strawberry.type(description="A visit to a customer: planned, prepared, done, with the customer's feedback.")
class Visit(ServiceRecord):
    planned_at: datetime | None = doc("When the visit is planned.")
    done_at: datetime | None = doc("When it took place.")
    purpose: str | None = doc("What to tell or ask the customer.")
    feedback: str | None = doc("What the customer said.")


@strawberry.type(description="A response to a satisfaction survey.")
class SatisfactionSurvey(ServiceRecord):
    score: int | None = doc("Score from 0 (worst) to 10 (best).")
    comments: str | None = doc("The customer's comments.")
    campaign_id: strawberry.Private[int | None]

    @strawberry.field(description="The survey campaign this response answers, if any (internal users only).")
    async def campaign(
        self, info: Info
    ) -> Annotated["SurveyCampaign", strawberry.lazy("graph.types.relationship")] | None:
        from graph.models.relationship import SurveyCampaign as CampaignRecord
        from graph.types.relationship import build_campaign

        return await load_one(info, CampaignRecord, self.campaign_id, build_campaign)


_KIND_BUILDERS = {
    m.ServiceRecordKind.SERVICE_REQUEST: row_builder(ServiceRequest, renames={"cost_amount": "cost"}),
    m.ServiceRecordKind.COMPLAINT: row_builder(Complaint, renames={"compensation_amount": "compensation"}),
    m.ServiceRecordKind.QUALITY_OBJECTION: row_builder(
        QualityObjection, renames={"compensation_amount": "compensation"}
    ),
    m.ServiceRecordKind.VISIT: row_builder(Visit),
    m.ServiceRecordKind.SATISFACTION_SURVEY: row_builder(SatisfactionSurvey),
}
CONCRETE_TYPES = (ServiceRequest, Complaint, QualityObjection, Visit, SatisfactionSurvey)


def build_service_record(row) -> ServiceRecord:  # noqa: ANN001
    return _KIND_BUILDERS[row.kind](row)


@strawberry.input(description="Conditions on service records; all given conditions must hold.")
class ServiceRecordFilter:
    kinds: list[ServiceRecordKind] | None = doc("Any of these kinds.", default=None)
    status: list[ServiceStatus] | None = doc("Any of these statuses.", default=None)
    open: bool | None = doc("Only open/in-progress (true) or finished (false) records.", default=None)
    severities: list[Severity] | None = doc("Any of these severities.", default=None)
    search: str | None = doc("Text in the title.", default=None)
    organization_id: strawberry.ID | None = doc("About this organization.", default=None)
    order_id: strawberry.ID | None = doc("About this order.", default=None)
    product_id: strawberry.ID | None = doc("About this product.", default=None)
    assignee_id: strawberry.ID | None = doc("Assigned to this user.", default=None)
    opened: DateTimeRange | None = doc("Opened in this range.", default=None)
    include_archived: bool = doc("Include archived records.", default=False)


@strawberry.input(description="A new service record of any kind; which fields apply depends on the kind.")
class CreateServiceRecordInput:
    organization_id: strawberry.ID = doc("The customer (or partner) concerned.")
    title: str = doc("Short title.")
    description: str | None = doc("What was reported or asked.", default=None)
    contact_id: strawberry.ID | None = doc("The contact involved.", default=None)
    order_id: strawberry.ID | None = doc("The order concerned.", default=None)
    order_line_id: strawberry.ID | None = doc("The order line concerned (quality objections).", default=None)
    product_id: strawberry.ID | None = doc("The product concerned.", default=None)
    assignee_id: strawberry.ID | None = doc("Who handles it.", default=None)
    status: ServiceStatus | None = doc("Status (default OPEN).", default=None)
    severity: Severity | None = doc("Severity (required for quality objections).", default=None)
    evidence_links: list[str] | None = doc("Links to photos and documents.", default=None)
    resolution: str | None = doc("How it was resolved.", default=None)
    cost: Decimal | None = doc("What it cost us (service requests).", default=None)
    compensation: Decimal | None = doc("Compensation granted.", default=None)
    currency: str | None = doc("Currency of cost and compensation (default CNY).", default=None)
    planned_at: datetime | None = doc("Planned time (visits, required).", default=None)
    done_at: datetime | None = doc("When the visit took place.", default=None)
    purpose: str | None = doc("Purpose of the visit.", default=None)
    feedback: str | None = doc("Feedback from the visit.", default=None)
    score: int | None = doc("Survey score 0–10 (surveys, required).", default=None)
    comments: str | None = doc("Survey comments.", default=None)


@strawberry.input(description="Changes to a service record; omitted fields stay as they are.")
class UpdateServiceRecordInput:
    title: str | None = doc("Short title.", default=strawberry.UNSET)
    description: str | None = doc("Description.", default=strawberry.UNSET)
    contact_id: strawberry.ID | None = doc("Contact.", default=strawberry.UNSET)
    order_id: strawberry.ID | None = doc("Order.", default=strawberry.UNSET)
    order_line_id: strawberry.ID | None = doc("Order line.", default=strawberry.UNSET)
    product_id: strawberry.ID | None = doc("Product.", default=strawberry.UNSET)
    assignee_id: strawberry.ID | None = doc("Assignee.", default=strawberry.UNSET)
    status: ServiceStatus | None = doc("Status; RESOLVED and CLOSED need a resolution.", default=strawberry.UNSET)
    severity: Severity | None = doc("Severity.", default=strawberry.UNSET)
    evidence_links: list[str] | None = doc("Evidence links (replaces the list).", default=strawberry.UNSET)
    resolution: str | None = doc("Resolution.", default=strawberry.UNSET)
    cost: Decimal | None = doc("Cost.", default=strawberry.UNSET)
    compensation: Decimal | None = doc("Compensation.", default=strawberry.UNSET)
    currency: str | None = doc("Currency.", default=strawberry.UNSET)
    planned_at: datetime | None = doc("Planned time.", default=strawberry.UNSET)
    done_at: datetime | None = doc("Time done.", default=strawberry.UNSET)
    purpose: str | None = doc("Purpose.", default=strawberry.UNSET)
    feedback: str | None = doc("Feedback.", default=strawberry.UNSET)
    score: int | None = doc("Survey score.", default=strawberry.UNSET)
    comments: str | None = doc("Survey comments.", default=strawberry.UNSET)


@strawberry.type(description="The result of a service-record mutation.")
class ServiceRecordPayload:
    record: ServiceRecord | None = doc("The record, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


_record = payload_runner(ServiceRecordPayload, "record", build_service_record)


@strawberry.type
class ServiceQueries:
    @strawberry.field(description="Service records of every kind, newest first.")
    async def service_records(
        self, info: Info,
        filter: ServiceRecordFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ServiceRecord]:
        return await list_connection(
            info, m.ServiceRecord, build_service_record, r.service_record_filter(filter, freeze(filter)), "opened_at",
            SortDirection.DESC, first, after, last, before,
        )


def _creator(kind: m.ServiceRecordKind, description: str, group: str = "raise_service"):  # noqa: ANN202
    async def create(self, info: Info, input: CreateServiceRecordInput) -> ServiceRecordPayload:  # noqa: ANN001
        return await _record(info, lambda uow: r.create_service_record(uow, kind, input_values(input)))

    return strawberry.mutation(resolver=create, description=description, permission_classes=[allow(group)])


@strawberry.type
class ServiceMutations:
    create_service_request = _creator(m.ServiceRecordKind.SERVICE_REQUEST, "Open a service request.")
    create_complaint = _creator(m.ServiceRecordKind.COMPLAINT, "Record a complaint.")
    create_quality_objection = _creator(
        m.ServiceRecordKind.QUALITY_OBJECTION, "Record a quality objection against an order line or product."
    )
    create_visit = _creator(m.ServiceRecordKind.VISIT, "Plan (or record) a visit to a customer.", "service")
    create_satisfaction_survey = _creator(
        m.ServiceRecordKind.SATISFACTION_SURVEY, "Record a satisfaction survey response."
    )

    @strawberry.mutation(description="Change a service record of any kind (assign, progress, resolve, close).", permission_classes=[allow("service")])
    async def update_service_record(
        self, info: Info, id: strawberry.ID, input: UpdateServiceRecordInput, expected_version: ExpectedVersion = None
    ) -> ServiceRecordPayload:
        return await _record(
            info,
            updating_version(
                m.ServiceRecord, r.ALL_TYPE_NAMES, r.update_service_record, id, expected_version, input_values(input)
            ),
        )

    @strawberry.mutation(description="Archive a service record (history is kept).", permission_classes=[allow("service")])
    async def archive_service_record(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> ServiceRecordPayload:
        return await _record(
            info, updating_version(m.ServiceRecord, r.ALL_TYPE_NAMES, r.archive_service_record, id, expected_version)
        )
