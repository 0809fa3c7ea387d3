"""Service records (requests, complaints, quality objections, visits, surveys): filters,
relations and writes. Kind-specific rules are checked here, on write."""

from __future__ import annotations

from typing import Any

from graph.errors import ErrorCode, ErrorCollector
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as om
from graph.models import people as pm
from graph.models import products as prm
from graph.models.base import utcnow
from graph.models.orders import Order, OrderLine
from graph.models.service import OPEN_STATUSES, ServiceRecord, ServiceRecordKind, ServiceStatus
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

RECORD = ServiceRecord.__table__

RECORDS_OF_ORGANIZATION = Relation("records_of_org", ServiceRecord, RECORD.c.organization_id)
RECORDS_OF_ORDER = Relation("records_of_order", ServiceRecord, RECORD.c.order_id)
RECORDS_OF_PRODUCT = Relation("records_of_product", ServiceRecord, RECORD.c.product_id)
RECORDS_OF_ASSIGNEE = Relation("records_of_assignee", ServiceRecord, RECORD.c.assignee_id)

# GraphQL type name of each kind (also the type part of its global id).
TYPE_NAMES = {
    ServiceRecordKind.SERVICE_REQUEST: "ServiceRequest",
    ServiceRecordKind.COMPLAINT: "Complaint",
    ServiceRecordKind.QUALITY_OBJECTION: "QualityObjection",
    ServiceRecordKind.VISIT: "Visit",
    ServiceRecordKind.SATISFACTION_SURVEY: "SatisfactionSurvey",
}
ALL_TYPE_NAMES = tuple(TYPE_NAMES.values())
_CLOSED = (ServiceStatus.RESOLVED, ServiceStatus.CLOSED, ServiceStatus.CANCELLED)


@cached_filter
def service_record_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(RECORD.c.archived_at.is_(None))
    if f is not None:
        if f.kinds:
            conditions.append(RECORD.c.kind.in_(f.kinds))
        if f.status:
            conditions.append(RECORD.c.status.in_(f.status))
        if f.open is not None:
            conditions.append(RECORD.c.status.in_(OPEN_STATUSES) if f.open else RECORD.c.status.not_in(OPEN_STATUSES))
        if f.severities:
            conditions.append(RECORD.c.severity.in_(f.severities))
        if f.search:
            conditions.append(contains(RECORD.c.title, f.search))
        if f.organization_id is not None:
            conditions.append(id_condition(RECORD.c.organization_id, f.organization_id, "Organization"))
        if f.order_id is not None:
            conditions.append(id_condition(RECORD.c.order_id, f.order_id, "Order"))
        if f.product_id is not None:
            conditions.append(id_condition(RECORD.c.product_id, f.product_id, "Product"))
        if f.assignee_id is not None:
            conditions.append(id_condition(RECORD.c.assignee_id, f.assignee_id, "User"))
        if f.opened is not None:
            if f.opened.from_ is not None:
                conditions.append(RECORD.c.opened_at >= f.opened.from_)
            if f.opened.to is not None:
                conditions.append(RECORD.c.opened_at < f.opened.to)
    return Filter(key=key, conditions=tuple(conditions))


_COMMON = ("title", "description", "severity", "resolution", "cost", "currency", "compensation",
           "evidence_links", "planned_at", "done_at", "purpose", "feedback", "score", "comments")


async def _links(uow: UnitOfWork, errors: ErrorCollector, data: dict[str, Any], org: om.Organization | None) -> dict[str, Any]:
    """Resolve the contact / order / line / product / assignee ids and check they belong together."""
    values: dict[str, Any] = {}
    contact = await check.reference(uow, errors, "contactId", data.get("contact_id"), pm.Contact, "Contact", required=False)
    if contact is not None and org is not None and contact.organization_id != org.id:
        errors.add("contactId", "This contact belongs to another organization.", ErrorCode.INVALID)
    line = await check.reference(uow, errors, "orderLineId", data.get("order_line_id"), OrderLine, "OrderLine", required=False)
    order = await check.reference(uow, errors, "orderId", data.get("order_id"), Order, "Order", required=False)
    if line is not None:
        if order is not None and line.order_id != order.id:
            errors.add("orderLineId", "This line belongs to another order.", ErrorCode.INVALID)
        if order is None:
            order = await uow.find(Order, line.order_id)
    if order is not None and org is not None and order.customer_id != org.id:
        errors.add("orderId", "This order belongs to another customer.", ErrorCode.INVALID)
    product = await check.reference(uow, errors, "productId", data.get("product_id"), prm.Product, "Product", required=False)
    if line is not None and product is not None and line.product_id != product.id:
        errors.add("productId", "The order line is for another product.", ErrorCode.INVALID)
    assignee = await check.reference(uow, errors, "assigneeId", data.get("assignee_id"), pm.User, "User", required=False)
    for name, obj in (("contact_id", contact), ("order_id", order), ("order_line_id", line), ("assignee_id", assignee)):
        if name in data or obj is not None:
            values[name] = obj.id if obj is not None else None
    if product is not None or line is not None:
        values["product_id"] = product.id if product is not None else line.product_id
    elif "product_id" in data:
        values["product_id"] = None
    return values


def _validate(errors: ErrorCollector, kind: ServiceRecordKind, merged: dict[str, Any], data: dict[str, Any], creating: bool) -> None:
    check.text(errors, "title", data.get("title"), required=creating or "title" in data)
    check.text(errors, "description", data.get("description"), max_length=20000)
    check.text(errors, "resolution", data.get("resolution"), max_length=20000)
    check.amount(errors, "cost", data.get("cost"))
    check.amount(errors, "compensation", data.get("compensation"))
    check.currency(errors, "currency", data.get("currency"))
    for i, link in enumerate(data.get("evidence_links") or []):
        if not link.startswith(("https://", "http://")) or len(link) > 2000:
            errors.add(("evidenceLinks", str(i)), "An http(s) URL of at most 2000 characters.", ErrorCode.INVALID)
    if len(data.get("evidence_links") or []) > 20:
        errors.add("evidenceLinks", "At most 20 links.", ErrorCode.OUT_OF_RANGE)
    if kind is ServiceRecordKind.QUALITY_OBJECTION:
        if merged.get("severity") is None:
            errors.add("severity", "A quality objection is graded by severity.", ErrorCode.REQUIRED)
        if merged.get("order_line_id") is None and merged.get("product_id") is None:
            errors.add("orderLineId", "A quality objection names an order line or a product.", ErrorCode.REQUIRED)
    if kind is ServiceRecordKind.VISIT and merged.get("planned_at") is None:
        errors.add("plannedAt", "A visit is planned for a time.", ErrorCode.REQUIRED)
    if kind is ServiceRecordKind.SATISFACTION_SURVEY:
        if merged.get("score") is None:
            errors.add("score", "A survey response has a score.", ErrorCode.REQUIRED)
        check.int_range(errors, "score", data.get("score"), 0, 10)
    status = merged.get("status")
    if status in (ServiceStatus.RESOLVED, ServiceStatus.CLOSED) and not merged.get("resolution"):
        errors.add("resolution", "Say how it was resolved before resolving or closing it.", ErrorCode.REQUIRED)


def _status_times(values: dict[str, Any], status: ServiceStatus | None, record: ServiceRecord | None) -> None:
    if status is None:
        return
    if status in _CLOSED and (record is None or record.closed_at is None):
        values["closed_at"] = utcnow()
    elif status in OPEN_STATUSES:
        values["closed_at"] = None


async def create_service_record(uow: UnitOfWork, kind: ServiceRecordKind, data: dict[str, Any]) -> ServiceRecord:
    errors = ErrorCollector()
    org = await check.reference(uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization")
    links = await _links(uow, errors, data, org)
    merged = {**data, **links}
    _validate(errors, kind, merged, data, creating=True)
    errors.raise_if_any()
    values = {k: data[k] for k in _COMMON if data.get(k) is not None}
    values.update(links)
    status = data.get("status") or ServiceStatus.OPEN
    _status_times(values, status, None)
    return await uow.create(
        ServiceRecord(kind=kind, organization_id=org.id, status=status, opened_at=utcnow(), **values)
    )


async def update_service_record(uow: UnitOfWork, record: ServiceRecord, data: dict[str, Any]) -> ServiceRecord:
    errors = ErrorCollector()
    if record.archived_at is not None:
        errors.add("id", "Archived records cannot be changed.", ErrorCode.ARCHIVED)
    org = await uow.find(om.Organization, record.organization_id)
    links = await _links(uow, errors, data, org)
    current = {c: getattr(record, c) for c in (*_COMMON, "status", "order_line_id", "product_id")}
    merged = {**current, **{k: v for k, v in data.items()}, **links}
    _validate(errors, record.kind, merged, data, creating=False)
    errors.raise_if_any()
    values = {k: data[k] for k in (*_COMMON, "status") if k in data}
    values.update(links)
    _status_times(values, data.get("status"), record)
    return await uow.update(record, values)


async def archive_service_record(uow: UnitOfWork, record: ServiceRecord) -> ServiceRecord:
    return await uow.archive(record)
