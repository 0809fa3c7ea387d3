"""Visit planning: reps plan visits to customers, record them, and fulfilment is measured.

A plan is a row of `crm_visit_plans` (rep, customer, date, purpose). Recording it links the
actual visit — a service record of kind VISIT, the one place visits live — either one that
already exists or one created from the plan. Fulfilment of a rep in a period = plans dated in
the period that are done ÷ plans dated in the period that were not cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from graph.crm.value import ratio
from graph.errors import ErrorCode, ErrorCollector, UserInputError
from graph.models import organizations as morg
from graph.models import people as mp
from graph.models import service as ms
from graph.models.base import utcnow
from graph.models.crm import VisitPlan, VisitPlanStatus
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

PLAN = VisitPlan.__table__
MAX_PLANS_PER_CALL = 100


@dataclass(frozen=True)
class Fulfilment:
    planned: int
    done: int

    @property
    def rate(self) -> Decimal | None:
        return None if self.planned == 0 else ratio(Decimal(self.done) / self.planned)


def fulfilment_statement(rep_ids: Iterable[int], start: date, end: date):  # noqa: ANN201
    """Plans per rep dated in [start, end] (inclusive), not cancelled, and how many are done."""
    done = func.count(case((PLAN.c.status == VisitPlanStatus.DONE, PLAN.c.id), else_=None))
    return (
        select(PLAN.c.rep_id, func.count().label("planned"), done.label("done"))
        .where(
            PLAN.c.rep_id.in_(sorted(set(rep_ids))),
            PLAN.c.planned_on >= start,
            PLAN.c.planned_on <= end,
            PLAN.c.status != VisitPlanStatus.CANCELLED,
            PLAN.c.archived_at.is_(None),
        )
        .group_by(PLAN.c.rep_id)
    )


async def _rep(uow: UnitOfWork, errors: ErrorCollector, rep_gid: str) -> mp.User | None:
    rep = await check.reference(
        uow,
        errors,
        "repId",
        rep_gid,
        mp.User,
        "User",
        check=lambda u: None if u.role is mp.UserRole.SALES and u.active else "Not an active sales rep.",
    )
    principal = uow.principal
    if rep is not None and principal.role == "sales" and principal.user_id != rep.id:
        errors.add("repId", "Sales reps plan their own visits.", ErrorCode.FORBIDDEN)
    return rep


async def plan_visits(uow: UnitOfWork, rep_gid: str, items: list[dict[str, Any]]) -> list[VisitPlan]:
    errors = ErrorCollector()
    rep = await _rep(uow, errors, rep_gid)
    if not items:
        errors.add("visits", "Plan at least one visit.", ErrorCode.REQUIRED)
    if len(items) > MAX_PLANS_PER_CALL:
        errors.add("visits", f"At most {MAX_PLANS_PER_CALL} visits per call.", ErrorCode.OUT_OF_RANGE)
        errors.raise_if_any()
    customers = []
    for i, item in enumerate(items):
        customer = await check.reference(
            uow,
            errors,
            ("visits", str(i), "customerId"),
            item["customer_id"],
            morg.Organization,
            "Organization",
            check=lambda o: None if o.is_customer else "Not a customer.",
        )
        purpose = item.get("purpose")
        if purpose is None or not purpose.strip():
            errors.add(("visits", str(i), "purpose"), "Say what the visit is for.", ErrorCode.REQUIRED)
        elif len(purpose) > 2000:
            errors.add(("visits", str(i), "purpose"), "At most 2000 characters.", ErrorCode.TOO_LONG)
        customers.append(customer)
    errors.raise_if_any()
    return [
        await uow.create(
            VisitPlan(
                rep_id=rep.id,
                organization_id=customer.id,
                planned_on=item["planned_on"],
                purpose=item["purpose"].strip(),
                status=VisitPlanStatus.PLANNED,
            )
        )
        for customer, item in zip(customers, items, strict=True)
    ]


def _own_plan(uow: UnitOfWork, plan: VisitPlan) -> None:
    principal = uow.principal
    if principal.role == "sales" and principal.user_id != plan.rep_id:
        raise UserInputError.one("id", "This is another rep's plan.", ErrorCode.FORBIDDEN)
    if plan.status is not VisitPlanStatus.PLANNED:
        raise UserInputError.one("id", f"This plan is already {plan.status.value}.", ErrorCode.CONFLICT)


async def record_visit(
    uow: UnitOfWork, plan: VisitPlan, visit_gid: str | None, done_at: datetime | None, feedback: str | None
) -> VisitPlan:
    """Mark a plan done, linked to an existing visit record or to one created now."""
    _own_plan(uow, plan)
    errors = ErrorCollector()
    check.text(errors, "feedback", feedback, max_length=20000)
    if done_at is not None and done_at > utcnow():
        errors.add("doneAt", "A visit is recorded once it happened.", ErrorCode.OUT_OF_RANGE)
    visit = None
    if visit_gid is not None:
        visit = await check.reference(
            uow,
            errors,
            "visitId",
            visit_gid,
            ms.ServiceRecord,
            "Visit",
            check=lambda r: (
                None if r.organization_id == plan.organization_id else "A visit to another customer."
            ),
        )
        if visit is not None and visit.done_at is None and done_at is None:
            errors.add("doneAt", "Say when the visit took place.", ErrorCode.REQUIRED)
    elif done_at is None:
        errors.add("doneAt", "Say when the visit took place.", ErrorCode.REQUIRED)
    errors.raise_if_any()
    if visit is None:
        planned_at = datetime.combine(plan.planned_on, time(), UTC)
        visit = await uow.create(
            ms.ServiceRecord(
                kind=ms.ServiceRecordKind.VISIT,
                organization_id=plan.organization_id,
                assignee_id=plan.rep_id,
                title=f"Visit: {plan.purpose[:280]}",
                status=ms.ServiceStatus.CLOSED,
                resolution="Visit done.",
                opened_at=min(planned_at, done_at),  # the visit was on the books from its plan
                closed_at=done_at,
                planned_at=planned_at,
                done_at=done_at,
                purpose=plan.purpose,
                feedback=feedback,
            )
        )
    else:
        values: dict[str, Any] = {}
        if done_at is not None:
            values["done_at"] = done_at
        if feedback is not None:
            values["feedback"] = feedback
        await uow.update(visit, values)
    return await uow.update(plan, {"status": VisitPlanStatus.DONE, "visit_id": visit.id})


async def cancel_plan(uow: UnitOfWork, plan: VisitPlan) -> VisitPlan:
    _own_plan(uow, plan)
    return await uow.update(plan, {"status": VisitPlanStatus.CANCELLED})
