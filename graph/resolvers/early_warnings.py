"""Early warnings: filters, relations, and the state machine their mutations walk.

    OPEN ──acknowledge──▶ ACKNOWLEDGED
    OPEN | ACKNOWLEDGED | RESOLVING ──assign──▶ RESOLVING  (VERIFIED: reassigned, stays VERIFIED)
    ACKNOWLEDGED | RESOLVING | VERIFIED ──recordResolutionCheck──▶ VERIFIED (RESOLVED) | RESOLVING (NOT_RESOLVED)
    VERIFIED ──close──▶ CLOSED

A check of outcome RESOLVED, and closing, re-evaluate the warning's rule: while its condition
still holds the warning cannot be called resolved (CONFLICT, nothing changes). A VERIFIED
warning whose condition comes back is moved to RESOLVING by the next evaluation.
"""

from __future__ import annotations

from typing import Any

from graph.crm import warnings as rules
from graph.errors import ErrorCode, UserInputError
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import people as pm
from graph.models.base import utcnow
from graph.models.early_warnings import CheckOutcome, EarlyWarning, WarningStatus
from graph.writes import UnitOfWork

WARNING = EarlyWarning.__table__

WARNINGS_OF_CUSTOMER = Relation("warnings_of_customer", EarlyWarning, WARNING.c.customer_id)
WARNINGS_OF_SUPPLIER = Relation("warnings_of_supplier", EarlyWarning, WARNING.c.supplier_id)
WARNINGS_OF_ORDER = Relation("warnings_of_order", EarlyWarning, WARNING.c.order_id)
WARNINGS_OF_PRODUCT = Relation("warnings_of_product", EarlyWarning, WARNING.c.product_id)
WARNINGS_OF_SHIPMENT = Relation("warnings_of_shipment", EarlyWarning, WARNING.c.shipment_id)

# Which statuses each action may start from (the state machine above).
ACKNOWLEDGE_FROM = frozenset({WarningStatus.OPEN})
ASSIGN_FROM = frozenset(
    {WarningStatus.OPEN, WarningStatus.ACKNOWLEDGED, WarningStatus.RESOLVING, WarningStatus.VERIFIED}
)
CHECK_FROM = frozenset({WarningStatus.ACKNOWLEDGED, WarningStatus.RESOLVING, WarningStatus.VERIFIED})
CLOSE_FROM = frozenset({WarningStatus.VERIFIED})


@cached_filter
def warning_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(WARNING.c.archived_at.is_(None))
    if f is not None:
        if f.kinds:
            conditions.append(WARNING.c.kind.in_(f.kinds))
        if f.levels:
            conditions.append(WARNING.c.level.in_(f.levels))
        if f.statuses:
            conditions.append(WARNING.c.status.in_(f.statuses))
        if f.open is not None:
            closed = WARNING.c.status == WarningStatus.CLOSED
            conditions.append(~closed if f.open else closed)
        if f.customer_id is not None:
            conditions.append(id_condition(WARNING.c.customer_id, f.customer_id, "Organization"))
        if f.supplier_id is not None:
            conditions.append(id_condition(WARNING.c.supplier_id, f.supplier_id, "Organization"))
        if f.order_id is not None:
            conditions.append(id_condition(WARNING.c.order_id, f.order_id, "Order"))
        if f.product_id is not None:
            conditions.append(id_condition(WARNING.c.product_id, f.product_id, "Product"))
        if f.assignee_id is not None:
            conditions.append(id_condition(WARNING.c.assignee_id, f.assignee_id, "User"))
        if f.raised is not None:
            if f.raised.from_ is not None:
                conditions.append(WARNING.c.raised_at >= f.raised.from_)
            if f.raised.to is not None:
                conditions.append(WARNING.c.raised_at < f.raised.to)
    return Filter(key=key, conditions=tuple(conditions))


def _refuse(warning: EarlyWarning, action: str, allowed: frozenset[WarningStatus]) -> None:
    if warning.status not in allowed:
        names = ", ".join(sorted(s.name for s in allowed))
        raise UserInputError.one(
            "id",
            f"A {warning.status.name} warning cannot be {action}; only from {names}.",
            ErrorCode.INVALID,
        )


async def acknowledge(uow: UnitOfWork, warning: EarlyWarning) -> EarlyWarning:
    _refuse(warning, "acknowledged", ACKNOWLEDGE_FROM)
    values = {
        "status": WarningStatus.ACKNOWLEDGED,
        "acknowledged_at": utcnow(),
        "acknowledged_by": uow.principal.name,
    }
    return await uow.update(warning, values)


async def assign(uow: UnitOfWork, warning: EarlyWarning, assignee_id: str) -> EarlyWarning:
    _refuse(warning, "assigned", ASSIGN_FROM)
    user = await uow.get(pm.User, assignee_id, "User", field_name="assigneeId")
    status = warning.status if warning.status is WarningStatus.VERIFIED else WarningStatus.RESOLVING
    return await uow.update(warning, {"assignee_id": user.id, "status": status})


async def record_resolution_check(
    uow: UnitOfWork, warning: EarlyWarning, outcome: CheckOutcome, notes: str | None
) -> EarlyWarning:
    _refuse(warning, "checked", CHECK_FROM)
    now = utcnow()
    holds = await rules.condition_holds(uow.session, warning, now)
    if outcome is CheckOutcome.RESOLVED and holds:
        raise UserInputError.one(
            "outcome",
            "The warning's condition still holds (its rule was re-evaluated just now): it is not resolved.",
            ErrorCode.CONFLICT,
        )
    values = {
        "check_outcome": outcome,
        "checked_at": now,
        "checked_by": uow.principal.name,
        "checked_by_user_id": uow.principal.user_id,
        "check_notes": notes,
        "check_condition_held": holds,
        "status": WarningStatus.VERIFIED if outcome is CheckOutcome.RESOLVED else WarningStatus.RESOLVING,
    }
    if not holds and warning.condition_holds:
        values.update(condition_holds=False, condition_cleared_at=now)
    return await uow.update(warning, values)


async def close(uow: UnitOfWork, warning: EarlyWarning) -> EarlyWarning:
    _refuse(warning, "closed", CLOSE_FROM)
    if warning.check_outcome is not CheckOutcome.RESOLVED or warning.checked_at is None:
        raise UserInputError.one(
            "id", "Record a resolution check that found it resolved first.", ErrorCode.INVALID
        )
    if await rules.condition_holds(uow.session, warning, utcnow()):
        raise UserInputError.one(
            "id",
            "The warning's condition holds again (its rule was re-evaluated just now): record a new resolution check.",
            ErrorCode.CONFLICT,
        )
    values = {"status": WarningStatus.CLOSED, "closed_at": utcnow(), "closed_by": uow.principal.name}
    return await uow.update(warning, values)
