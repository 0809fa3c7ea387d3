"""Lifecycle stages: derived from order history, with a history of the changes.

The stage is always computed live (graph/crm/value.py `lifecycle_stage`, rules first match
wins): prospect (no orders), termination (no order in 12 months, or silent for three of its
own order gaps), development (first order under 182 days ago), growth (revenue up ≥ 10 % half
on half), maturity (otherwise). A recompute (`refreshLifecycle`, `reviewTiers`, the demo seed)
compares each customer's stage with the last one recorded and records a change where it moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from graph.crm.scope import customer_scope, dialect_of, session_runner
from graph.crm.value import CustomerFigures, customer_figures, lifecycle_stage
from graph.errors import ErrorCode, UserInputError
from graph.models import organizations as morg
from graph.models.base import utcnow
from graph.models.crm import LifecycleChange, LifecycleStage
from graph.writes import UnitOfWork

ORG = morg.Organization.__table__
CHANGE = LifecycleChange.__table__


def latest_stages_statement(customer_ids: list[int] | None = None):  # noqa: ANN201
    """The last recorded stage of each customer (ROW_NUMBER over its changes, newest first)."""
    rank = func.row_number().over(
        partition_by=CHANGE.c.organization_id, order_by=(CHANGE.c.changed_at.desc(), CHANGE.c.id.desc())
    )
    inner = select(CHANGE.c.organization_id, CHANGE.c.to_stage, rank.label("n"))
    if customer_ids is not None:
        inner = inner.where(CHANGE.c.organization_id.in_(customer_ids))
    inner = inner.subquery()
    return select(inner.c.organization_id, inner.c.to_stage).where(inner.c.n == 1)


def stage_changes(
    latest: Mapping[int, LifecycleStage], figures: Mapping[int, CustomerFigures], as_of: datetime
) -> list[dict[str, Any]]:
    """Rows for `crm_lifecycle_changes`: each customer whose stage moved since the last record."""
    rows = []
    for cid in sorted(figures):
        stage, why = lifecycle_stage(figures[cid])
        before = latest.get(cid)
        if stage is not before:
            rows.append(
                {
                    "organization_id": cid,
                    "from_stage": before,
                    "to_stage": stage,
                    "changed_at": as_of,
                    "reason": why,
                }
            )
    return rows


async def record_changes(
    uow: UnitOfWork, as_of: datetime, figures: Mapping[int, CustomerFigures]
) -> list[LifecycleChange]:
    session = uow.session
    latest = {
        r.organization_id: r.to_stage
        for r in (await session.execute(latest_stages_statement(list(figures)))).all()
    }
    return [await uow.create(LifecycleChange(**row)) for row in stage_changes(latest, figures, as_of)]


async def refresh(uow: UnitOfWork, as_of: datetime | None) -> list[LifecycleChange]:
    """Recompute every visible customer's stage as of `as_of` (default now); record moves."""
    as_of = as_of or utcnow()
    if as_of.tzinfo is None:
        raise UserInputError.one("asOf", "Give a time zone (UTC).", ErrorCode.INVALID)
    session = uow.session
    scope = customer_scope(uow.principal)
    customers = select(ORG.c.id).where(ORG.c.is_customer.is_(True), ORG.c.archived_at.is_(None))
    if scope is not None:
        customers = customers.where(scope(ORG.c.id))
    ids = list((await session.execute(customers)).scalars())
    figures = await customer_figures(session_runner(session), dialect_of(session), as_of, ids, scope)
    return await record_changes(uow, as_of, figures)
