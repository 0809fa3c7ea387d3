"""Reports: one set of arguments, one way to run each report, shared by the GraphQL fields
and the CSV download (graph/crm/csv_export.py), so both return the same figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from graph.access import may_read_report
from graph.crm import reports as crm
from graph.ids import decode_global_id
from graph.models.service import ServiceRecordKind
from graph.reader import Reader

SALES_DYNAMICS = "sales-dynamics"
COMPLAINT_ANALYSIS = "complaint-analysis"
CREDIT_ANALYSIS = "credit-analysis"
CUSTOMER_FINANCIALS = "customer-financials"


class ReportForbidden(PermissionError):
    """The caller's role may not read this report."""


@dataclass(frozen=True)
class ReportArguments:
    """Every report's arguments; each report uses the ones that apply to it."""

    period: crm.Period | None = None
    sales_group_by: crm.SalesDimension | None = None
    complaint_group_by: crm.ComplaintDimension = crm.ComplaintDimension.KIND
    date_from: date | None = None  # placed (sales, financials) or opened (complaints)
    date_to: date | None = None
    currency: str | None = None
    kinds: tuple[ServiceRecordKind, ...] | None = None
    as_of: date | None = None
    payment_term_days: int = crm.DEFAULT_PAYMENT_TERM_DAYS
    customer_id: str | None = None  # a global Organization id
    first: int | None = None

    def customer(self) -> int | None:
        if self.customer_id is None:
            return None
        decoded = decode_global_id(self.customer_id, "Organization")
        return 0 if decoded is None else decoded[1]  # not an organization id: matches nothing


def _sales(reader: Reader, a: ReportArguments) -> Awaitable[Any]:
    return crm.sales_dynamics(
        reader,
        period=a.period,
        group_by=a.sales_group_by,
        placed_from=a.date_from,
        placed_to=a.date_to,
        currency=a.currency,
        first=a.first,
    )


def _complaints(reader: Reader, a: ReportArguments) -> Awaitable[Any]:
    return crm.complaint_analysis(
        reader,
        group_by=a.complaint_group_by,
        period=a.period,
        kinds=list(a.kinds) if a.kinds else None,
        opened_from=a.date_from,
        opened_to=a.date_to,
        first=a.first,
    )


def _credit(reader: Reader, a: ReportArguments) -> Awaitable[Any]:
    return crm.credit_analysis(
        reader, as_of=a.as_of, payment_term_days=a.payment_term_days, customer_id=a.customer(), first=a.first
    )


def _financials(reader: Reader, a: ReportArguments) -> Awaitable[Any]:
    return crm.customer_financials(
        reader,
        placed_from=a.date_from,
        placed_to=a.date_to,
        currency=a.currency,
        customer_id=a.customer(),
        first=a.first,
    )


REPORTS: dict[str, Callable[[Reader, ReportArguments], Awaitable[Any]]] = {
    SALES_DYNAMICS: _sales,
    COMPLAINT_ANALYSIS: _complaints,
    CREDIT_ANALYSIS: _credit,
    CUSTOMER_FINANCIALS: _financials,
}


async def run_report(reader: Reader, name: str, arguments: ReportArguments) -> crm.Report:
    """The report `name`, scoped to the reader's principal (ReportForbidden if not theirs)."""
    if not may_read_report(reader.principal, name):
        raise ReportForbidden(f"Your role may not read the {name} report.")
    return await REPORTS[name](reader, arguments)
