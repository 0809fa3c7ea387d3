"""GraphQL types for the reports: sales dynamics, complaint analysis, credit analysis and
customer financial statistics (figures computed in graph/crm/reports.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.permission import BasePermission

from graph.access import may_read_report
from graph.context import Info
from graph.crm import reports as crm
from graph.ids import encode_global_id
from graph.models import organizations as orgm
from graph.resolvers import reports as r
from graph.types.common import DateRange, Money, doc, load_one, money
from graph.types.organizations import CreditStanding, CustomerTier
from graph.types.refs import OrganizationRef
from graph.types.service import ServiceRecordKind

ReportPeriod = strawberry.enum(
    crm.Period, name="ReportPeriod", description="A calendar period (UTC); weeks start on Monday."
)
SalesDimension = strawberry.enum(
    crm.SalesDimension,
    description="What sales are grouped by: the customer's current tier or region, the customer, "
    "the product, or the supplier fulfilling the line.",
)
ComplaintDimension = strawberry.enum(
    crm.ComplaintDimension,
    description="What complaints are grouped by: kind, severity, customer, product (the record's, else its "
    "order line's) or the supplier of its order line.",
)

Rows = Annotated[
    int | None,
    strawberry.argument(
        description=f"At most this many rows (default {crm.DEFAULT_ROWS}, at most {crm.MAX_ROWS})."
    ),
]


def report_readers(report: str) -> type[BasePermission]:
    """The permission of a report field: graph.access.may_read_report."""

    class ReportReaders(BasePermission):
        message = f"Your role may not read the {report} report."
        error_extensions = {"code": "FORBIDDEN"}

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            return may_read_report(info.context.principal, report)

    ReportReaders.__name__ = f"ReportReaders_{report.replace('-', '_')}"
    return ReportReaders


def _dates(dates: DateRange | None) -> dict[str, date | None]:
    return {"date_from": dates.from_ if dates else None, "date_to": dates.to if dates else None}


# -- sales dynamics --------------------------------------------------------------------------


@strawberry.type(
    description="Sales of one period and/or dimension value, in one currency (or a total per currency)."
)
class SalesDynamicsRow:
    period: date | None = doc("First day of the period (null when not grouped by period, and on totals).")
    key: str | None = doc(
        "The dimension value: a tier or region, or the global id of the customer, product or supplier."
    )
    label: str | None = doc("A readable name for `key`.")
    currency: str = doc("Currency of every amount in this row (amounts are never summed across currencies).")
    revenue: Money = doc(
        "Σ line totals of orders placed in the period (every status but DRAFT and CANCELLED)."
    )
    cost: Money = doc("Σ quantity × unit cost: the line's supplier's offer price, else the product's cost.")
    margin: Money = doc("Revenue − cost.")
    margin_percent: Decimal | None = doc(
        "Margin as a percentage of revenue (2 decimals); null without revenue."
    )
    order_count: int = doc("Distinct orders.")
    lines_without_cost: int = doc(
        "Lines whose cost is unknown (no offer or cost in the order's currency): they add no cost."
    )


def _sales_row(figures: crm.SalesFigures) -> SalesDynamicsRow:
    return SalesDynamicsRow(
        period=figures.group.period,
        key=figures.group.key,
        label=figures.group.label,
        currency=figures.currency,
        revenue=Money(amount=figures.revenue, currency=figures.currency),
        cost=Money(amount=figures.cost, currency=figures.currency),
        margin=Money(amount=figures.margin, currency=figures.currency),
        margin_percent=figures.margin_percent,
        order_count=figures.order_count,
        lines_without_cost=figures.lines_without_cost,
    )


@strawberry.type(
    description="Sales dynamics: at most `first` rows, how many there are, and totals per currency."
)
class SalesDynamicsReport:
    rows: list[SalesDynamicsRow] = doc("By period (oldest first), then by revenue (largest first).")
    total_rows: int = doc("How many rows the report has in all.")
    truncated: bool = doc("Whether rows were left out (totalRows > rows returned).")
    totals: list[SalesDynamicsRow] = doc(
        "One row per currency over everything in range, whether returned or not."
    )


# -- complaint analysis ----------------------------------------------------------------------


@strawberry.type(
    description="Complaints and quality objections of one dimension value (and period), or the total."
)
class ComplaintAnalysisRow:
    period: date | None = doc("First day of the period the records were opened in (when grouped by period).")
    key: str | None = doc(
        "The dimension value: a kind or severity, or the global id of the customer, product or supplier; null: none recorded."
    )
    label: str | None = doc("A readable name for `key`.")
    count: int = doc("Records opened.")
    open_count: int = doc("Still open or in progress.")
    resolved_count: int = doc("Resolved or closed.")
    avg_hours_to_resolve: float | None = doc(
        "Mean hours from opening to closing, over the resolved ones (2 decimals)."
    )
    max_hours_to_resolve: float | None = doc("Longest time to resolve, in hours.")


def _complaint_row(figures: crm.ComplaintFigures) -> ComplaintAnalysisRow:
    return ComplaintAnalysisRow(
        period=figures.group.period,
        key=figures.group.key,
        label=figures.group.label,
        count=figures.count,
        open_count=figures.open_count,
        resolved_count=figures.resolved_count,
        avg_hours_to_resolve=figures.avg_hours_to_resolve,
        max_hours_to_resolve=figures.max_hours_to_resolve,
    )


@strawberry.type(description="Complaint analysis: at most `first` rows, how many there are, and the total.")
class ComplaintAnalysisReport:
    rows: list[ComplaintAnalysisRow] = doc("By period (oldest first), then by count (largest first).")
    total_rows: int = doc("How many rows the report has in all.")
    truncated: bool = doc("Whether rows were left out.")
    total: ComplaintAnalysisRow = doc("Over every record in range.")


# -- credit analysis -------------------------------------------------------------------------


@strawberry.type(description="One customer's credit exposure in one currency.")
class CreditAnalysisRow:
    customer_id: strawberry.ID = doc("The customer's global id.")
    customer_name: str = doc("The customer's name.")
    tier: CustomerTier | None = doc("Its current tier.")
    credit_standing: CreditStanding | None = doc("Our judgement of its credit.")
    currency: str = doc("Currency of the amounts (the credit currency when it has no unpaid orders).")
    credit_limit: Money | None = doc(
        "Its credit limit; null when it has none or this row is in another currency."
    )
    exposure: Money = doc(
        "Σ totals of its unpaid orders (SUBMITTED, CONFIRMED, IN_FULFILMENT, SHIPPED, DELIVERED)."
    )
    utilisation_percent: Decimal | None = doc("Exposure as a percentage of the credit limit (2 decimals).")
    available_credit: Money | None = doc("Credit limit − exposure (negative: over the limit).")
    over_limit: bool = doc("Whether exposure exceeds the credit limit.")
    open_order_count: int = doc("Unpaid orders.")
    overdue_amount: Money = doc("Σ totals of unpaid orders whose payment is due before `asOf`.")
    overdue_order_count: int = doc("Unpaid orders whose payment is due before `asOf`.")

    @strawberry.field(description="The customer.")
    async def customer(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, orgm.Organization, _record_id(self.customer_id), build_organization)


def _record_id(global_id: str | None) -> int | None:
    from graph.ids import decode_global_id

    decoded = decode_global_id(global_id) if global_id else None
    return None if decoded is None else decoded[1]


def _credit_row(f: crm.CreditFigures) -> CreditAnalysisRow:
    return CreditAnalysisRow(
        customer_id=strawberry.ID(encode_global_id("Organization", f.customer_id)),
        customer_name=f.customer_name,
        tier=f.tier,
        credit_standing=f.credit_standing,
        currency=f.currency,
        credit_limit=money(f.credit_limit, f.currency),
        exposure=Money(amount=f.exposure, currency=f.currency),
        utilisation_percent=f.utilisation_percent,
        available_credit=money(f.available_credit, f.currency),
        over_limit=f.credit_limit is not None and f.exposure > f.credit_limit,
        open_order_count=f.open_order_count,
        overdue_amount=Money(amount=f.overdue_amount, currency=f.currency),
        overdue_order_count=f.overdue_order_count,
    )


@strawberry.type(description="Unpaid and overdue orders of every customer in one currency.")
class CreditTotals:
    currency: str = doc("Currency of the amounts.")
    exposure: Money = doc("Σ unpaid order totals.")
    open_order_count: int = doc("Unpaid orders.")
    overdue_amount: Money = doc("Σ overdue order totals.")
    overdue_order_count: int = doc("Overdue orders.")
    customer_count: int = doc("Customers with unpaid orders in this currency.")


@strawberry.type(description="Credit analysis: highest utilisation first, then largest exposure.")
class CreditAnalysisReport:
    as_of: date = doc("The day overdue is measured at.")
    payment_term_days: int = doc("Days after the promised (else requested) date an order's payment is due.")
    rows: list[CreditAnalysisRow] = doc(
        "At most `first` customers (one row per currency of their unpaid orders)."
    )
    total_rows: int = doc("How many rows the report has in all.")
    truncated: bool = doc("Whether rows were left out.")
    totals: list[CreditTotals] = doc("One per currency.")


# -- customer financial statistics -----------------------------------------------------------


@strawberry.type(description="A customer's figures in one currency (or, on a totals row, every customer's).")
class CustomerFinancialsRow:
    customer_id: strawberry.ID | None = doc("The customer's global id (null on totals).")
    customer_name: str | None = doc("The customer's name.")
    tier: CustomerTier | None = doc("Its current tier.")
    currency: str = doc("Currency of the amounts.")
    revenue: Money = doc(
        "Σ line totals of its orders placed in range (every status but DRAFT and CANCELLED)."
    )
    cost: Money = doc("Σ line costs (see SalesDynamicsRow.cost).")
    margin: Money = doc("Revenue − cost.")
    margin_percent: Decimal | None = doc("Margin as a percentage of revenue.")
    order_count: int = doc("Orders placed in range.")
    average_order_value: Money | None = doc("Revenue ÷ orders (4 decimals, half-up).")
    first_order_at: datetime | None = doc("Its first order in range.")
    last_order_at: datetime | None = doc("Its last order in range.")
    outstanding: Money = doc("Σ totals of its unpaid orders today, whenever placed.")
    lines_without_cost: int = doc("Lines whose cost is unknown.")
    customer_count: int = doc("Customers in the row (1; on totals, how many).")

    @strawberry.field(description="The customer (null on totals).")
    async def customer(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, orgm.Organization, _record_id(self.customer_id), build_organization)


def _financials_row(f: crm.CustomerFigures) -> CustomerFinancialsRow:
    return CustomerFinancialsRow(
        customer_id=None
        if f.customer_id is None
        else strawberry.ID(encode_global_id("Organization", f.customer_id)),
        customer_name=f.customer_name,
        tier=f.tier,
        currency=f.currency,
        revenue=Money(amount=f.revenue, currency=f.currency),
        cost=Money(amount=f.cost, currency=f.currency),
        margin=Money(amount=f.margin, currency=f.currency),
        margin_percent=f.margin_percent,
        order_count=f.order_count,
        average_order_value=money(f.average_order_value, f.currency),
        first_order_at=f.first_order_at,
        last_order_at=f.last_order_at,
        outstanding=Money(amount=f.outstanding, currency=f.currency),
        lines_without_cost=f.lines_without_cost,
        customer_count=f.customer_count,
    )


@strawberry.type(description="Customer financial statistics: largest revenue first, totals per currency.")
class CustomerFinancialsReport:
    rows: list[CustomerFinancialsRow] = doc("At most `first` rows.")
    total_rows: int = doc("How many rows the report has in all.")
    truncated: bool = doc("Whether rows were left out.")
    totals: list[CustomerFinancialsRow] = doc("One per currency.")


# -- the queries -----------------------------------------------------------------------------


@strawberry.type
class ReportQueries:
    @strawberry.field(
        description="Revenue, cost, margin and orders by period and/or by tier, region, customer, product or "
        "supplier, per currency. Internal users only (a sales rep: its own customers).",
        permission_classes=[report_readers(r.SALES_DYNAMICS)],
    )
    async def sales_dynamics(
        self,
        info: Info,
        period: Annotated[
            ReportPeriod | None,
            strawberry.argument(description="Group by this calendar period of placedAt (UTC)."),
        ] = None,
        group_by: Annotated[
            SalesDimension | None, strawberry.argument(description="Group by this dimension too (or alone).")
        ] = None,
        placed: Annotated[
            DateRange | None,
            strawberry.argument(description="Only orders placed on these days (UTC, inclusive)."),
        ] = None,
        currency: Annotated[
            str | None, strawberry.argument(description="Only orders in this currency.")
        ] = None,
        first: Rows = None,
    ) -> SalesDynamicsReport:
        args = r.ReportArguments(
            period=period, sales_group_by=group_by, currency=currency, first=first, **_dates(placed)
        )
        report = await r.run_report(info.context.reader, r.SALES_DYNAMICS, args)
        return SalesDynamicsReport(
            rows=[_sales_row(row) for row in report.rows],
            total_rows=report.total_rows,
            truncated=report.truncated,
            totals=[_sales_row(row) for row in report.totals],
        )

    @strawberry.field(
        description="Complaints and quality objections by kind, severity, customer, product or supplier (and "
        "period): counts and time to resolve. Internal users; a supplier sees objections to its own lines.",
        permission_classes=[report_readers(r.COMPLAINT_ANALYSIS)],
    )
    async def complaint_analysis(
        self,
        info: Info,
        group_by: Annotated[
            ComplaintDimension, strawberry.argument(description="What to group by.")
        ] = crm.ComplaintDimension.KIND,
        period: Annotated[
            ReportPeriod | None,
            strawberry.argument(description="Group by this calendar period of openedAt (UTC) too."),
        ] = None,
        kinds: Annotated[
            list[ServiceRecordKind] | None,
            strawberry.argument(description="COMPLAINT and/or QUALITY_OBJECTION (default both)."),
        ] = None,
        opened: Annotated[
            DateRange | None,
            strawberry.argument(description="Only records opened on these days (UTC, inclusive)."),
        ] = None,
        first: Rows = None,
    ) -> ComplaintAnalysisReport:
        args = r.ReportArguments(
            complaint_group_by=group_by,
            period=period,
            kinds=tuple(kinds) if kinds else None,
            first=first,
            **_dates(opened),
        )
        report = await r.run_report(info.context.reader, r.COMPLAINT_ANALYSIS, args)
        return ComplaintAnalysisReport(
            rows=[_complaint_row(row) for row in report.rows],
            total_rows=report.total_rows,
            truncated=report.truncated,
            total=_complaint_row(report.totals[0]),
        )

    @strawberry.field(
        description="Each customer's unpaid orders against its credit limit: utilisation and overdue amounts. "
        "Internal users only (a sales rep: its own customers).",
        permission_classes=[report_readers(r.CREDIT_ANALYSIS)],
    )
    async def credit_analysis(
        self,
        info: Info,
        as_of: Annotated[
            date | None, strawberry.argument(description="Measure overdue at this day (default: today, UTC).")
        ] = None,
        payment_term_days: Annotated[
            int,
            strawberry.argument(description="Days after the promised (else requested) date payment is due."),
        ] = crm.DEFAULT_PAYMENT_TERM_DAYS,
        customer_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this customer.")
        ] = None,
        first: Rows = None,
    ) -> CreditAnalysisReport:
        as_of = as_of or datetime.now(UTC).date()
        args = r.ReportArguments(
            as_of=as_of, payment_term_days=payment_term_days, customer_id=customer_id, first=first
        )
        report = await r.run_report(info.context.reader, r.CREDIT_ANALYSIS, args)
        return CreditAnalysisReport(
            as_of=as_of,
            payment_term_days=payment_term_days,
            rows=[_credit_row(row) for row in report.rows],
            total_rows=report.total_rows,
            truncated=report.truncated,
            totals=[
                CreditTotals(
                    currency=t.currency,
                    exposure=Money(amount=t.exposure, currency=t.currency),
                    open_order_count=t.open_order_count,
                    overdue_amount=Money(amount=t.overdue_amount, currency=t.currency),
                    overdue_order_count=t.overdue_order_count,
                    customer_count=t.customer_count,
                )
                for t in report.totals
            ],
        )

    @strawberry.field(
        description="Per customer: revenue, cost, margin, orders, average order value, first and last order, "
        "outstanding. Internal users only (a sales rep: its own customers).",
        permission_classes=[report_readers(r.CUSTOMER_FINANCIALS)],
    )
    async def customer_financials(
        self,
        info: Info,
        placed: Annotated[
            DateRange | None,
            strawberry.argument(description="Only orders placed on these days (UTC, inclusive)."),
        ] = None,
        currency: Annotated[
            str | None, strawberry.argument(description="Only orders in this currency.")
        ] = None,
        customer_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this customer.")
        ] = None,
        first: Rows = None,
    ) -> CustomerFinancialsReport:
        args = r.ReportArguments(currency=currency, customer_id=customer_id, first=first, **_dates(placed))
        report = await r.run_report(info.context.reader, r.CUSTOMER_FINANCIALS, args)
        return CustomerFinancialsReport(
            rows=[_financials_row(row) for row in report.rows],
            total_rows=report.total_rows,
            truncated=report.truncated,
            totals=[_financials_row(row) for row in report.totals],
        )
