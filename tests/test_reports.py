"""Reports (graph/crm/reports.py): every figure pinned by a hand-computed fixture on both
databases, scoping per role, bounds, and the report shapes on the demo data.

The fixture (ids fixed; all times UTC):

  Customers  C1 "Alpha Tools"            tier KEY,       region East,  credit limit 10000 CNY
             C2 'Beta "Quoted", Works'   tier GENERAL,   region North, credit limit  1000 CNY
             C3 "Gamma Labs"             tier POTENTIAL, region West,  credit limit   500 CNY, no orders
  Suppliers  S1 "Sup One" (4), S2 "Sup Two" (5); a distributor (6)
  Products   P1 Widget (cost 6), P2 Gadget (no cost), P3 Gizmo (cost 0.3333)
  Offers     S1–P1 at 5.0000 CNY, S2–P2 at 12.5000 CNY (S2 has no offer for P1)

  Order  customer  status     placed             currency  lines (product, supplier, qty × price = total; cost)
  O1     C1        CLOSED     Mon 2026-01-05 10:00  CNY    L1 P1 S1 10 × 10 = 100.00  cost 10 × 5 (S1 offer)      = 50
                                                           L2 P2 S2  2 × 20 =  40.00  cost 2 × 12.5 (S2 offer)    = 25
  O2     C1        DELIVERED  Sun 2026-01-25 23:30  CNY    L3 P1 S2  3 × 9.5 = 28.50  cost 3 × 6 (no offer: P1 cost) = 18
                   promised 2026-01-28
  O3     C2        SHIPPED    Tue 2026-02-10 09:00  CNY    L4 P2 S2 1.5 × 20 = 30.00  cost 1.5 × 12.5            = 18.75
                   promised 2026-02-15                     L8 P3 —  0.5 × 1  =  0.50  cost 0.5 × 0.3333 = 0.16665 → 0.1667
  O4     C2        CANCELLED  2026-02-11            CNY    L5 P1 S1 100 × 10 = 1000   (not a sale)
  O5     C2        DRAFT      2026-03-01            CNY    L6 P1 S1  1 × 10  =   10   (not a sale)
  O6     C1        SUBMITTED  Thu 2026-04-02 08:00  USD    L7 P1 S1  2 × 7   =  14.00 no cost in USD (offer and P1 are CNY)
                   requested 2026-04-10

  Sales CNY: revenue 100 + 40 + 28.50 + 30 + 0.50 = 199.00; cost 50 + 25 + 18 + 18.75 + 0.1667 = 111.9167;
             margin 87.0833 (43.76 %); 3 orders.   USD: revenue 14.00, cost 0, 1 line without cost, 1 order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from graph.models import orders as om
from graph.models import organizations as orgm
from graph.models import people as pm
from graph.models import products as prm
from graph.models import service as sm

pytestmark = pytest.mark.asyncio(loop_scope="session")

St = om.OrderStatus
K = sm.ServiceRecordKind
S = sm.ServiceStatus
V = sm.Severity


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


ALPHA, BETA, GAMMA, SUP_ONE, SUP_TWO, DISTRIBUTOR = 1, 2, 3, 4, 5, 6
REP_OF_BETA, REP_OF_ALPHA = 1, 2


async def insert_fixture(backend) -> None:  # noqa: ANN001
    """The rows in the module docstring, plus service records and two sales reps."""
    d = Decimal
    orgs = [
        orgm.Organization(id=ALPHA, name="Alpha Tools", is_customer=True, tier=orgm.CustomerTier.KEY, region="East",
                          credit_limit=d("10000"), credit_standing=orgm.CreditStanding.GOOD),
        orgm.Organization(id=BETA, name='Beta "Quoted", Works', is_customer=True, tier=orgm.CustomerTier.GENERAL,
                          region="North", credit_limit=d("1000"), credit_standing=orgm.CreditStanding.WATCH),
        orgm.Organization(id=GAMMA, name="Gamma Labs", is_customer=True, tier=orgm.CustomerTier.POTENTIAL,
                          region="West", credit_limit=d("500")),
        orgm.Organization(id=SUP_ONE, name="Sup One", is_supplier=True),
        orgm.Organization(id=SUP_TWO, name="Sup Two", is_supplier=True),
        orgm.Organization(id=DISTRIBUTOR, name="Dist Six", is_distributor=True),
    ]
    products = [
        prm.Product(id=1, sku="P1", name="Widget", list_price=d("10"), cost=d("6")),
        prm.Product(id=2, sku="P2", name="Gadget", list_price=d("20"), cost=None),
        prm.Product(id=3, sku="P3", name="Gizmo", list_price=d("1"), cost=d("0.3333")),
    ]
    offers = [
        prm.SupplierProduct(id=1, supplier_id=SUP_ONE, product_id=1, price=d("5"), lead_time_days=5),
        prm.SupplierProduct(id=2, supplier_id=SUP_TWO, product_id=2, price=d("12.5"), lead_time_days=5),
    ]

    def order(id_, customer, status, placed, total, currency="CNY", promised=None, requested=None):  # noqa: ANN001, ANN202
        return om.Order(id=id_, number=f"O{id_}", customer_id=customer, status=status, placed_at=at(placed),
                        total_amount=d(total), currency=currency, promised_date=promised, requested_date=requested)

    orders = [
        order(1, ALPHA, St.CLOSED, "2026-01-05 10:00", "140"),
        order(2, ALPHA, St.DELIVERED, "2026-01-25 23:30", "28.5", promised=date(2026, 1, 28)),
        order(3, BETA, St.SHIPPED, "2026-02-10 09:00", "30.5", promised=date(2026, 2, 15)),
        order(4, BETA, St.CANCELLED, "2026-02-11 09:00", "1000"),
        order(5, BETA, St.DRAFT, "2026-03-01 09:00", "10"),
        order(6, ALPHA, St.SUBMITTED, "2026-04-02 08:00", "14", currency="USD", requested=date(2026, 4, 10)),
    ]

    def line(id_, order_id, number, product, supplier, qty, price, total):  # noqa: ANN001, ANN202
        return om.OrderLine(id=id_, order_id=order_id, line_number=number, product_id=product, supplier_id=supplier,
                            quantity=d(qty), unit_price=d(price), line_total=d(total))

    lines = [
        line(1, 1, 1, 1, SUP_ONE, "10", "10", "100"),
        line(2, 1, 2, 2, SUP_TWO, "2", "20", "40"),
        line(3, 2, 1, 1, SUP_TWO, "3", "9.5", "28.5"),
        line(4, 3, 1, 2, SUP_TWO, "1.5", "20", "30"),
        line(8, 3, 2, 3, None, "0.5", "1", "0.5"),
        line(5, 4, 1, 1, SUP_ONE, "100", "10", "1000"),
        line(6, 5, 1, 1, SUP_ONE, "1", "10", "10"),
        line(7, 6, 1, 1, SUP_ONE, "2", "7", "14"),
    ]

    def record(id_, kind, org, opened, status, closed=None, severity=None, order=None, line=None, product=None,  # noqa: ANN001, ANN202
               archived=None):
        return sm.ServiceRecord(id=id_, kind=kind, organization_id=org, title=f"R{id_}", opened_at=at(opened),
                                status=status, closed_at=at(closed) if closed else None, severity=severity,
                                order_id=order, order_line_id=line, product_id=product,
                                archived_at=at(archived) if archived else None)

    records = [
        # R1 complaint, 36 h to resolve. R2 objection, 60 h. R3 objection, open (product from its line: P2).
        record(1, K.COMPLAINT, ALPHA, "2026-01-10 08:00", S.RESOLVED, "2026-01-11 20:00", V.HIGH, order=1),
        record(2, K.QUALITY_OBJECTION, ALPHA, "2026-01-15 00:00", S.CLOSED, "2026-01-17 12:00", V.MEDIUM, 1, 2, 2),
        record(3, K.QUALITY_OBJECTION, BETA, "2026-02-12 09:00", S.OPEN, None, V.HIGH, 3, 4, None),
        # R4 objection to the line without a supplier, 6.5 h. R5 complaint cancelled (no severity).
        record(4, K.QUALITY_OBJECTION, BETA, "2026-02-20 00:00", S.RESOLVED, "2026-02-20 06:30", V.LOW, 3, 8, 3),
        record(5, K.COMPLAINT, BETA, "2026-02-01 00:00", S.CANCELLED, "2026-02-02 00:00"),
        # Not counted: a service request, an archived complaint.
        record(6, K.SERVICE_REQUEST, ALPHA, "2026-01-12 00:00", S.RESOLVED, "2026-01-12 01:00"),
        record(7, K.COMPLAINT, ALPHA, "2026-01-13 00:00", S.OPEN, severity=V.LOW, archived="2026-01-14 00:00"),
        # R8 objection to S1's line L1, 25 h.
        record(8, K.QUALITY_OBJECTION, ALPHA, "2026-03-01 00:00", S.CLOSED, "2026-03-02 01:00", V.CRITICAL, 1, 1, 1),
    ]
    users = [
        pm.User(id=REP_OF_BETA, name="Rep of Beta", email="beta.rep@example.com", role=pm.UserRole("sales")),
        pm.User(id=REP_OF_ALPHA, name="Rep of Alpha", email="alpha.rep@example.com", role=pm.UserRole("sales")),
    ]
    ownerships = [
        pm.AccountOwnership(id=1, organization_id=BETA, user_id=REP_OF_BETA, started_at=at("2025-01-01 00:00")),
        pm.AccountOwnership(id=2, organization_id=ALPHA, user_id=REP_OF_ALPHA, started_at=at("2025-01-01 00:00")),
    ]
    async with backend.session_factory() as session, session.begin():
        for group in (orgs, products, offers, orders, lines, records, users, ownerships):
            session.add_all(group)
            await session.flush()


@pytest.fixture(scope="module")
async def reports(blank_backend):  # noqa: ANN001, ANN201
    await insert_fixture(blank_backend)
    return blank_backend


SALES = """
query ($period: ReportPeriod, $groupBy: SalesDimension, $placed: DateRange, $first: Int) {
  salesDynamics(period: $period, groupBy: $groupBy, placed: $placed, first: $first) {
    totalRows truncated
    rows { period key label currency revenue { amount currency } cost { amount } margin { amount }
           marginPercent orderCount linesWithoutCost }
    totals { currency revenue { amount } cost { amount } margin { amount } marginPercent orderCount linesWithoutCost }
  }
}"""


def brief(row: dict) -> tuple:
    """(period, label, currency, revenue, cost, margin, orders, lines without cost)."""
    return (row.get("period"), row.get("label"), row["currency"], row["revenue"]["amount"], row["cost"]["amount"],
            row["margin"]["amount"], row["orderCount"], row["linesWithoutCost"])


TOTALS = [
    (None, None, "CNY", "199.0000", "111.9167", "87.0833", 3, 0),
    (None, None, "USD", "14.0000", "0.0000", "14.0000", 1, 1),
]


async def sales(backend, key: str | None = None, **variables) -> dict:  # noqa: ANN001
    return (await backend.gql(SALES, variables, key=key))["salesDynamics"]


async def test_sales_totals_and_margin_percent(reports) -> None:  # noqa: ANN001
    report = await sales(reports)
    assert [brief(t) for t in report["totals"]] == TOTALS
    assert [t["marginPercent"] for t in report["totals"]] == ["43.76", "100.00"]  # 87.0833 / 199 = 43.7604 %
    # Without a period or dimension, the rows are the totals.
    assert [brief(r) for r in report["rows"]] == TOTALS
    assert report["totalRows"] == 2 and report["truncated"] is False


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # O1, O2 in January; O3 in February (cost 18.75 + 0.1667); O6 in April (USD).
        ("MONTH", [("2026-01-01", None, "CNY", "168.5000", "93.0000", "75.5000", 2, 0),
                   ("2026-02-01", None, "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
                   ("2026-04-01", None, "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        # ISO weeks start on Monday: Sunday 2026-01-25 23:30 UTC is in the week of Monday 01-19.
        ("WEEK", [("2026-01-05", None, "CNY", "140.0000", "75.0000", "65.0000", 1, 0),
                  ("2026-01-19", None, "CNY", "28.5000", "18.0000", "10.5000", 1, 0),
                  ("2026-02-09", None, "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
                  ("2026-03-30", None, "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        ("DAY", [("2026-01-05", None, "CNY", "140.0000", "75.0000", "65.0000", 1, 0),
                 ("2026-01-25", None, "CNY", "28.5000", "18.0000", "10.5000", 1, 0),
                 ("2026-02-10", None, "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
                 ("2026-04-02", None, "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        ("QUARTER", [("2026-01-01", None, "CNY", "199.0000", "111.9167", "87.0833", 3, 0),
                     ("2026-04-01", None, "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        # Same period: largest revenue first.
        ("YEAR", [("2026-01-01", None, "CNY", "199.0000", "111.9167", "87.0833", 3, 0),
                  ("2026-01-01", None, "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
    ],
)
async def test_sales_by_period(reports, period: str, expected: list) -> None:  # noqa: ANN001
    report = await sales(reports, period=period)
    assert [brief(r) for r in report["rows"]] == expected
    assert [brief(t) for t in report["totals"]] == TOTALS


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        # Largest revenue first, whatever the currency.
        ("TIER", [(None, "key", "CNY", "168.5000", "93.0000", "75.5000", 2, 0),
                  (None, "general", "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
                  (None, "key", "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        ("REGION", [(None, "East", "CNY", "168.5000", "93.0000", "75.5000", 2, 0),
                    (None, "North", "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
                    (None, "East", "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        ("CUSTOMER", [(None, "Alpha Tools", "CNY", "168.5000", "93.0000", "75.5000", 2, 0),
                      (None, 'Beta "Quoted", Works', "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
                      (None, "Alpha Tools", "USD", "14.0000", "0.0000", "14.0000", 1, 1)]),
        # Widget: L1 100 (cost 50) + L3 28.50 (cost 18); Gadget: L2 40 (25) + L4 30 (18.75); Gizmo: L8.
        ("PRODUCT", [(None, "Widget", "CNY", "128.5000", "68.0000", "60.5000", 2, 0),
                     (None, "Gadget", "CNY", "70.0000", "43.7500", "26.2500", 2, 0),
                     (None, "Widget", "USD", "14.0000", "0.0000", "14.0000", 1, 1),
                     (None, "Gizmo", "CNY", "0.5000", "0.1667", "0.3333", 1, 0)]),
        # Sup Two: L2 + L3 + L4 on three orders; L8 has no supplier.
        ("SUPPLIER", [(None, "Sup One", "CNY", "100.0000", "50.0000", "50.0000", 1, 0),
                      (None, "Sup Two", "CNY", "98.5000", "61.7500", "36.7500", 3, 0),
                      (None, "Sup One", "USD", "14.0000", "0.0000", "14.0000", 1, 1),
                      (None, None, "CNY", "0.5000", "0.1667", "0.3333", 1, 0)]),
    ],
)
async def test_sales_by_dimension(reports, group_by: str, expected: list) -> None:  # noqa: ANN001
    report = await sales(reports, groupBy=group_by)
    assert [brief(r) for r in report["rows"]] == expected
    assert [brief(t) for t in report["totals"]] == TOTALS


async def test_sales_keys_are_enum_values_or_global_ids(reports) -> None:  # noqa: ANN001
    by_product = await sales(reports, groupBy="PRODUCT")
    assert by_product["rows"][0]["key"] == "UHJvZHVjdDox"  # Product:1
    by_supplier = await sales(reports, groupBy="SUPPLIER")
    assert [r["key"] for r in by_supplier["rows"]] == [
        "T3JnYW5pemF0aW9uOjQ=", "T3JnYW5pemF0aW9uOjU=", "T3JnYW5pemF0aW9uOjQ=", None  # Organization:4, :5
    ]
    by_tier = await sales(reports, groupBy="TIER")
    assert by_tier["rows"][0]["key"] == "key"


async def test_sales_period_and_dimension_together(reports) -> None:  # noqa: ANN001
    report = await sales(reports, period="MONTH", groupBy="TIER")
    assert [brief(r) for r in report["rows"]] == [
        ("2026-01-01", "key", "CNY", "168.5000", "93.0000", "75.5000", 2, 0),
        ("2026-02-01", "general", "CNY", "30.5000", "18.9167", "11.5833", 1, 0),
        ("2026-04-01", "key", "USD", "14.0000", "0.0000", "14.0000", 1, 1),
    ]


async def test_sales_date_range_is_inclusive_days(reports) -> None:  # noqa: ANN001
    # 2026-01-25 (O2, 23:30) through 2026-02-10 (O3, 09:00), both days included.
    report = await sales(reports, placed={"from": "2026-01-25", "to": "2026-02-10"})
    assert [brief(t) for t in report["totals"]] == [(None, None, "CNY", "59.0000", "36.9167", "22.0833", 2, 0)]
    empty = await sales(reports, placed={"from": "2025-01-01", "to": "2025-12-31"}, period="MONTH")
    assert empty == {"totalRows": 0, "truncated": False, "rows": [], "totals": []}


async def test_sales_rows_are_bounded_and_totals_cover_all(reports) -> None:  # noqa: ANN001
    report = await sales(reports, period="MONTH", first=2)
    assert len(report["rows"]) == 2 and report["totalRows"] == 3 and report["truncated"] is True
    assert [brief(t) for t in report["totals"]] == TOTALS
    for first in (0, 1001):
        body = await reports.gql(SALES, {"first": first}, errors=True)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await reports.gql(SALES, {"placed": {"from": "2026-02-01", "to": "2026-01-01"}}, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


COMPLAINTS = """
query ($groupBy: ComplaintDimension!, $period: ReportPeriod, $kinds: [ServiceRecordKind!], $opened: DateRange) {
  complaintAnalysis(groupBy: $groupBy, period: $period, kinds: $kinds, opened: $opened) {
    totalRows truncated
    rows { period key label count openCount resolvedCount avgHoursToResolve maxHoursToResolve }
    total { count openCount resolvedCount avgHoursToResolve maxHoursToResolve }
  }
}"""


def counts(row: dict) -> tuple:
    """(label, count, open, resolved, avg hours, max hours)."""
    return (row.get("label"), row["count"], row["openCount"], row["resolvedCount"], row["avgHoursToResolve"],
            row["maxHoursToResolve"])


async def complaints(backend, key: str | None = None, **variables) -> dict:  # noqa: ANN001
    return (await backend.gql(COMPLAINTS, variables, key=key))["complaintAnalysis"]


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        # Complaints R1 (36 h) and R5 (cancelled: neither open nor resolved); objections R2 (60 h),
        # R3 (open), R4 (6.5 h), R8 (25 h): mean (60 + 6.5 + 25) / 3 = 30.5.
        ("KIND", [("quality_objection", 4, 1, 3, 30.5, 60.0), ("complaint", 2, 0, 1, 36.0, 36.0)]),
        # Most first; ties by key, none last.
        ("SEVERITY", [("high", 2, 1, 1, 36.0, 36.0), ("critical", 1, 0, 1, 25.0, 25.0),
                      ("low", 1, 0, 1, 6.5, 6.5), ("medium", 1, 0, 1, 60.0, 60.0), (None, 1, 0, 0, None, None)]),
        # R3 has no product of its own: its line's (L4, Gadget).
        ("PRODUCT", [("Gadget", 2, 1, 1, 60.0, 60.0), (None, 2, 0, 1, 36.0, 36.0),
                     ("Widget", 1, 0, 1, 25.0, 25.0), ("Gizmo", 1, 0, 1, 6.5, 6.5)]),
        # R1, R5 have no line; R4's line L8 has no supplier: (36 + 6.5) / 2 = 21.25.
        ("SUPPLIER", [(None, 3, 0, 2, 21.25, 36.0), ("Sup Two", 2, 1, 1, 60.0, 60.0), ("Sup One", 1, 0, 1, 25.0, 25.0)]),
        ("CUSTOMER", [("Alpha Tools", 3, 0, 3, 40.33, 60.0), ('Beta "Quoted", Works', 3, 1, 1, 6.5, 6.5)]),
    ],
)
async def test_complaints_by_dimension(reports, group_by: str, expected: list) -> None:  # noqa: ANN001
    report = await complaints(reports, groupBy=group_by)
    assert [counts(r) for r in report["rows"]] == expected
    # Resolved: 36 + 60 + 6.5 + 25 = 127.5 h over 4 → 31.875 → 31.88.
    assert counts({"label": None, **report["total"]}) == (None, 6, 1, 4, 31.88, 60.0)


async def test_complaints_by_period_kind_and_range(reports) -> None:  # noqa: ANN001
    report = await complaints(reports, groupBy="KIND", period="MONTH")
    assert [(r["period"], *counts(r)) for r in report["rows"]] == [
        ("2026-01-01", "complaint", 1, 0, 1, 36.0, 36.0),
        ("2026-01-01", "quality_objection", 1, 0, 1, 60.0, 60.0),
        ("2026-02-01", "quality_objection", 2, 1, 1, 6.5, 6.5),
        ("2026-02-01", "complaint", 1, 0, 0, None, None),
        ("2026-03-01", "quality_objection", 1, 0, 1, 25.0, 25.0),
    ]
    only_complaints = await complaints(reports, groupBy="SEVERITY", kinds=["COMPLAINT"])
    assert counts({"label": None, **only_complaints["total"]}) == (None, 2, 0, 1, 36.0, 36.0)
    february = await complaints(reports, groupBy="KIND", opened={"from": "2026-02-01", "to": "2026-02-28"})
    assert counts({"label": None, **february["total"]}) == (None, 3, 1, 1, 6.5, 6.5)
    body = await reports.gql(COMPLAINTS, {"groupBy": "KIND", "kinds": ["VISIT"]}, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


CREDIT = """
query ($asOf: Date, $days: Int, $customerId: ID) {
  creditAnalysis(asOf: $asOf, paymentTermDays: $days, customerId: $customerId) {
    asOf paymentTermDays totalRows truncated
    rows { customerId customerName tier creditStanding currency creditLimit { amount } exposure { amount }
           utilisationPercent availableCredit { amount } overLimit openOrderCount overdueAmount { amount }
           overdueOrderCount customer { name } }
    totals { currency exposure { amount } openOrderCount overdueAmount { amount } overdueOrderCount customerCount }
  }
}"""


def exposure(row: dict) -> tuple:
    """(name, currency, limit, exposure, utilisation %, available, open, overdue, overdue orders)."""
    amount = lambda m: m and m["amount"]  # noqa: E731
    return (row["customerName"], row["currency"], amount(row["creditLimit"]), row["exposure"]["amount"],
            row["utilisationPercent"], amount(row["availableCredit"]), row["openOrderCount"],
            row["overdueAmount"]["amount"], row["overdueOrderCount"])


async def credit(backend, key: str | None = None, **variables) -> dict:  # noqa: ANN001
    return (await backend.gql(CREDIT, variables, key=key))["creditAnalysis"]


BETA_NAME = 'Beta "Quoted", Works'


async def test_credit_exposure_utilisation_and_overdue(reports) -> None:  # noqa: ANN001
    # Unpaid: O2 (DELIVERED, 28.50, promised 01-28 → due 02-27 < 03-01: overdue), O3 (SHIPPED,
    # 30.50, promised 02-15 → due 03-17), O6 (SUBMITTED, 14 USD, requested 04-10). O1 is paid
    # (CLOSED), O4 cancelled, O5 a draft. Highest utilisation first: 30.50 / 1000 = 3.05 %,
    # 28.50 / 10000 = 0.285 % → 0.29, Gamma 0 / 500 = 0.00, then Alpha's USD row (no limit).
    report = await credit(reports, asOf="2026-03-01")
    assert report["asOf"] == "2026-03-01" and report["paymentTermDays"] == 30
    assert [exposure(r) for r in report["rows"]] == [
        (BETA_NAME, "CNY", "1000.0000", "30.5000", "3.05", "969.5000", 1, "0.0000", 0),
        ("Alpha Tools", "CNY", "10000.0000", "28.5000", "0.29", "9971.5000", 1, "28.5000", 1),
        ("Gamma Labs", "CNY", "500.0000", "0.0000", "0.00", "500.0000", 0, "0.0000", 0),
        ("Alpha Tools", "USD", None, "14.0000", None, None, 1, "0.0000", 0),
    ]
    first = report["rows"][0]
    assert (first["tier"], first["creditStanding"], first["overLimit"], first["customer"]) == (
        "GENERAL", "WATCH", False, {"name": BETA_NAME}
    )
    assert report["totals"] == [
        {"currency": "CNY", "exposure": {"amount": "59.0000"}, "openOrderCount": 2,
         "overdueAmount": {"amount": "28.5000"}, "overdueOrderCount": 1, "customerCount": 2},
        {"currency": "USD", "exposure": {"amount": "14.0000"}, "openOrderCount": 1,
         "overdueAmount": {"amount": "0.0000"}, "overdueOrderCount": 0, "customerCount": 1},
    ]


async def test_credit_overdue_follows_as_of_and_payment_terms(reports) -> None:  # noqa: ANN001
    # 2026-03-20: O3 is due 03-17, now overdue too.
    later = await credit(reports, asOf="2026-03-20")
    assert later["totals"][0]["overdueAmount"] == {"amount": "59.0000"}
    # Payment on delivery (0 days), as of 2026-02-16: O2 (01-28) and O3 (02-15) are overdue;
    # O6 (requested 04-10) is not. Due on the day itself is not overdue: as of 2026-02-15, O3 is not.
    cash = await credit(reports, asOf="2026-02-16", days=0)
    assert [t["overdueOrderCount"] for t in cash["totals"]] == [2, 0]
    on_the_day = await credit(reports, asOf="2026-02-15", days=0)
    assert [t["overdueOrderCount"] for t in on_the_day["totals"]] == [1, 0]
    one = await credit(reports, asOf="2026-03-01", customerId="T3JnYW5pemF0aW9uOjE=")  # Organization:1
    assert [r["currency"] for r in one["rows"]] == ["CNY", "USD"] and one["totalRows"] == 2


FINANCIALS = """
query ($placed: DateRange, $customerId: ID) {
  customerFinancials(placed: $placed, customerId: $customerId) {
    totalRows truncated
    rows { customerId customerName tier currency revenue { amount } cost { amount } margin { amount } marginPercent
           orderCount averageOrderValue { amount } firstOrderAt lastOrderAt outstanding { amount }
           linesWithoutCost customerCount }
    totals { customerName currency revenue { amount } cost { amount } margin { amount } marginPercent orderCount
             averageOrderValue { amount } firstOrderAt lastOrderAt outstanding { amount } customerCount }
  }
}"""


def finance(row: dict) -> tuple:
    """(name, currency, revenue, cost, margin, margin %, orders, average, first, last, outstanding, customers)."""
    return (row["customerName"], row["currency"], row["revenue"]["amount"], row["cost"]["amount"],
            row["margin"]["amount"], row["marginPercent"], row["orderCount"], row["averageOrderValue"]["amount"],
            row["firstOrderAt"], row["lastOrderAt"], row["outstanding"]["amount"], row["customerCount"])


async def test_customer_financials(reports) -> None:  # noqa: ANN001
    data = (await reports.gql(FINANCIALS))["customerFinancials"]
    # Alpha CNY: O1 140 + O2 28.50 = 168.50, cost 93, margin 75.50 = 44.81 %, average 84.25,
    # outstanding O2. Beta: O3 only (O4 cancelled, O5 a draft): margin 11.5833 / 30.50 = 37.98 %.
    assert [finance(r) for r in data["rows"]] == [
        ("Alpha Tools", "CNY", "168.5000", "93.0000", "75.5000", "44.81", 2, "84.2500",
         "2026-01-05T10:00:00+00:00", "2026-01-25T23:30:00+00:00", "28.5000", 1),
        (BETA_NAME, "CNY", "30.5000", "18.9167", "11.5833", "37.98", 1, "30.5000",
         "2026-02-10T09:00:00+00:00", "2026-02-10T09:00:00+00:00", "30.5000", 1),
        ("Alpha Tools", "USD", "14.0000", "0.0000", "14.0000", "100.00", 1, "14.0000",
         "2026-04-02T08:00:00+00:00", "2026-04-02T08:00:00+00:00", "14.0000", 1),
    ]
    assert data["rows"][0]["customerId"] == "T3JnYW5pemF0aW9uOjE=" and data["rows"][0]["tier"] == "KEY"
    assert data["rows"][2]["linesWithoutCost"] == 1
    # 199 / 3 orders = 66.3333…
    assert [finance(t) for t in data["totals"]] == [
        (None, "CNY", "199.0000", "111.9167", "87.0833", "43.76", 3, "66.3333",
         "2026-01-05T10:00:00+00:00", "2026-02-10T09:00:00+00:00", "59.0000", 2),
        (None, "USD", "14.0000", "0.0000", "14.0000", "100.00", 1, "14.0000",
         "2026-04-02T08:00:00+00:00", "2026-04-02T08:00:00+00:00", "14.0000", 1),
    ]
    january = (await reports.gql(FINANCIALS, {"placed": {"from": "2026-01-01", "to": "2026-01-31"}}))
    assert [finance(r)[:3] for r in january["customerFinancials"]["rows"]] == [("Alpha Tools", "CNY", "168.5000")]
    beta = (await reports.gql(FINANCIALS, {"customerId": "T3JnYW5pemF0aW9uOjI="}))["customerFinancials"]
    assert [r["customerName"] for r in beta["rows"]] == [BETA_NAME]


# -- who may read what ---------------------------------------------------------------------------


async def test_sales_rep_sees_only_its_own_and_unowned_customers(reports) -> None:  # noqa: ANN001
    key = await reports.key("sales", user_id=REP_OF_BETA)
    # Beta is its own, Gamma is unowned, Alpha belongs to another rep.
    assert [brief(t) for t in (await sales(reports, key))["totals"]] == [
        (None, None, "CNY", "30.5000", "18.9167", "11.5833", 1, 0)
    ]
    assert [r["customerName"] for r in (await credit(reports, key, asOf="2026-03-01"))["rows"]] == [
        BETA_NAME, "Gamma Labs"
    ]
    assert counts({"label": None, **(await complaints(reports, key, groupBy="KIND"))["total"]}) == (
        None, 3, 1, 1, 6.5, 6.5
    )
    financials = (await reports.gql(FINANCIALS, key=key))["customerFinancials"]
    assert [r["customerName"] for r in financials["rows"]] == [BETA_NAME]


async def test_supplier_sees_complaints_about_its_own_lines_only(reports) -> None:  # noqa: ANN001
    key = await reports.key("supplier", organization_id=SUP_TWO)
    # Quality objections against Sup Two's lines: R2 (L2, 60 h) and R3 (L4, open).
    report = await complaints(reports, key, groupBy="KIND")
    assert [counts(r) for r in report["rows"]] == [("quality_objection", 2, 1, 1, 60.0, 60.0)]
    by_product = await complaints(reports, key, groupBy="PRODUCT")
    assert [counts(r) for r in by_product["rows"]] == [("Gadget", 2, 1, 1, 60.0, 60.0)]
    for query in (SALES, CREDIT, FINANCIALS):
        body = await reports.gql(query, {}, errors=True, key=key)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Nor who raised them.
    body = await reports.gql(COMPLAINTS, {"groupBy": "CUSTOMER"}, errors=True, key=key)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("role", "org"), [("customer", ALPHA), ("distributor", DISTRIBUTOR)])
async def test_customers_and_distributors_read_no_report(reports, role: str, org: int) -> None:  # noqa: ANN001
    key = await reports.key(role, organization_id=org)
    for query, variables in ((SALES, {}), (CREDIT, {}), (FINANCIALS, {}), (COMPLAINTS, {"groupBy": "KIND"})):
        body = await reports.gql(query, variables, errors=True, key=key)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- the demo data -------------------------------------------------------------------------------


async def test_every_report_has_figures_on_the_demo_data(backend) -> None:  # noqa: ANN001
    data = await backend.gql(
        """{
          salesDynamics(period: MONTH, groupBy: TIER) { totalRows rows { revenue { amount } } totals { orderCount } }
          complaintAnalysis(groupBy: SEVERITY) { totalRows total { count } }
          creditAnalysis(first: 5) { totalRows rows { exposure { amount } } }
          customerFinancials(first: 5) { totalRows rows { orderCount } }
        }"""
    )
    assert data["salesDynamics"]["totalRows"] > 4 and data["salesDynamics"]["totals"][0]["orderCount"] > 100
    assert data["complaintAnalysis"]["total"]["count"] > 0
    assert len(data["creditAnalysis"]["rows"]) == 5 and len(data["customerFinancials"]["rows"]) == 5


async def test_a_report_is_a_bounded_number_of_statements(backend) -> None:  # noqa: ANN001
    # One statement when every group is returned (the totals are window sums over the groups);
    # a second one for the totals when the rows were cut (13 months, but 150+ days) or when
    # lines are grouped (one order may hold several products).
    fields = "{ rows { revenue { amount } } totals { orderCount } }"
    for query, expected in (
        (f"{{ salesDynamics(period: MONTH) {fields} }}", 1),
        (f"{{ salesDynamics(period: DAY) {fields} }}", 2),
        (f"{{ salesDynamics(groupBy: PRODUCT) {fields} }}", 2),
    ):
        _, statements = await backend.statements(query)
        assert statements == expected, query


async def test_totals_from_window_sums_equal_the_totals_statement(backend) -> None:  # noqa: ANN001
    fields = "totals { currency revenue { amount } cost { amount } orderCount linesWithoutCost }"
    windowed = await backend.gql(f"{{ salesDynamics(period: MONTH, groupBy: REGION) {{ truncated {fields} }} }}")
    counted = await backend.gql(f"{{ salesDynamics(groupBy: PRODUCT, first: 1) {{ truncated {fields} }} }}")
    assert windowed["salesDynamics"]["truncated"] is False and counted["salesDynamics"]["truncated"] is True
    assert windowed["salesDynamics"]["totals"] == counted["salesDynamics"]["totals"]
