"""Reports: sales dynamics, complaint analysis, credit analysis, customer financial statistics.

Every figure is computed by the database with aggregate SQL (GROUP BY) over rows limited by
`graph.access.visible()`, so a report covers exactly what the caller may read (a sales rep:
its own customers; a supplier: quality objections against its own order lines). Python only
derives ratios (margin %, utilisation %, averages) from the aggregated figures.

Definitions (also in the README, "CRM insights → Reports"):
- Sales are the lines of orders that were placed for real: every status except DRAFT and
  CANCELLED; archived orders and lines are left out. Revenue = Σ line totals, by `placed_at`.
- Cost of a line = quantity × unit cost, rounded half-up to 0.0001; the unit cost is the price
  of the line's supplier's offer for the product (supplier_products.price, today's offer, in
  the order's currency), else the product's own cost estimate (products.cost, if in the order's
  currency). Lines with neither count in `linesWithoutCost` and add no cost. Margin = revenue − cost.
- Money is never summed across currencies: every row and total carries its currency.
- Unpaid (credit exposure, outstanding): orders SUBMITTED, CONFIRMED, IN_FULFILMENT, SHIPPED or
  DELIVERED. Orders carry no invoice or payment fields; CLOSED is the status an order reaches
  when it is paid. An unpaid order is overdue when its payment is due before `as_of`, its due
  date being its promised date (else requested date) plus `payment_term_days`.
- Time to resolve: closed_at − opened_at of complaints and quality objections RESOLVED or
  CLOSED, in hours.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Float,
    Integer,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal_column,
    select,
    type_coerce,
)

from graph.access import visible
from graph.crm import costs
from graph.errors import BadInput
from graph.models import orders as om
from graph.models import organizations as orgm
from graph.models import products as pm
from graph.models import service as sm
from graph.models.base import Money
from graph.reader import Reader

ORDER = om.Order.__table__
LINE = om.OrderLine.__table__
ORG = orgm.Organization.__table__
PRODUCT = pm.Product.__table__
OFFER = pm.SupplierProduct.__table__
RECORD = sm.ServiceRecord.__table__

SALES_STATUSES = tuple(s for s in om.OrderStatus if s not in (om.OrderStatus.DRAFT, om.OrderStatus.CANCELLED))
UNPAID_STATUSES = (
    om.OrderStatus.SUBMITTED,
    om.OrderStatus.CONFIRMED,
    om.OrderStatus.IN_FULFILMENT,
    om.OrderStatus.SHIPPED,
    om.OrderStatus.DELIVERED,
)
COMPLAINT_KINDS = (sm.ServiceRecordKind.COMPLAINT, sm.ServiceRecordKind.QUALITY_OBJECTION)
RESOLVED_STATUSES = (sm.ServiceStatus.RESOLVED, sm.ServiceStatus.CLOSED)

DEFAULT_ROWS = 100
MAX_ROWS = 1000
DEFAULT_PAYMENT_TERM_DAYS = 30

_CENT = Decimal("0.01")
_MONEY = Decimal("0.0001")


class Period(enum.Enum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting on Monday
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class SalesDimension(enum.Enum):
    TIER = "tier"  # the customer's current tier
    REGION = "region"  # the customer's region
    CUSTOMER = "customer"
    PRODUCT = "product"
    SUPPLIER = "supplier"  # the supplier fulfilling the line


class ComplaintDimension(enum.Enum):
    KIND = "kind"
    SEVERITY = "severity"
    CUSTOMER = "customer"
    PRODUCT = "product"  # the record's product, else its order line's
    SUPPLIER = "supplier"  # the supplier of its order line


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupKey:
    """What a row is about: a period start and/or one dimension value (key: an enum value, a
    region, or a global id; label: a readable name). All None on a totals row."""

    period: date | None = None
    key: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class SalesFigures:
    group: GroupKey
    currency: str
    revenue: Decimal
    cost: Decimal
    order_count: int
    lines_without_cost: int

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin, self.revenue)


@dataclass(frozen=True)
class ComplaintFigures:
    group: GroupKey
    count: int
    open_count: int
    resolved_count: int
    avg_hours_to_resolve: float | None
    max_hours_to_resolve: float | None


@dataclass(frozen=True)
class CreditFigures:
    customer_id: int
    customer_name: str
    tier: orgm.CustomerTier | None
    credit_standing: orgm.CreditStanding | None
    currency: str
    credit_limit: Decimal | None  # only in the row of the credit currency
    exposure: Decimal
    open_order_count: int
    overdue_amount: Decimal
    overdue_order_count: int

    @property
    def utilisation_percent(self) -> Decimal | None:
        return percent(self.exposure, self.credit_limit)

    @property
    def available_credit(self) -> Decimal | None:
        return None if self.credit_limit is None else self.credit_limit - self.exposure


@dataclass(frozen=True)
class CreditTotals:
    currency: str
    exposure: Decimal
    open_order_count: int
    overdue_amount: Decimal
    overdue_order_count: int
    customer_count: int  # customers with unpaid orders in this currency


@dataclass(frozen=True)
class CustomerFigures:
    customer_id: int | None  # None on a totals row
    customer_name: str | None
    tier: orgm.CustomerTier | None
    currency: str
    revenue: Decimal
    cost: Decimal
    order_count: int
    lines_without_cost: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    outstanding: Decimal
    customer_count: int = 1

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin, self.revenue)

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.order_count:
            return None
        return (self.revenue / self.order_count).quantize(_MONEY, ROUND_HALF_UP)


RowT = TypeVar("RowT")
TotalT = TypeVar("TotalT")


@dataclass(frozen=True)
class Report(Generic[RowT, TotalT]):  # noqa: UP046 - Python 3.11 has no `class Report[RowT, TotalT]`
    """At most `limit` rows, how many there are in all, and the totals over all of them."""

    rows: list[RowT]
    total_rows: int
    totals: list[TotalT]

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows)


def percent(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return (part * 100 / whole).quantize(_CENT, ROUND_HALF_UP)


# -- arguments -------------------------------------------------------------------------------


def row_limit(first: int | None) -> int:
    if first is None:
        return DEFAULT_ROWS
    if not 1 <= first <= MAX_ROWS:
        raise BadInput(f"`first` must be between 1 and {MAX_ROWS}; got {first}.")
    return first


def day_range(column: Any, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    """`column` (a UTC timestamp) on the days from `start` to `end`, both inclusive."""
    if start is not None and end is not None and start > end:
        raise BadInput("The date range ends before it starts.")
    conditions = []
    if start is not None:
        conditions.append(column >= datetime.combine(start, time(0), UTC))
    if end is not None:
        conditions.append(column < datetime.combine(end + timedelta(days=1), time(0), UTC))
    return conditions


def _scoped(model: type, reader: Reader) -> list[ColumnElement[bool]]:
    condition = visible(model, reader.principal)
    return [] if condition is None else [condition]


def _dialect(reader: Reader) -> str:
    return reader.session.get_bind().dialect.name


# -- one SQL expression per dialect ----------------------------------------------------------


def _const(value: str | int) -> Any:
    """A constant rendered inline, so an expression is identical wherever it is repeated."""
    return literal_column(f"'{value}'" if isinstance(value, str) else str(value))


def period_start(column: Any, period: Period, dialect: str) -> ColumnElement[date]:
    """The first day (UTC) of the period `column` (a UTC timestamp) falls in."""
    if dialect == "postgresql":
        # timestamptz → the UTC wall clock, so the session's time zone cannot move a bucket.
        utc = func.timezone(_const("UTC"), column)
        return cast(func.date_trunc(_const(period.value), utc), Date)
    # SQLite keeps UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
    if period is Period.DAY:
        expr = func.date(column)
    elif period is Period.WEEK:
        # 'weekday 0' moves forward to Sunday (staying on a Sunday); 6 days back is its Monday.
        expr = func.date(column, _const("weekday 0"), _const("-6 days"))
    elif period is Period.MONTH:
        expr = func.strftime(_const("%Y-%m-01"), column)
    elif period is Period.QUARTER:
        month = cast(func.strftime(_const("%m"), column), Integer)
        quarter = (month - _const(1)).op("/", precedence=8)(_const(3))  # integer division: 0–3
        first_month = quarter * _const(3) + _const(1)
        expr = func.printf(_const("%s-%02d-01"), func.strftime(_const("%Y"), column), first_month)
    else:
        expr = func.strftime(_const("%Y-01-01"), column)
    return type_coerce(expr, Date)


def seconds_between(start: Any, end: Any, dialect: str) -> ColumnElement[Any]:
    """Seconds from `start` to `end` (UTC timestamps)."""
    if dialect == "postgresql":
        return extract("epoch", end - start)
    return cast(func.strftime(_const("%s"), end), Integer) - cast(func.strftime(_const("%s"), start), Integer)


def _zero_money(value: Decimal | None) -> Decimal:
    return Decimal("0.0000") if value is None else value


def _hours(seconds: Any) -> float | None:
    if seconds is None:
        return None
    return float((Decimal(str(seconds)) / 3600).quantize(_CENT, ROUND_HALF_UP))


def _global_id(type_name: str, record_id: int | None) -> str | None:
    from graph.ids import encode_global_id

    return None if record_id is None else encode_global_id(type_name, record_id)


def _enum_value(value: Any) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, enum.Enum) else str(value)


# -- sales dynamics --------------------------------------------------------------------------


def _sales_facts(
    reader: Reader,
    *,
    period: Period | None,
    dimension: SalesDimension | None,
    placed_from: date | None,
    placed_to: date | None,
    currency: str | None,
    customer_id: int | None = None,
):  # noqa: ANN202 - a subquery
    """One row per sold line: its order, currency, revenue, cost and grouping keys."""
    dialect = _dialect(reader)
    unit_cost = costs.unit_cost()
    columns: list[Any] = [
        ORDER.c.id.label("order_id"),
        ORDER.c.customer_id,
        ORDER.c.currency,
        ORDER.c.placed_at,
        LINE.c.line_total.label("revenue"),
        costs.line_cost(LINE.c.quantity, unit_cost, dialect).label("cost"),
        case((unit_cost.is_(None), 1), else_=0).label("uncosted"),
    ]
    source = costs.costed_lines()
    if period is not None:
        columns.append(period_start(ORDER.c.placed_at, period, dialect).label("period"))
    if dimension in (SalesDimension.TIER, SalesDimension.REGION, SalesDimension.CUSTOMER):
        customer = ORG.alias("customer")
        source = source.join(customer, customer.c.id == ORDER.c.customer_id)
        if dimension is SalesDimension.CUSTOMER:
            columns += [customer.c.id.label("key_id"), customer.c.name.label("label")]
        else:
            columns.append(customer.c[dimension.value].label("key"))
    elif dimension is SalesDimension.PRODUCT:
        columns += [PRODUCT.c.id.label("key_id"), PRODUCT.c.name.label("label")]
    elif dimension is SalesDimension.SUPPLIER:
        supplier = ORG.alias("supplier")
        source = source.outerjoin(supplier, supplier.c.id == LINE.c.supplier_id)
        columns += [LINE.c.supplier_id.label("key_id"), supplier.c.name.label("label")]
    conditions = [
        ORDER.c.status.in_(SALES_STATUSES),
        ORDER.c.archived_at.is_(None),
        LINE.c.archived_at.is_(None),
        *day_range(ORDER.c.placed_at, placed_from, placed_to),
        *_scoped(om.Order, reader),
        *_scoped(om.OrderLine, reader),
    ]
    if currency is not None:
        conditions.append(ORDER.c.currency == currency)
    if customer_id is not None:
        conditions.append(ORDER.c.customer_id == customer_id)
    return select(*columns).select_from(source).where(*conditions).subquery("sales")


def _sales_sums(facts: Any) -> list[Any]:
    return [
        func.sum(facts.c.revenue).label("revenue"),
        func.sum(facts.c.cost).label("cost"),
        func.sum(facts.c.uncosted).label("uncosted"),
        func.count(distinct(facts.c.order_id)).label("order_count"),
    ]


_GLOBAL_TYPE = {
    SalesDimension.CUSTOMER: "Organization",
    SalesDimension.PRODUCT: "Product",
    SalesDimension.SUPPLIER: "Organization",
    ComplaintDimension.CUSTOMER: "Organization",
    ComplaintDimension.PRODUCT: "Product",
    ComplaintDimension.SUPPLIER: "Organization",
}


def _group_columns(facts: Any, period: Period | None, dimension: Any) -> list[Any]:
    names = []
    if period is not None:
        names.append("period")
    if dimension in _GLOBAL_TYPE:
        names += ["key_id", "label"]
    elif dimension is not None:
        names.append("key")
    return [facts.c[name] for name in names]


def _group_key(row: Any, period: Period | None, dimension: Any) -> GroupKey:
    if dimension is None:
        return GroupKey(period=row.period if period else None)
    if dimension in _GLOBAL_TYPE:
        key, label = _global_id(_GLOBAL_TYPE[dimension], row.key_id), row.label
    else:
        key = _enum_value(row.key)
        label = key
    return GroupKey(period=row.period if period else None, key=key, label=label)


async def sales_dynamics(
    reader: Reader,
    *,
    period: Period | None = None,
    group_by: SalesDimension | None = None,
    placed_from: date | None = None,
    placed_to: date | None = None,
    currency: str | None = None,
    first: int | None = None,
) -> Report[SalesFigures, SalesFigures]:
    """Revenue, cost, margin and order count per period and/or dimension, per currency.

    Rows come by period (oldest first), then by revenue (largest first); totals per currency."""
    limit = row_limit(first)
    window = {"placed_from": placed_from, "placed_to": placed_to, "currency": currency}
    facts = _sales_facts(reader, period=period, dimension=group_by, **window)
    groups = [*_group_columns(facts, period, group_by), facts.c.currency]
    sums = _sales_sums(facts)
    # NULL keys sort last on both databases (SQLite would put them first).
    order = ([facts.c.period] if period else []) + [sums[0].desc(), *(g.asc().nulls_last() for g in groups)]
    # Each order falls in exactly one group unless lines are grouped (product, supplier): then
    # the totals per currency are window sums over the groups, read off the rows at no extra
    # cost, unless the limit cut a currency's groups off (then they take a statement of their own).
    additive = group_by not in (SalesDimension.PRODUCT, SalesDimension.SUPPLIER)
    per_currency = (
        [func.sum(total).over(partition_by=facts.c.currency).label(f"all_{total.name}") for total in sums]
        if additive
        else []
    )
    stmt = (
        select(*groups, *sums, *per_currency, func.count().over().label("total_rows"))
        .group_by(*groups)
        .order_by(*order)
        .limit(limit)
    )
    rows = await reader.rows(stmt)
    total_rows = rows[0].total_rows if rows else 0
    if additive and total_rows == len(rows):
        totals = [_SummedRow(row) for row in {row.currency: row for row in rows}.values()]
        totals.sort(key=lambda row: row.currency)
    else:
        totals_facts = _sales_facts(reader, period=None, dimension=None, **window)
        totals = await reader.rows(
            select(totals_facts.c.currency, *_sales_sums(totals_facts))
            .group_by(totals_facts.c.currency)
            .order_by(totals_facts.c.currency)
        )
    return Report(
        rows=[_sales_figures(row, _group_key(row, period, group_by)) for row in rows],
        total_rows=total_rows,
        totals=[_sales_figures(row, GroupKey()) for row in totals],
    )


class _SummedRow:
    """A group row's per-currency window sums, read as a totals row."""

    def __init__(self, row: Any) -> None:
        self.currency = row.currency
        self.revenue, self.cost = row.all_revenue, row.all_cost
        self.uncosted, self.order_count = row.all_uncosted, row.all_order_count


def _sales_figures(row: Any, group: GroupKey) -> SalesFigures:
    return SalesFigures(
        group=group,
        currency=row.currency,
        revenue=_zero_money(row.revenue),
        cost=_zero_money(row.cost),
        order_count=int(row.order_count),
        lines_without_cost=int(row.uncosted or 0),
    )


# -- complaint analysis ----------------------------------------------------------------------


async def complaint_analysis(
    reader: Reader,
    *,
    group_by: ComplaintDimension,
    period: Period | None = None,
    kinds: list[sm.ServiceRecordKind] | None = None,
    opened_from: date | None = None,
    opened_to: date | None = None,
    first: int | None = None,
) -> Report[ComplaintFigures, ComplaintFigures]:
    """How many complaints and quality objections, how many still open, and how long the
    resolved ones took, per dimension (and period of opening); one totals row."""
    limit = row_limit(first)
    if group_by is ComplaintDimension.CUSTOMER and not reader.principal.is_internal:
        # A supplier sees the objections to its lines, never who raised them.
        raise BadInput("Only internal users may group complaints by customer.", code="FORBIDDEN")
    kinds = list(kinds or COMPLAINT_KINDS)
    if any(kind not in COMPLAINT_KINDS for kind in kinds):
        raise BadInput("Complaint analysis covers the kinds COMPLAINT and QUALITY_OBJECTION only.")
    dialect = _dialect(reader)
    product_id = func.coalesce(RECORD.c.product_id, LINE.c.product_id)
    resolved = and_(RECORD.c.status.in_(RESOLVED_STATUSES), RECORD.c.closed_at.is_not(None))
    columns: list[Any] = [
        case((RECORD.c.status.in_(sm.OPEN_STATUSES), 1), else_=0).label("open"),
        case((resolved, seconds_between(RECORD.c.opened_at, RECORD.c.closed_at, dialect))).label("seconds"),
    ]
    source = RECORD.outerjoin(LINE, LINE.c.id == RECORD.c.order_line_id)
    if period is not None:
        columns.append(period_start(RECORD.c.opened_at, period, dialect).label("period"))
    if group_by in (ComplaintDimension.KIND, ComplaintDimension.SEVERITY):
        columns.append(RECORD.c[group_by.value].label("key"))
    elif group_by is ComplaintDimension.CUSTOMER:
        customer = ORG.alias("customer")
        source = source.join(customer, customer.c.id == RECORD.c.organization_id)
        columns += [customer.c.id.label("key_id"), customer.c.name.label("label")]
    elif group_by is ComplaintDimension.PRODUCT:
        source = source.outerjoin(PRODUCT, PRODUCT.c.id == product_id)
        columns += [product_id.label("key_id"), PRODUCT.c.name.label("label")]
    else:
        supplier = ORG.alias("supplier")
        source = source.outerjoin(supplier, supplier.c.id == LINE.c.supplier_id)
        columns += [LINE.c.supplier_id.label("key_id"), supplier.c.name.label("label")]
    facts = (
        select(*columns)
        .select_from(source)
        .where(
            RECORD.c.kind.in_(kinds),
            RECORD.c.archived_at.is_(None),
            *day_range(RECORD.c.opened_at, opened_from, opened_to),
            *_scoped(sm.ServiceRecord, reader),
        )
        .subquery("complaints")
    )
    groups = _group_columns(facts, period, group_by)
    sums = [
        func.count().label("count"),
        func.sum(facts.c.open).label("open_count"),
        func.count(facts.c.seconds).label("resolved_count"),
        func.avg(facts.c.seconds).label("avg_seconds"),
        func.max(facts.c.seconds).label("max_seconds"),
    ]
    # NULL keys sort last on both databases (SQLite would put them first).
    order = ([facts.c.period] if period else []) + [sums[0].desc(), *(g.asc().nulls_last() for g in groups)]
    rows = await reader.rows(
        select(*groups, *sums, func.count().over().label("total_rows"))
        .group_by(*groups)
        .order_by(*order)
        .limit(limit)
    )
    total = (await reader.rows(select(*sums)))[0]
    return Report(
        rows=[_complaint_figures(row, _group_key(row, period, group_by)) for row in rows],
        total_rows=rows[0].total_rows if rows else 0,
        totals=[_complaint_figures(total, GroupKey())],
    )


def _complaint_figures(row: Any, group: GroupKey) -> ComplaintFigures:
    return ComplaintFigures(
        group=group,
        count=int(row.count),
        open_count=int(row.open_count or 0),
        resolved_count=int(row.resolved_count),
        avg_hours_to_resolve=_hours(row.avg_seconds),
        max_hours_to_resolve=_hours(row.max_seconds),
    )


# -- credit analysis -------------------------------------------------------------------------


def _unpaid_orders(reader: Reader, as_of: date, payment_term_days: int):  # noqa: ANN202 - a subquery
    """Per customer and currency: unpaid total and count, and the overdue part of them."""
    # Due = (promised, else requested date) + term < as_of  ⇔  that date < as_of − term.
    overdue = func.coalesce(ORDER.c.promised_date, ORDER.c.requested_date) < as_of - timedelta(
        days=payment_term_days
    )
    return (
        select(
            ORDER.c.customer_id,
            ORDER.c.currency,
            func.sum(ORDER.c.total_amount).label("exposure"),
            func.count().label("open_count"),
            func.sum(type_coerce(case((overdue, ORDER.c.total_amount), else_=_const(0)), Money)).label(
                "overdue"
            ),
            func.sum(case((overdue, 1), else_=0)).label("overdue_count"),
        )
        .where(
            ORDER.c.status.in_(UNPAID_STATUSES),
            ORDER.c.archived_at.is_(None),
            *_scoped(om.Order, reader),
        )
        .group_by(ORDER.c.customer_id, ORDER.c.currency)
        .subquery("unpaid")
    )


async def credit_analysis(
    reader: Reader,
    *,
    as_of: date | None = None,
    payment_term_days: int = DEFAULT_PAYMENT_TERM_DAYS,
    customer_id: int | None = None,
    first: int | None = None,
) -> Report[CreditFigures, CreditTotals]:
    """Per customer (and currency of its unpaid orders): exposure against the credit limit,
    utilisation and overdue amounts. Highest utilisation first, then largest exposure."""
    limit = row_limit(first)
    if not 0 <= payment_term_days <= 3650:
        raise BadInput("`paymentTermDays` must be between 0 and 3650.")
    as_of = as_of or datetime.now(UTC).date()
    unpaid = _unpaid_orders(reader, as_of, payment_term_days)
    customer = ORG
    currency = func.coalesce(unpaid.c.currency, customer.c.credit_currency)
    limit_applies = currency == customer.c.credit_currency
    # For ordering only (raw units cancel out on SQLite); the figure itself is exact Decimal.
    exposure_raw = func.coalesce(cast(type_coerce(unpaid.c.exposure, BigInteger), Float), _const(0))
    utilisation_order = case(
        (
            and_(limit_applies, customer.c.credit_limit > 0),
            exposure_raw / cast(type_coerce(customer.c.credit_limit, BigInteger), Float),
        )
    )
    conditions = [
        customer.c.is_customer.is_(True),
        customer.c.archived_at.is_(None),
        *_scoped(orgm.Organization, reader),
    ]
    if customer_id is not None:
        conditions.append(customer.c.id == customer_id)
    stmt = (
        select(
            customer.c.id,
            customer.c.name,
            customer.c.tier,
            customer.c.credit_standing,
            currency.label("currency"),
            case((limit_applies, customer.c.credit_limit)).label("credit_limit"),
            unpaid.c.exposure,
            unpaid.c.open_count,
            unpaid.c.overdue,
            unpaid.c.overdue_count,
            func.count().over().label("total_rows"),
        )
        .select_from(customer.outerjoin(unpaid, unpaid.c.customer_id == customer.c.id))
        .where(*conditions)
        .order_by(
            utilisation_order.desc().nulls_last(),
            unpaid.c.exposure.desc().nulls_last(),
            customer.c.id,
            currency,
        )
        .limit(limit)
    )
    rows = await reader.rows(stmt)
    totals = await reader.rows(
        select(
            unpaid.c.currency,
            func.sum(unpaid.c.exposure).label("exposure"),
            func.sum(unpaid.c.open_count).label("open_count"),
            func.sum(unpaid.c.overdue).label("overdue"),
            func.sum(unpaid.c.overdue_count).label("overdue_count"),
            func.count().label("customer_count"),
        )
        .select_from(unpaid.join(customer, customer.c.id == unpaid.c.customer_id))
        .where(*conditions)
        .group_by(unpaid.c.currency)
        .order_by(unpaid.c.currency)
    )
    return Report(
        rows=[
            CreditFigures(
                customer_id=row.id,
                customer_name=row.name,
                tier=row.tier,
                credit_standing=row.credit_standing,
                currency=row.currency,
                credit_limit=row.credit_limit,
                exposure=_zero_money(row.exposure),
                open_order_count=int(row.open_count or 0),
                overdue_amount=_zero_money(row.overdue),
                overdue_order_count=int(row.overdue_count or 0),
            )
            for row in rows
        ],
        total_rows=rows[0].total_rows if rows else 0,
        totals=[
            CreditTotals(
                currency=row.currency,
                exposure=_zero_money(row.exposure),
                open_order_count=int(row.open_count),
                overdue_amount=_zero_money(row.overdue),
                overdue_order_count=int(row.overdue_count),
                customer_count=int(row.customer_count),
            )
            for row in totals
        ],
    )


# -- customer financial statistics -----------------------------------------------------------


async def customer_financials(
    reader: Reader,
    *,
    placed_from: date | None = None,
    placed_to: date | None = None,
    currency: str | None = None,
    customer_id: int | None = None,
    first: int | None = None,
) -> Report[CustomerFigures, CustomerFigures]:
    """Per customer and currency: revenue, cost, margin, orders, average order value, first
    and last order (in the date range) and what is outstanding today. Largest revenue first."""
    limit = row_limit(first)
    window = {
        "placed_from": placed_from,
        "placed_to": placed_to,
        "currency": currency,
        "customer_id": customer_id,
    }
    facts = _sales_facts(reader, period=None, dimension=None, **window)
    per_customer = (
        select(
            facts.c.customer_id,
            facts.c.currency,
            *_sales_sums(facts),
            func.min(facts.c.placed_at).label("first_order_at"),
            func.max(facts.c.placed_at).label("last_order_at"),
        )
        .group_by(facts.c.customer_id, facts.c.currency)
        .subquery("per_customer")
    )
    unpaid = _unpaid_orders(reader, datetime.now(UTC).date(), DEFAULT_PAYMENT_TERM_DAYS)
    joined = per_customer.join(ORG, ORG.c.id == per_customer.c.customer_id).outerjoin(
        unpaid,
        and_(
            unpaid.c.customer_id == per_customer.c.customer_id, unpaid.c.currency == per_customer.c.currency
        ),
    )
    rows = await reader.rows(
        select(
            per_customer,
            ORG.c.name,
            ORG.c.tier,
            unpaid.c.exposure.label("outstanding"),
            func.count().over().label("total_rows"),
        )
        .select_from(joined)
        .order_by(per_customer.c.revenue.desc(), per_customer.c.customer_id, per_customer.c.currency)
        .limit(limit)
    )
    totals = await reader.rows(
        select(
            per_customer.c.currency,
            func.sum(per_customer.c.revenue).label("revenue"),
            func.sum(per_customer.c.cost).label("cost"),
            func.sum(per_customer.c.uncosted).label("uncosted"),
            func.sum(per_customer.c.order_count).label("order_count"),
            func.min(per_customer.c.first_order_at).label("first_order_at"),
            func.max(per_customer.c.last_order_at).label("last_order_at"),
            func.sum(unpaid.c.exposure).label("outstanding"),
            func.count().label("customer_count"),
        )
        .select_from(
            per_customer.outerjoin(
                unpaid,
                and_(
                    unpaid.c.customer_id == per_customer.c.customer_id,
                    unpaid.c.currency == per_customer.c.currency,
                ),
            )
        )
        .group_by(per_customer.c.currency)
        .order_by(per_customer.c.currency)
    )
    return Report(
        rows=[_customer_figures(row, row.customer_id, row.name, row.tier) for row in rows],
        total_rows=rows[0].total_rows if rows else 0,
        totals=[_customer_figures(row, None, None, None, int(row.customer_count)) for row in totals],
    )


def _customer_figures(
    row: Any, customer_id: int | None, name: str | None, tier: Any, customer_count: int = 1
) -> CustomerFigures:
    return CustomerFigures(
        customer_id=customer_id,
        customer_name=name,
        tier=tier,
        currency=row.currency,
        revenue=_zero_money(row.revenue),
        cost=_zero_money(row.cost),
        order_count=int(row.order_count),
        lines_without_cost=int(row.uncosted or 0),
        first_order_at=row.first_order_at,
        last_order_at=row.last_order_at,
        outstanding=_zero_money(row.outstanding),
        customer_count=customer_count,
    )
