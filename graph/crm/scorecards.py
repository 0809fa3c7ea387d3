"""Rep scorecards: the measures a sales rep is assessed by, for a period of whole days.

For a rep and a period [from, to] (inclusive dates, UTC):
- Revenue: counted orders placed in the period by customers the rep owned *when the order was
  placed* (account ownership history decides, so a handed-over account's revenue stays with
  the rep who earned it).
- Target: the sum of the rep's sales targets whose own period lies inside the scorecard's.
  Attainment = revenue ÷ target.
- Portfolio: the accounts the rep owns at the end of the period. A customer is *active* at a
  moment if it placed a counted order in the 365 days before it. Active at start / at end are
  taken at `from` 00:00 and at the day after `to`; gained = active at end but not at start,
  lost = active at start but not at end, churn rate = lost ÷ active at start.
- Visits: plans dated in the period (not cancelled), done, and fulfilment = done ÷ planned.
Each measure is one aggregate statement for all reps of the page (GROUP BY rep).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Integer, and_, case, func, literal, or_, select, type_coerce

from graph.crm.value import COUNTED, ORDER, TTM, ZERO, Run, ratio
from graph.crm.visits import Fulfilment, fulfilment_statement
from graph.models import people as mp
from graph.models.base import Money
from graph.models.crm import SalesTarget

OWNERSHIP = mp.AccountOwnership.__table__
TARGET = SalesTarget.__table__


@dataclass
class Scorecard:
    rep_id: int
    start: date
    end: date
    revenue: Decimal = ZERO
    target: Decimal | None = None
    portfolio: int = 0
    active_at_start: int = 0
    active_at_end: int = 0
    gained: int = 0
    lost: int = 0
    visits: Fulfilment = field(default_factory=lambda: Fulfilment(0, 0))

    @property
    def attainment(self) -> Decimal | None:
        return None if not self.target else ratio(self.revenue / self.target)

    @property
    def churn_rate(self) -> Decimal | None:
        return None if self.active_at_start == 0 else ratio(Decimal(self.lost) / self.active_at_start)


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[from 00:00 UTC, the day after `to` 00:00 UTC)."""
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def revenue_statement(rep_ids: Sequence[int], start: datetime, end: datetime):  # noqa: ANN201
    owned_then = and_(
        OWNERSHIP.c.organization_id == ORDER.c.customer_id,
        OWNERSHIP.c.started_at <= ORDER.c.placed_at,
        or_(OWNERSHIP.c.ended_at.is_(None), OWNERSHIP.c.ended_at > ORDER.c.placed_at),
    )
    return (
        select(OWNERSHIP.c.user_id, type_coerce(func.sum(ORDER.c.total_amount), Money).label("revenue"))
        .select_from(ORDER.join(OWNERSHIP, owned_then))
        .where(OWNERSHIP.c.user_id.in_(rep_ids), COUNTED, ORDER.c.placed_at >= start, ORDER.c.placed_at < end)
        .group_by(OWNERSHIP.c.user_id)
    )


def portfolio_statement(rep_ids: Sequence[int], start: datetime, end: datetime):  # noqa: ANN201
    """Per rep: accounts owned at `end`, active at start, active at end, gained, lost."""
    owned_at_end = and_(
        OWNERSHIP.c.user_id.in_(rep_ids),
        OWNERSHIP.c.started_at < end,
        or_(OWNERSHIP.c.ended_at.is_(None), OWNERSHIP.c.ended_at >= end),
    )

    def active_before(moment: datetime):  # noqa: ANN202
        window = and_(ORDER.c.placed_at >= moment - TTM, ORDER.c.placed_at < moment)
        return func.max(case((window, 1), else_=0))

    per_account = (
        select(
            OWNERSHIP.c.user_id,
            OWNERSHIP.c.organization_id,
            active_before(start).label("at_start"),
            active_before(end).label("at_end"),
        )
        .select_from(
            OWNERSHIP.outerjoin(ORDER, and_(ORDER.c.customer_id == OWNERSHIP.c.organization_id, COUNTED))
        )
        .where(owned_at_end)
        .group_by(OWNERSHIP.c.user_id, OWNERSHIP.c.organization_id)
        .subquery()
    )
    a = per_account.c

    def total(condition):  # noqa: ANN001, ANN202
        return type_coerce(func.coalesce(func.sum(case((condition, 1), else_=0)), literal(0)), Integer)

    return select(
        a.user_id,
        func.count().label("portfolio"),
        total(a.at_start == 1).label("active_at_start"),
        total(a.at_end == 1).label("active_at_end"),
        total(and_(a.at_end == 1, a.at_start == 0)).label("gained"),
        total(and_(a.at_start == 1, a.at_end == 0)).label("lost"),
    ).group_by(a.user_id)


def target_statement(rep_ids: Sequence[int], start: date, end: date):  # noqa: ANN201
    return (
        select(TARGET.c.rep_id, type_coerce(func.sum(TARGET.c.revenue_target), Money).label("target"))
        .where(
            TARGET.c.rep_id.in_(rep_ids),
            TARGET.c.period_start >= start,
            TARGET.c.period_end <= end,
            TARGET.c.archived_at.is_(None),
        )
        .group_by(TARGET.c.rep_id)
    )


async def scorecards(run: Run, rep_ids: Sequence[int], start: date, end: date) -> dict[int, Scorecard]:
    """Scorecards of `rep_ids` for [start, end]: four statements whatever the number of reps."""
    ids = sorted(set(rep_ids))
    cards = {rid: Scorecard(rid, start, end) for rid in ids}
    if not ids:
        return cards
    lower, upper = bounds(start, end)
    for row in await run(revenue_statement(ids, lower, upper)):
        cards[row.user_id].revenue = row.revenue
    for row in await run(portfolio_statement(ids, lower, upper)):
        card = cards[row.user_id]
        card.portfolio, card.active_at_start, card.active_at_end = (
            row.portfolio,
            row.active_at_start,
            row.active_at_end,
        )
        card.gained, card.lost = row.gained, row.lost
    for row in await run(target_statement(ids, start, end)):
        cards[row.rep_id].target = row.target
    for row in await run(fulfilment_statement(ids, start, end)):
        cards[row.rep_id].visits = Fulfilment(row.planned, row.done)
    return cards


async def set_target(uow, rep: mp.User, start: date, end: date, amount: Decimal) -> SalesTarget:  # noqa: ANN001
    """Set (or change) a rep's revenue target for a period."""
    existing = (
        await uow.session.execute(
            select(SalesTarget).where(
                SalesTarget.rep_id == rep.id, SalesTarget.period_start == start, SalesTarget.period_end == end
            )
        )
    ).scalar_one_or_none()
    if existing is None:
        return await uow.create(
            SalesTarget(
                rep_id=rep.id, period_start=start, period_end=end, revenue_target=amount, currency="CNY"
            )
        )
    return await uow.update(existing, {"revenue_target": amount, "archived_at": None})
