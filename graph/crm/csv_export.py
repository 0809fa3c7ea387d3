"""CSV downloads of the reports: GET /reports/<name>.csv?<arguments>.

Authenticated like /graphql (the same `Authorization: Bearer …` key or token), scoped by the
same rules and computed by the same code (graph/resolvers/reports.py), so a CSV holds exactly
the figures of the GraphQL field with the same arguments. RFC 4180: CRLF line ends, a header
row, fields quoted when they hold a comma, a quote or a line break; the group rows come first,
then the totals (column `scope` says which).

Arguments (query parameters, the GraphQL argument names): period, groupBy, from, to, currency,
kinds (comma-separated), asOf, paymentTermDays, customerId, first.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graph.access import SYSTEM, Principal
from graph.auth import AuthenticationError, authenticate, credential_of
from graph.crm import reports as crm
from graph.errors import BadInput
from graph.models.service import ServiceRecordKind
from graph.reader import Reader
from graph.resolvers import reports as r

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

_GROUP = [("period", "group.period"), ("key", "group.key"), ("label", "group.label")]
_SALES = [
    ("currency", "currency"),
    ("revenue", "revenue"),
    ("cost", "cost"),
    ("margin", "margin"),
    ("margin_percent", "margin_percent"),
    ("order_count", "order_count"),
    ("lines_without_cost", "lines_without_cost"),
]

# Report → (column header, attribute path on a row or totals object).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    r.SALES_DYNAMICS: [*_GROUP, *_SALES],
    r.COMPLAINT_ANALYSIS: [
        *_GROUP,
        ("count", "count"),
        ("open_count", "open_count"),
        ("resolved_count", "resolved_count"),
        ("avg_hours_to_resolve", "avg_hours_to_resolve"),
        ("max_hours_to_resolve", "max_hours_to_resolve"),
    ],
    r.CREDIT_ANALYSIS: [
        ("customer_id", "customer_global_id"),
        ("customer_name", "customer_name"),
        ("tier", "tier"),
        ("credit_standing", "credit_standing"),
        ("currency", "currency"),
        ("credit_limit", "credit_limit"),
        ("exposure", "exposure"),
        ("utilisation_percent", "utilisation_percent"),
        ("available_credit", "available_credit"),
        ("open_order_count", "open_order_count"),
        ("overdue_amount", "overdue_amount"),
        ("overdue_order_count", "overdue_order_count"),
        ("customer_count", "customer_count"),
    ],
    r.CUSTOMER_FINANCIALS: [
        ("customer_id", "customer_global_id"),
        ("customer_name", "customer_name"),
        ("tier", "tier"),
        *_SALES[:5],
        ("order_count", "order_count"),
        ("average_order_value", "average_order_value"),
        ("first_order_at", "first_order_at"),
        ("last_order_at", "last_order_at"),
        ("outstanding", "outstanding"),
        ("lines_without_cost", "lines_without_cost"),
        ("customer_count", "customer_count"),
    ],
}


def _value(obj: Any, path: str) -> Any:
    if path == "customer_global_id":
        from graph.ids import encode_global_id

        record_id = getattr(obj, "customer_id", None)
        return None if record_id is None else encode_global_id("Organization", record_id)
    if path == "customer_count" and isinstance(obj, crm.CreditFigures):
        return None  # a credit row is one customer; the count belongs to totals
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def report_csv(name: str, report: crm.Report) -> str:
    """The report as RFC 4180 CSV text: a header, the group rows, then the totals rows."""
    columns = COLUMNS[name]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["scope", *(header for header, _ in columns)])
    for scope, rows in (("group", report.rows), ("total", report.totals)):
        for row in rows:
            writer.writerow([scope, *(_text(_value(row, path)) for _, path in columns)])
    return out.getvalue()


# -- the HTTP endpoint -----------------------------------------------------------------------


def _enum(kind: type[enum.Enum]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind[text.strip().upper()]
        except KeyError:
            names = ", ".join(member.name for member in kind)
            raise BadInput(f"{text!r} is not one of {names}.") from None

    return parse


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{text!r} is not a date (YYYY-MM-DD).") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadInput(f"{text!r} is not a whole number.") from None


def _kinds(text: str) -> tuple[ServiceRecordKind, ...]:
    return tuple(_enum(ServiceRecordKind)(part) for part in text.split(",") if part.strip())


# Query parameter → (ReportArguments field, parser), per report.
_COMMON = {"first": ("first", _int)}
_PARAMETERS: dict[str, dict[str, tuple[str, Callable[[str], Any]]]] = {
    r.SALES_DYNAMICS: {
        "period": ("period", _enum(crm.Period)),
        "groupBy": ("sales_group_by", _enum(crm.SalesDimension)),
        "from": ("date_from", _date),
        "to": ("date_to", _date),
        "currency": ("currency", str),
        **_COMMON,
    },
    r.COMPLAINT_ANALYSIS: {
        "period": ("period", _enum(crm.Period)),
        "groupBy": ("complaint_group_by", _enum(crm.ComplaintDimension)),
        "kinds": ("kinds", _kinds),
        "from": ("date_from", _date),
        "to": ("date_to", _date),
        **_COMMON,
    },
    r.CREDIT_ANALYSIS: {
        "asOf": ("as_of", _date),
        "paymentTermDays": ("payment_term_days", _int),
        "customerId": ("customer_id", str),
        **_COMMON,
    },
    r.CUSTOMER_FINANCIALS: {
        "from": ("date_from", _date),
        "to": ("date_to", _date),
        "currency": ("currency", str),
        "customerId": ("customer_id", str),
        **_COMMON,
    },
}


def report_arguments(name: str, params: Any) -> r.ReportArguments:
    """The report's arguments from query parameters; unknown parameters are refused."""
    accepted = _PARAMETERS[name]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise BadInput(f"Unknown parameter(s) {', '.join(unknown)}; {name} accepts {', '.join(accepted)}.")
    values = {accepted[key][0]: accepted[key][1](params[key]) for key in params}
    return r.ReportArguments(**values)


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


async def _principal(request: Request) -> Principal:
    settings = request.app.state.settings
    if not settings.auth_required:
        return SYSTEM
    return await authenticate(credential_of(request.headers), settings, request.app.state.session_factory)


async def report_csv_endpoint(request: Request) -> Response:
    """GET /reports/{name}.csv: the report as a CSV attachment."""
    name = request.path_params["name"]
    if name not in COLUMNS:
        return _error(404, f"No report {name!r}; there are {', '.join(COLUMNS)}.", "NOT_FOUND")
    try:
        principal = await _principal(request)
    except AuthenticationError as exc:
        return _error(401, str(exc), "UNAUTHENTICATED", {"www-authenticate": "Bearer"})
    try:
        arguments = report_arguments(name, request.query_params)
        async with request.app.state.session_factory() as session:
            report = await r.run_report(Reader(session, principal), name, arguments)
    except BadInput as exc:
        code = (exc.extensions or {}).get("code", "BAD_USER_INPUT")
        return _error(403 if code == "FORBIDDEN" else 400, exc.message, code)
    except r.ReportForbidden as exc:
        return _error(403, str(exc), "FORBIDDEN")
    return Response(
        report_csv(name, report),
        media_type=CSV_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )
