"""Who is asking, and which rows they may see.

Every read goes through `Reader.select()` (graph/reader.py) and every write looks records up
through `UnitOfWork.find()` (graph/writes.py); both ask `visible()` here for the condition
that limits a table to what the principal may see. Top-level lists, nested fields,
node(id:)/nodes(ids:), counts and the ids a mutation accepts are therefore covered by the
same rules, and a row a caller may not see is indistinguishable from one that does not exist.

Partners (customers, suppliers, distributors) are bound to one organization and see only
what they take part in; any table without a rule for them is invisible (default deny).
Field-level rules (credit, tier, costs, prices a partner does not pay) sit next to the
fields in graph/types, as permission classes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, or_, select

from graph.models import (
    contracts,
    early_warnings,
    orders,
    organizations,
    people,
    products,
    security,
    service,
    sync,
)
from graph.models.crm import SalesTarget


class PrincipalKind(enum.Enum):
    INTERNAL = "internal"
    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    DISTRIBUTOR = "distributor"


INTERNAL_ROLES = ("admin", "sales", "service", "analyst", "read_only")
PARTNER_ROLES = ("customer", "supplier", "distributor")
ROLES = INTERNAL_ROLES + PARTNER_ROLES


@dataclass(frozen=True)
class Principal:
    """The caller of a request: an internal user or a partner bound to one organization."""

    kind: PrincipalKind
    name: str
    role: str = "admin"
    organization_id: int | None = None
    user_id: int | None = None
    key_prefix: str | None = None
    scopes: tuple[str, ...] = field(default=())

    @property
    def is_internal(self) -> bool:
        return self.kind is PrincipalKind.INTERNAL

    @classmethod
    def for_role(cls, role: str, name: str, **kwargs) -> Principal:  # noqa: ANN003
        kind = PrincipalKind.INTERNAL if role in INTERNAL_ROLES else PrincipalKind(role)
        return cls(kind=kind, name=name, role=role, **kwargs)


# The principal of the embedded single-user mode (authentication turned off) and of the CLI.
SYSTEM = Principal(kind=PrincipalKind.INTERNAL, name="system", role="admin")

ORG = organizations.Organization.__table__
COVERAGE = organizations.DistributorCoverage.__table__
OWNERSHIP = people.AccountOwnership.__table__
ORDER = orders.Order.__table__
LINE = orders.OrderLine.__table__
SUPPLY = products.SupplierProduct.__table__
OUTBOX = sync.OutboxEvent.__table__
TRANSITION = sync.StatusTransition.__table__
SHIPMENT = orders.Shipment.__table__
WARNINGS_TABLE = early_warnings.EarlyWarning.__tablename__


def _history_of(order_ids):  # noqa: ANN001, ANN202
    """Status history of the orders in `order_ids` and of their shipments."""
    return or_(
        and_(TRANSITION.c.table_name == "orders", TRANSITION.c.record_id.in_(order_ids)),
        and_(
            TRANSITION.c.table_name == "shipments",
            TRANSITION.c.record_id.in_(select(SHIPMENT.c.id).where(SHIPMENT.c.order_id.in_(order_ids))),
        ),
    )
SERVICE = service.ServiceRecord.__table__

# Only admins read keys and the audit trail.
_ADMIN_ONLY = (security.ApiKey, security.AuditEvent)


def visible(model: type, principal: Principal) -> ColumnElement[bool] | None:
    """The condition restricting `model`'s rows to those `principal` may see (None: all)."""
    if model in _ADMIN_ONLY:
        return None if principal.role == "admin" else false()
    if principal.is_internal:
        if principal.role == "sales":
            return _sales(model, principal)
        return None
    org_id = principal.organization_id
    if org_id is None:
        return false()
    rule = _PARTNER_RULES[principal.kind].get(model)
    return false() if rule is None else rule(org_id)


# -- customers: their own organization and everything they buy ---------------------------


def _orders_of_customer(c: int):  # noqa: ANN202
    return select(ORDER.c.id).where(ORDER.c.customer_id == c)


_CUSTOMER: dict[type, Callable[[int], ColumnElement[bool]]] = {
    organizations.Organization: lambda c: ORG.c.id == c,
    organizations.Address: lambda c: organizations.Address.__table__.c.organization_id == c,
    people.Contact: lambda c: people.Contact.__table__.c.organization_id == c,
    contracts.Contract: lambda c: contracts.Contract.__table__.c.organization_id == c,
    orders.Order: lambda c: ORDER.c.customer_id == c,
    orders.OrderLine: lambda c: LINE.c.order_id.in_(_orders_of_customer(c)),
    orders.Shipment: lambda c: orders.Shipment.__table__.c.order_id.in_(_orders_of_customer(c)),
    service.ServiceRecord: lambda c: and_(
        service.ServiceRecord.__table__.c.organization_id == c,
        # Visits are our own planning; a customer sees what it raised or answered.
        service.ServiceRecord.__table__.c.kind != service.ServiceRecordKind.VISIT,
    ),
    # Change events (the feed, subscriptions) about its records: the writer copies the order's
    # customer, and a service record's organization, into customer_id. Events about our visit
    # plans stay hidden, like the visits themselves.
    sync.StatusTransition: lambda c: _history_of(_orders_of_customer(c)),
    sync.OutboxEvent: lambda c: and_(
        OUTBOX.c.customer_id == c,
        OUTBOX.c.table_name != WARNINGS_TABLE,  # early warnings are internal
        or_(
            OUTBOX.c.table_name != "service_records",
            OUTBOX.c.record_id.not_in(
                select(SERVICE.c.id).where(
                    SERVICE.c.organization_id == c, SERVICE.c.kind == service.ServiceRecordKind.VISIT
                )
            ),
        ),
    ),
    # The catalogue it orders from, and whatever is on its orders.
    products.Product: lambda c: or_(
        products.Product.__table__.c.archived_at.is_(None),
        products.Product.__table__.c.id.in_(
            select(LINE.c.product_id).where(LINE.c.order_id.in_(_orders_of_customer(c)))
        ),
    ),
}


# -- suppliers: what they supply and the lines they fulfil -------------------------------


def _lines_of_supplier(s: int):  # noqa: ANN202
    return select(LINE.c.id).where(LINE.c.supplier_id == s)


def _orders_of_supplier(s: int):  # noqa: ANN202
    return select(LINE.c.order_id).where(LINE.c.supplier_id == s)


_SUPPLIER: dict[type, Callable[[int], ColumnElement[bool]]] = {
    organizations.Organization: lambda s: ORG.c.id == s,
    organizations.Address: lambda s: organizations.Address.__table__.c.organization_id == s,
    people.Contact: lambda s: people.Contact.__table__.c.organization_id == s,
    contracts.Contract: lambda s: contracts.Contract.__table__.c.organization_id == s,
    products.SupplierProduct: lambda s: SUPPLY.c.supplier_id == s,
    products.Product: lambda s: or_(
        products.Product.__table__.c.id.in_(select(SUPPLY.c.product_id).where(SUPPLY.c.supplier_id == s)),
        products.Product.__table__.c.id.in_(select(LINE.c.product_id).where(LINE.c.supplier_id == s)),
    ),
    # Only its own lines: never the other lines of an order it takes part in.
    orders.OrderLine: lambda s: LINE.c.supplier_id == s,
    orders.Order: lambda s: ORDER.c.id.in_(_orders_of_supplier(s)),
    orders.Shipment: lambda s: orders.Shipment.__table__.c.order_id.in_(_orders_of_supplier(s)),
    # Quality objections against the lines it fulfilled.
    service.ServiceRecord: lambda s: and_(
        service.ServiceRecord.__table__.c.kind == service.ServiceRecordKind.QUALITY_OBJECTION,
        service.ServiceRecord.__table__.c.order_line_id.in_(_lines_of_supplier(s)),
    ),
    # Events naming it (its own lines), and the header and shipment events of the orders it
    # fulfils; never the line events of other suppliers on those orders.
    sync.StatusTransition: lambda s: _history_of(_orders_of_supplier(s)),
    sync.OutboxEvent: lambda s: or_(
        OUTBOX.c.supplier_id == s,
        and_(OUTBOX.c.table_name.in_(("orders", "shipments")), OUTBOX.c.order_id.in_(_orders_of_supplier(s))),
    ),
}


# -- distributors: the orders they deliver and the customers they serve ------------------


def _orders_of_distributor(d: int):  # noqa: ANN202
    return select(ORDER.c.id).where(ORDER.c.distributor_id == d)


def _served_customers(d: int):  # noqa: ANN202
    return select(COVERAGE.c.customer_id).where(COVERAGE.c.distributor_id == d, COVERAGE.c.archived_at.is_(None))


_DISTRIBUTOR: dict[type, Callable[[int], ColumnElement[bool]]] = {
    organizations.Organization: lambda d: or_(ORG.c.id == d, ORG.c.id.in_(_served_customers(d))),
    # Delivery needs the served customers' addresses.
    organizations.Address: lambda d: or_(
        organizations.Address.__table__.c.organization_id == d,
        organizations.Address.__table__.c.organization_id.in_(_served_customers(d)),
    ),
    organizations.DistributorCoverage: lambda d: COVERAGE.c.distributor_id == d,
    people.Contact: lambda d: people.Contact.__table__.c.organization_id == d,
    contracts.Contract: lambda d: contracts.Contract.__table__.c.organization_id == d,
    orders.Order: lambda d: ORDER.c.distributor_id == d,
    orders.OrderLine: lambda d: LINE.c.order_id.in_(_orders_of_distributor(d)),
    orders.Shipment: lambda d: orders.Shipment.__table__.c.order_id.in_(_orders_of_distributor(d)),
    # The catalogue it syncs orders against, and whatever is on the orders it delivers.
    products.Product: lambda d: or_(
        products.Product.__table__.c.archived_at.is_(None),
        products.Product.__table__.c.id.in_(
            select(LINE.c.product_id).where(LINE.c.order_id.in_(_orders_of_distributor(d)))
        ),
    ),
    sync.OutboxEvent: lambda d: OUTBOX.c.distributor_id == d,
    sync.StatusTransition: lambda d: _history_of(_orders_of_distributor(d)),
}

_PARTNER_RULES = {
    PrincipalKind.CUSTOMER: _CUSTOMER,
    PrincipalKind.SUPPLIER: _SUPPLIER,
    PrincipalKind.DISTRIBUTOR: _DISTRIBUTOR,
}


# -- sales reps: their own customers and the shared pipeline -----------------------------


def _sales_organizations(user_id: int):  # noqa: ANN202
    """Organizations a rep works with: non-customers, customers it owns, unowned customers."""
    owned_now = select(OWNERSHIP.c.organization_id).where(OWNERSHIP.c.ended_at.is_(None))
    mine = owned_now.where(OWNERSHIP.c.user_id == user_id)
    return select(ORG.c.id).where(
        or_(ORG.c.is_customer.is_(False), ORG.c.id.in_(mine), ORG.c.id.not_in(owned_now))
    )


def _owned_now(user_id: int):  # noqa: ANN202
    return select(OWNERSHIP.c.organization_id).where(OWNERSHIP.c.ended_at.is_(None), OWNERSHIP.c.user_id == user_id)


def _sales(model: type, principal: Principal) -> ColumnElement[bool] | None:
    if principal.user_id is None:
        return false()
    orgs = _sales_organizations(principal.user_id)
    table = model.__table__
    if model is organizations.Organization:
        return ORG.c.id.in_(orgs)
    if model is SalesTarget:  # a rep's targets are its own business
        return SalesTarget.__table__.c.rep_id == principal.user_id
    if model is orders.Order:
        return ORDER.c.customer_id.in_(orgs)
    if model is early_warnings.EarlyWarning:  # only for the customers the rep owns
        return table.c.customer_id.in_(_owned_now(principal.user_id))
    if model is sync.OutboxEvent:
        return and_(
            OUTBOX.c.customer_id.in_(orgs),
            or_(OUTBOX.c.table_name != WARNINGS_TABLE, OUTBOX.c.customer_id.in_(_owned_now(principal.user_id))),
        )
    if model is sync.StatusTransition:
        return _history_of(select(ORDER.c.id).where(ORDER.c.customer_id.in_(orgs)))
    if model in (orders.OrderLine, orders.Shipment):
        return table.c.order_id.in_(select(ORDER.c.id).where(ORDER.c.customer_id.in_(orgs)))
    if "organization_id" in table.c and model is not people.AccountOwnership:
        return table.c.organization_id.in_(orgs)
    return None


# -- what each role may change -------------------------------------------------------------

# Mutation groups → roles allowed to run them. Which rows they may touch is still decided
# by visible(): a customer can only place orders for the one organization it can see.
WRITE_ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin"}),
    "records": frozenset({"admin", "sales"}),
    "catalogue": frozenset({"admin"}),
    "orders": frozenset({"admin", "sales", "customer"}),
    "order_changes": frozenset({"admin", "sales"}),
    "shipments": frozenset({"admin", "sales", "service", "supplier"}),
    "service": frozenset({"admin", "sales", "service"}),
    "raise_service": frozenset({"admin", "sales", "service", "customer"}),
    "interactions": frozenset({"admin", "sales", "service"}),
    "sync": frozenset({"admin", "sales", "distributor", "supplier"}),
    "warnings": frozenset({"admin", "sales", "service"}),
    "opportunities": frozenset({"admin", "sales"}),
    "surveys": frozenset({"admin", "sales", "service"}),
}


# -- who may read which report (graph/crm/reports.py) --------------------------------------

# Reports carry margins, costs and credit judgements: internal users read them all (a sales
# rep's figures cover its own customers, through visible()); a supplier reads only the
# complaint analysis, which visible() limits to quality objections against its own lines;
# customers and distributors read none.
SUPPLIER_REPORTS = frozenset({"complaint-analysis"})


def may_read_report(principal: Principal, report: str) -> bool:
    if principal.is_internal:
        return True
    return principal.kind is PrincipalKind.SUPPLIER and report in SUPPLIER_REPORTS
