"""CRM insights: batched loaders for customer figures, revenue by period and scorecards,
the at-risk ranking, relations and filters. The figures themselves live in graph/crm/."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, type_coerce

from graph.crm import tiers
from graph.crm.scope import customer_scope, dialect_of
from graph.crm.scorecards import Scorecard, scorecards
from graph.crm.value import CustomerFigures, counted_orders, customer_figures
from graph.errors import BadInput
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as morg
from graph.models.base import Money, utcnow
from graph.models.crm import LifecycleChange, SalesTarget, TierChange, TierProposal, VisitPlan
from graph.reader import Reader

ORG = morg.Organization.__table__
PLAN = VisitPlan.__table__

TIER_CHANGES_OF_ORGANIZATION = Relation(
    "crm_tier_changes_of_org", TierChange, TierChange.__table__.c.organization_id
)
LIFECYCLE_OF_ORGANIZATION = Relation(
    "crm_lifecycle_of_org", LifecycleChange, LifecycleChange.__table__.c.organization_id
)
VISIT_PLANS_OF_ORGANIZATION = Relation("crm_visit_plans_of_org", VisitPlan, PLAN.c.organization_id)
PROPOSALS_OF_REVIEW = Relation("crm_proposals_of_review", TierProposal, TierProposal.__table__.c.review_id)
TARGETS_OF_REP = Relation("crm_targets_of_rep", SalesTarget, SalesTarget.__table__.c.rep_id)

MAX_PERIOD_DAYS = 366 * 10


def request_now(context: Any) -> datetime:
    """One "now" per request, so every field defaulting its asOf batches into one statement."""
    now = getattr(context, "_crm_now", None)
    if now is None:
        now = utcnow()
        context._crm_now = now
    return now


def as_of_or_now(context: Any, as_of: datetime | None) -> datetime:
    if as_of is None:
        return request_now(context)
    if as_of.tzinfo is None:
        raise BadInput("`asOf` needs a time zone, e.g. 2026-01-01T00:00:00Z.")
    return as_of.astimezone(UTC)


async def load_figures(reader: Reader, keys: Sequence[tuple[int, datetime]]) -> list[CustomerFigures | None]:
    """Figures per (customer id, as of): one aggregate statement per distinct moment (the
    customers are ones the caller already sees; the aggregate is scoped all the same)."""
    by_moment: dict[datetime, set[int]] = defaultdict(set)
    for cid, as_of in keys:
        by_moment[as_of].add(cid)
    scope = customer_scope(reader.principal)
    visible: dict[tuple[int, datetime], CustomerFigures] = {}
    for as_of, ids in by_moment.items():
        found = await customer_figures(reader.rows, dialect_of(reader.session), as_of, ids, scope)
        visible.update({(cid, as_of): f for cid, f in found.items()})
    return [visible.get(key) for key in keys]


async def load_rules(reader: Reader, keys: Sequence[int]) -> list[list[tiers.Rule]]:
    rules = await tiers.load_rules(reader.rows)
    return [rules for _ in keys]


async def ranked_at_risk(reader: Reader, as_of: datetime, min_risk: Decimal) -> list[CustomerFigures]:
    """Every visible active customer with churn risk ≥ `min_risk`, by value at risk (desc), id."""
    scope = customer_scope(reader.principal)
    found = await customer_figures(reader.rows, dialect_of(reader.session), as_of, None, scope)
    active = select(ORG.c.id).where(ORG.c.is_customer.is_(True), ORG.c.archived_at.is_(None))
    alive = {row.id for row in await reader.rows(active)}
    ranked = [
        f
        for f in found.values()
        if f.customer_id in alive and f.churn_risk is not None and f.churn_risk >= min_risk
    ]
    ranked.sort(key=lambda f: (-f.value_at_risk, f.customer_id))
    return ranked


def month_key(dialect: str, column):  # noqa: ANN001, ANN201
    """'YYYY-MM' of a UTC timestamp, on either backend."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def period_of(month: str, grain: str) -> str:
    year, mon = month.split("-")
    if grain == "month":
        return month
    if grain == "quarter":
        return f"{year}-Q{(int(mon) - 1) // 3 + 1}"
    return year


async def load_revenue_by_period(
    reader: Reader, keys: Sequence[tuple[int, str, date, date]]
) -> list[list[dict]]:
    """Revenue, cost and margin per period of each customer: one GROUP BY (customer, month)
    statement per distinct range; months roll up into quarters and years here."""
    by_range: dict[tuple[date, date], set[int]] = defaultdict(set)
    for cid, _grain, start, end in keys:
        by_range[(start, end)].add(cid)
    scope = customer_scope(reader.principal)
    dialect = dialect_of(reader.session)
    months: dict[tuple[int, date, date], list] = defaultdict(list)
    for (start, end), ids in by_range.items():
        lower = datetime.combine(start, time(), UTC)
        upper = datetime.combine(end + timedelta(days=1), time(), UTC)
        o = counted_orders(dialect, upper)
        key = month_key(dialect, o.c.placed_at).label("month")
        stmt = (
            select(
                o.c.customer_id,
                key,
                type_coerce(func.sum(o.c.revenue), Money).label("revenue"),
                type_coerce(func.sum(o.c.cost), Money).label("cost"),
            )
            .where(o.c.placed_at >= lower, o.c.customer_id.in_(sorted(ids)))
            .group_by(o.c.customer_id, key)
            .order_by(o.c.customer_id, key)
        )
        if scope is not None:
            stmt = stmt.where(scope(o.c.customer_id))
        for row in await reader.rows(stmt):
            months[(row.customer_id, start, end)].append(row)
    results = []
    for cid, grain, start, end in keys:
        periods: dict[str, dict] = {}
        for row in months.get((cid, start, end), []):
            p = periods.setdefault(period_of(row.month, grain), {"revenue": Decimal(0), "cost": Decimal(0)})
            p["revenue"] += row.revenue
            p["cost"] += row.cost
        results.append([{"period": k, **v} for k, v in periods.items()])
    return results


def scorecard_period(context: Any, period: Any | None) -> tuple[date, date]:
    """The period asked for, or the three calendar months before the current one."""
    if period is None:
        today = request_now(context).date()
        end = today.replace(day=1) - timedelta(days=1)
        months_back = today.year * 12 + today.month - 1 - 3
        start = date(months_back // 12, months_back % 12 + 1, 1)
    else:
        if period.from_ is None or period.to is None:
            raise BadInput("Give both `from` and `to` of the period.")
        start, end = period.from_, period.to
    check_period(start, end)
    return start, end


def check_period(start: date, end: date) -> None:
    if end < start:
        raise BadInput("`to` must not be before `from`.")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise BadInput("A period may span at most ten years.")


async def load_scorecards(reader: Reader, keys: Sequence[tuple[int, date, date]]) -> list[Scorecard]:
    by_period: dict[tuple[date, date], set[int]] = defaultdict(set)
    for rid, start, end in keys:
        by_period[(start, end)].add(rid)
    cards: dict[tuple[int, date, date], Scorecard] = {}
    for (start, end), ids in by_period.items():
        for rid, card in (await scorecards(reader.rows, sorted(ids), start, end)).items():
            cards[(rid, start, end)] = card
    return [cards[key] for key in keys]


@cached_filter
def visit_plan_filter(f: Any | None, key: Any) -> Filter:
    conditions = [PLAN.c.archived_at.is_(None)]
    if f is not None:
        if f.rep_id is not None:
            conditions.append(id_condition(PLAN.c.rep_id, f.rep_id, "User"))
        if f.organization_id is not None:
            conditions.append(id_condition(PLAN.c.organization_id, f.organization_id, "Organization"))
        if f.status:
            conditions.append(PLAN.c.status.in_(f.status))
        if f.planned is not None:
            if f.planned.from_ is not None:
                conditions.append(PLAN.c.planned_on >= f.planned.from_)
            if f.planned.to is not None:
                conditions.append(PLAN.c.planned_on <= f.planned.to)
    return Filter(key=key, conditions=tuple(conditions))
