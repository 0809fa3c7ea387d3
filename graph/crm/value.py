"""What a customer is worth and how likely it is to leave, computed from its orders.

All customers' figures come from ONE aggregate statement (orders grouped per customer, RFM
quintiles by NTILE over the customer base), so a list of customers with their insights costs
one statement whatever its length. Only the arithmetic on those aggregates (rhythm, churn
risk, lifetime value) happens in Python. Every figure is taken "as of" a moment: orders placed
at or after it do not exist yet, which makes the figures reproducible.

Definitions (the README's "Tiers, lifecycle, value and churn" explains them to users):
- Counted orders: every order placed before `as_of` that is not a draft and not cancelled.
- Revenue: the order totals. Cost: per line, as every margin in the product (graph/crm/costs.py):
  quantity × the line's supplier offer in the order's currency, else the product's cost if in
  that currency, else 0. Margin = revenue − cost.
- TTM: the 365 days before `as_of`. Halves: the last 182 days and the 182 days before them.
- Rhythm: the mean gap between the customer's orders = (last − first) / (orders − 1), in days,
  at least 7; with a single order it is taken as 90 days.
- Churn risk = clamp((days since last order / rhythm − 1) / 2, 0, 1): 0 while the customer is
  within its own rhythm, 0.5 after two of its gaps of silence, 1 after three.
- Lifetime value = margin to date + (TTM margin / 12) × 36 × (1 − churn risk): what the
  relationship has brought plus the margin of up to three more years, discounted by the risk.
- Value at risk = churn risk × TTM margin.
- RFM: quintile scores 1–5 among all customers with a counted order (NTILE(5), ties broken by
  id): R on the last order time (latest = 5), F on TTM order count, M on TTM revenue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select, type_coerce

from graph.crm import costs
from graph.models import contracts as mc
from graph.models import orders as mo
from graph.models import products as mp
from graph.models.base import Money
from graph.models.crm import LifecycleStage

Run = Callable[[Any], Awaitable[Sequence[Any]]]

ORDER = mo.Order.__table__
LINE = mo.OrderLine.__table__
PRODUCT = mp.Product.__table__
SUPPLY = mp.SupplierProduct.__table__
CONTRACT = mc.Contract.__table__

COUNTED = ORDER.c.status.not_in((mo.OrderStatus.DRAFT, mo.OrderStatus.CANCELLED))
TTM = timedelta(days=365)
HALF = timedelta(days=182)
MIN_RHYTHM_DAYS = 7
SINGLE_ORDER_RHYTHM_DAYS = 90
LIFETIME_HORIZON_MONTHS = 36
GROWTH_STAGE_THRESHOLD = Decimal("0.10")
NEW_CUSTOMER = timedelta(days=182)

_FOUR = Decimal("0.0001")
ZERO = Decimal("0.0000")  # an amount at Money's scale, as the database returns them
_DAY = 86400


def ratio(value: Decimal | float) -> Decimal:
    """A ratio or score rounded half-up to four places (as stored)."""
    return Decimal(str(value)).quantize(_FOUR, rounding=ROUND_HALF_UP)


@dataclass
class CustomerFigures:
    """The aggregates of one customer's counted orders as of a moment, and what follows."""

    customer_id: int
    as_of: datetime
    order_count: int = 0
    orders_ttm: int = 0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    revenue_total: Decimal = ZERO
    cost_total: Decimal = ZERO
    revenue_ttm: Decimal = ZERO
    cost_ttm: Decimal = ZERO
    revenue_last_half: Decimal = ZERO
    revenue_prev_half: Decimal = ZERO
    recency_score: int | None = None
    frequency_score: int | None = None
    monetary_score: int | None = None
    contracted_ttm: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def margin_total(self) -> Decimal:
        return self.revenue_total - self.cost_total

    @property
    def margin_ttm(self) -> Decimal:
        return self.revenue_ttm - self.cost_ttm

    @property
    def days_since_last_order(self) -> Decimal | None:
        if self.last_order_at is None:
            return None
        return ratio((self.as_of - self.last_order_at).total_seconds() / _DAY)

    @property
    def rhythm_days(self) -> Decimal | None:
        """The customer's own purchase rhythm: its mean gap between orders, in days."""
        if self.order_count == 0:
            return None
        if self.order_count == 1:
            return Decimal(SINGLE_ORDER_RHYTHM_DAYS)
        span = (self.last_order_at - self.first_order_at).total_seconds() / _DAY
        return max(Decimal(MIN_RHYTHM_DAYS), ratio(span / (self.order_count - 1)))

    @property
    def churn_risk(self) -> Decimal | None:
        if self.order_count == 0:
            return None
        silence = self.days_since_last_order / self.rhythm_days
        return ratio(min(Decimal(1), max(Decimal(0), (silence - 1) / 2)))

    @property
    def growth(self) -> Decimal | None:
        """Revenue of the last 182 days against the 182 before them (0.25 = +25 %)."""
        if self.revenue_prev_half == 0:
            return None
        return ratio((self.revenue_last_half - self.revenue_prev_half) / self.revenue_prev_half)

    @property
    def contract_fulfilment(self) -> Decimal | None:
        """TTM revenue against the contracted value falling in the same 365 days."""
        if not self.contracted_ttm:
            return None
        return ratio(self.revenue_ttm / self.contracted_ttm)

    @property
    def lifetime_value(self) -> Decimal:
        risk = self.churn_risk or Decimal(0)
        future = self.margin_ttm / 12 * LIFETIME_HORIZON_MONTHS * (1 - risk)
        return (self.margin_total + future).quantize(_FOUR, rounding=ROUND_HALF_UP)

    @property
    def value_at_risk(self) -> Decimal:
        return ((self.churn_risk or Decimal(0)) * self.margin_ttm).quantize(_FOUR, rounding=ROUND_HALF_UP)

    @property
    def rfm(self) -> str | None:
        if self.recency_score is None:
            return None
        return f"{self.recency_score}{self.frequency_score}{self.monetary_score}"

    @property
    def lifecycle_stage(self) -> LifecycleStage:
        return lifecycle_stage(self)[0]


def lifecycle_stage(f: CustomerFigures) -> tuple[LifecycleStage, str]:
    """The stage by the documented rules, first match wins, with the reason in words."""
    if f.order_count == 0:
        return LifecycleStage.PROSPECT, "no orders yet"
    if f.orders_ttm == 0:
        return LifecycleStage.TERMINATION, "no order in the last 12 months"
    if f.churn_risk >= 1:
        return LifecycleStage.TERMINATION, (
            f"silent for {f.days_since_last_order} days, three times its rhythm of {f.rhythm_days} days"
        )
    if f.as_of - f.first_order_at < NEW_CUSTOMER:
        return LifecycleStage.DEVELOPMENT, "first order less than 182 days ago"
    growth = f.growth
    if growth is not None and growth >= GROWTH_STAGE_THRESHOLD:
        return LifecycleStage.GROWTH, f"revenue grew {growth * 100:.2f} % half on half"
    return LifecycleStage.MATURITY, "established customer, revenue not growing 10 % half on half"


def order_costs(dialect: str):  # noqa: ANN201
    """Cost of each order, from its lines (a subquery: order_id, cost); see graph/crm/costs.py."""
    cost = costs.line_cost(LINE.c.quantity, costs.unit_cost(), dialect)
    return (
        select(LINE.c.order_id, type_coerce(func.sum(func.coalesce(cost, literal(0, Money))), Money).label("cost"))
        .select_from(costs.costed_lines())
        .group_by(LINE.c.order_id)
        .subquery("order_costs")
    )


def counted_orders(dialect: str, as_of: datetime):  # noqa: ANN201
    """Counted orders before `as_of` with revenue and cost (a subquery)."""
    costs = order_costs(dialect)
    return (
        select(
            ORDER.c.customer_id,
            ORDER.c.id.label("order_id"),
            ORDER.c.placed_at,
            ORDER.c.total_amount.label("revenue"),
            type_coerce(func.coalesce(costs.c.cost, literal(0, Money)), Money).label("cost"),
        )
        .select_from(ORDER.outerjoin(costs, costs.c.order_id == ORDER.c.id))
        .where(COUNTED, ORDER.c.placed_at < as_of)
        .subquery("counted")
    )


def _sum_when(condition: ColumnElement, value: ColumnElement) -> ColumnElement:
    return type_coerce(
        func.coalesce(func.sum(case((condition, value), else_=None)), literal(0, Money)), Money
    )


def figures_statement(
    dialect: str, as_of: datetime, customer_ids: Iterable[int] | None, scope: ColumnElement | None
):
    """One statement: per-customer aggregates and RFM quintiles over the whole customer base,
    returning the rows of `customer_ids` (all if None) that pass `scope`."""
    o = counted_orders(dialect, as_of)
    ttm = o.c.placed_at >= as_of - TTM
    last_half = o.c.placed_at >= as_of - HALF
    prev_half = and_(o.c.placed_at >= as_of - 2 * HALF, o.c.placed_at < as_of - HALF)
    per_customer = (
        select(
            o.c.customer_id,
            func.count().label("order_count"),
            func.count(case((ttm, o.c.order_id), else_=None)).label("orders_ttm"),
            func.min(o.c.placed_at).label("first_order_at"),
            func.max(o.c.placed_at).label("last_order_at"),
            type_coerce(func.sum(o.c.revenue), Money).label("revenue_total"),
            type_coerce(func.sum(o.c.cost), Money).label("cost_total"),
            _sum_when(ttm, o.c.revenue).label("revenue_ttm"),
            _sum_when(ttm, o.c.cost).label("cost_ttm"),
            _sum_when(last_half, o.c.revenue).label("revenue_last_half"),
            _sum_when(prev_half, o.c.revenue).label("revenue_prev_half"),
        )
        .group_by(o.c.customer_id)
        .subquery("per_customer")
    )
    c = per_customer.c
    ranked = select(
        *c,
        func.ntile(5).over(order_by=(c.last_order_at, c.customer_id)).label("recency_score"),
        func.ntile(5).over(order_by=(c.orders_ttm, c.customer_id)).label("frequency_score"),
        func.ntile(5).over(order_by=(c.revenue_ttm, c.customer_id)).label("monetary_score"),
    ).subquery("ranked")
    stmt = select(ranked)
    if customer_ids is not None:
        stmt = stmt.where(ranked.c.customer_id.in_(sorted(set(customer_ids))))
    if scope is not None:
        stmt = stmt.where(scope(ranked.c.customer_id))
    return stmt


def contracts_statement(as_of: datetime, customer_ids: Iterable[int] | None, scope: ColumnElement | None):
    """Sales and framework contracts with a value that overlap the TTM window."""
    stmt = select(
        CONTRACT.c.organization_id, CONTRACT.c.valid_from, CONTRACT.c.valid_to, CONTRACT.c.value
    ).where(
        CONTRACT.c.kind.in_((mc.ContractKind.SALES, mc.ContractKind.FRAMEWORK)),
        CONTRACT.c.status.in_((mc.ContractStatus.ACTIVE, mc.ContractStatus.EXPIRED)),
        CONTRACT.c.value.is_not(None),
        CONTRACT.c.valid_to.is_not(None),
        CONTRACT.c.archived_at.is_(None),
        CONTRACT.c.valid_from < as_of.date(),
        CONTRACT.c.valid_to >= (as_of - TTM).date(),
    )
    if customer_ids is not None:
        stmt = stmt.where(CONTRACT.c.organization_id.in_(sorted(set(customer_ids))))
    if scope is not None:
        stmt = stmt.where(scope(CONTRACT.c.organization_id))
    return stmt


def _contracted_in_window(as_of: datetime, valid_from, valid_to, value: Decimal) -> Decimal:  # noqa: ANN001
    """A contract's value prorated by the days (inclusive) it runs inside the TTM window."""
    start, end = (as_of - TTM).date(), (as_of - timedelta(days=1)).date()
    days = (valid_to - valid_from).days + 1
    overlap = (min(end, valid_to) - max(start, valid_from)).days + 1
    if days <= 0 or overlap <= 0:
        return Decimal(0)
    return value * overlap / days


async def customer_figures(
    run: Run,
    dialect: str,
    as_of: datetime,
    customer_ids: Iterable[int] | None = None,
    scope: Callable[[ColumnElement], ColumnElement] | None = None,
) -> dict[int, CustomerFigures]:
    """Figures of the given customers (or of every customer with orders), two statements.

    `scope(column)` limits the customer ids returned to those the caller may see."""
    ids = None if customer_ids is None else list(customer_ids)
    found: dict[int, CustomerFigures] = {}
    for row in await run(figures_statement(dialect, as_of, ids, scope)):
        values = dict(row._mapping)
        found[row.customer_id] = CustomerFigures(as_of=as_of, **values)
    for cid in ids or ():
        found.setdefault(cid, CustomerFigures(customer_id=cid, as_of=as_of))
    contracted: dict[int, Decimal] = {}
    for row in await run(contracts_statement(as_of, list(found) if ids is None else ids, scope)):
        contracted[row.organization_id] = contracted.get(
            row.organization_id, Decimal(0)
        ) + _contracted_in_window(as_of, row.valid_from, row.valid_to, row.value)
    for cid, value in contracted.items():
        if cid in found:
            found[cid].contracted_ttm = value
    return found
