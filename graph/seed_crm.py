"""CRM demo data, written right after the demo rows (hooked into graph/seed.py `_write`).

Deterministic, like the rest of the seed: everything follows from the rows just written.
- Tier rules: the documented defaults, stored as rows.
- Tier history: each customer's tier as set at onboarding.
- Lifecycle history: stages recomputed as of 270, 180 and 90 days ago and today.
- A tier review as of today with its open proposals (nothing applied, tiers stay as seeded).
- Visit plans: one per seeded visit (the visit record is the plan's visit; done, cancelled or
  still planned as the visit is), so fulfilment per rep is measurable.
- Sales targets: per active rep and month of the past year and the current month, 110 % of the
  rep's average monthly revenue over the year, rounded to thousands.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from graph.crm import tiers
from graph.crm.lifecycle import stage_changes
from graph.crm.value import customer_figures
from graph.models import crm as m
from graph.models import orders as mo
from graph.models import people as mp
from graph.models import service as ms

SEEDER = "demo seed"
LIFECYCLE_CHECKPOINTS = (270, 180, 90, 0)


def _moment_after(data: dict[str, list[dict]]) -> datetime:
    """The seed's "now": midnight after the last thing that happened (orders, service, contact)."""
    moments = [o["placed_at"] for o in data["orders"]] + [r["opened_at"] for r in data["service_records"]]
    moments += [i["occurred_at"] for i in data["interactions"]]
    last = max(moments)
    return datetime.combine(last.astimezone(UTC).date() + timedelta(days=1), time(), UTC)


def _stamp(row: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {**row, "created_at": at, "updated_at": at, "version": 1}


async def seed_crm(conn: AsyncConnection, data: dict[str, list[dict]]) -> None:
    customers = [o for o in data["organizations"] if o["is_customer"]]
    if not customers:
        return
    now = _moment_after(data)
    dialect = conn.dialect.name

    async def run(stmt):  # noqa: ANN001, ANN202
        return (await conn.execute(stmt)).all()

    ids = [o["id"] for o in customers]
    await _tier_rules(conn, now)
    await _tier_history(conn, customers)
    await _lifecycle_history(conn, run, dialect, ids, now)
    await _tier_review(conn, run, dialect, customers, now)
    await _visit_plans(conn, data, now)
    await _targets(conn, data, now)


async def _tier_rules(conn: AsyncConnection, now: datetime) -> None:
    """The documented default rules, stored so admins see and change rows."""
    rows = [
        _stamp(
            {
                "tier": rule.tier,
                "min_revenue": rule.min_revenue,
                "min_orders": rule.min_orders,
                "min_contract_fulfilment": rule.min_contract_fulfilment,
                "min_growth": rule.min_growth,
                "currency": "CNY",
            },
            now,
        )
        for rule in tiers.DEFAULT_RULES
    ]
    await conn.execute(insert(m.TierRule.__table__), rows)


async def _tier_history(conn: AsyncConnection, customers: list[dict]) -> None:
    rows = [
        _stamp(
            {
                "organization_id": o["id"],
                "from_tier": None,
                "to_tier": o["tier"],
                "changed_at": o["created_at"],
                "reason": "Tier set at onboarding.",
                "approved_by": SEEDER,
                "source": m.TierChangeSource.MANUAL,
                "proposal_id": None,
            },
            o["created_at"],
        )
        for o in customers
        if o["tier"] is not None
    ]
    if rows:
        await conn.execute(insert(m.TierChange.__table__), rows)


async def _lifecycle_history(conn: AsyncConnection, run, dialect: str, ids: list[int], now: datetime) -> None:  # noqa: ANN001
    latest: dict[int, m.LifecycleStage] = {}
    rows: list[dict] = []
    for days in LIFECYCLE_CHECKPOINTS:
        as_of = now - timedelta(days=days)
        figures = await customer_figures(run, dialect, as_of, ids)
        for row in stage_changes(latest, figures, as_of):
            latest[row["organization_id"]] = row["to_stage"]
            rows.append(_stamp(row, as_of))
    if rows:
        await conn.execute(insert(m.LifecycleChange.__table__), rows)


async def _tier_review(
    conn: AsyncConnection, run, dialect: str, customers: list[dict], now: datetime
) -> None:  # noqa: ANN001
    active = [o for o in customers if o.get("archived_at") is None]
    figures = await customer_figures(run, dialect, now, [o["id"] for o in active])
    rules = list(tiers.DEFAULT_RULES)
    result = await conn.execute(
        insert(m.TierReview.__table__).returning(m.TierReview.__table__.c.id),
        _stamp({"as_of": now, "status": m.TierReviewStatus.OPEN, "requested_by": SEEDER}, now),
    )
    review_id = result.scalar_one()
    proposals = []
    for o in sorted(active, key=lambda o: o["id"]):
        f = figures[o["id"]]
        proposed, _ = tiers.decide(rules, f)
        if proposed is o["tier"]:
            continue
        proposals.append(
            _stamp(
                {
                    "review_id": review_id,
                    "organization_id": o["id"],
                    "current_tier": o["tier"],
                    "proposed_tier": proposed,
                    "reason": tiers.reason_for(rules, f, o["tier"], proposed),
                    "revenue": f.revenue_ttm,
                    "orders": f.orders_ttm,
                    "contract_fulfilment": f.contract_fulfilment,
                    "growth": f.growth,
                    "applied_at": None,
                },
                now,
            )
        )
    if proposals:
        await conn.execute(insert(m.TierProposal.__table__), proposals)


_PLAN_STATUS = {
    ms.ServiceStatus.CLOSED: m.VisitPlanStatus.DONE,
    ms.ServiceStatus.RESOLVED: m.VisitPlanStatus.DONE,
    ms.ServiceStatus.CANCELLED: m.VisitPlanStatus.CANCELLED,
}


async def _visit_plans(conn: AsyncConnection, data: dict[str, list[dict]], now: datetime) -> None:
    reps = {u["id"] for u in data["users"] if u["role"] is mp.UserRole.SALES}
    rows = []
    for record in data["service_records"]:
        if record["kind"] is not ms.ServiceRecordKind.VISIT or record.get("assignee_id") not in reps:
            continue
        status = (
            m.VisitPlanStatus.DONE
            if record.get("done_at")
            else _PLAN_STATUS.get(record["status"], m.VisitPlanStatus.PLANNED)
        )
        rows.append(
            _stamp(
                {
                    "rep_id": record["assignee_id"],
                    "organization_id": record["organization_id"],
                    "planned_on": record["planned_at"].date(),
                    "purpose": record.get("purpose") or record["title"],
                    "status": status,
                    "visit_id": record["id"],
                },
                record["opened_at"],
            )
        )
    rows.sort(key=lambda r: (r["planned_on"], r["visit_id"]))
    if rows:
        await conn.execute(insert(m.VisitPlan.__table__), rows)


def _months(now: datetime) -> list[tuple[date, date]]:
    """The twelve months before `now`'s month and that month: (first day, last day)."""
    year, month = now.year, now.month
    spans = []
    for back in range(12, -1, -1):
        y, mth = divmod((year * 12 + month - 1) - back, 12)
        start = date(y, mth + 1, 1)
        ny, nm = divmod(y * 12 + mth + 1, 12)
        spans.append((start, date(ny, nm + 1, 1) - timedelta(days=1)))
    return spans


async def _targets(conn: AsyncConnection, data: dict[str, list[dict]], now: datetime) -> None:
    reps = [u for u in data["users"] if u["role"] is mp.UserRole.SALES and u["active"]]
    owners: dict[int, list[dict]] = defaultdict(list)
    for own in data["account_ownerships"]:
        owners[own["organization_id"]].append(own)
    counted = {s for s in mo.OrderStatus} - {mo.OrderStatus.DRAFT, mo.OrderStatus.CANCELLED}
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    for order in data["orders"]:
        if order["status"] not in counted or order["placed_at"] < now - timedelta(days=365):
            continue
        for own in owners.get(order["customer_id"], ()):
            if own["started_at"] <= order["placed_at"] and (
                own["ended_at"] is None or own["ended_at"] > order["placed_at"]
            ):
                revenue[own["user_id"]] += order["total_amount"]
    rows = []
    for rep in sorted(reps, key=lambda u: u["id"]):
        monthly = revenue[rep["id"]] / 12 * Decimal("1.1")
        target = max(Decimal(10_000), (monthly / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 1000)
        for start, end in _months(now):
            rows.append(
                _stamp(
                    {
                        "rep_id": rep["id"],
                        "period_start": start,
                        "period_end": end,
                        "revenue_target": target,
                        "currency": "CNY",
                    },
                    datetime.combine(start, time(), UTC),
                )
            )
    if rows:
        await conn.execute(insert(m.SalesTarget.__table__), rows)
