"""Customer figures pinned by hand: revenue, margin, RFM, churn risk against the customer's own
rhythm, lifetime value, lifecycle stage, value at risk — on both databases.

The world (built by `build_world`, shared with the other test_crm_* modules), as of
AS_OF = 2026-07-01 00:00 UTC; "−70" means 70 days before AS_OF. Product P costs 60 (standard);
supplier S offers it at 50, so a line naming S costs 50 a unit. Every line: P at 100 a unit.

  customer  orders (day: quantity, S = supplier S on the line)        tier now
  A (1)     −130: 10 S, −100: 10 S, −70: 10 S; cancelled −5; draft −3  general
  B (2)     −435: 50, −70: 50                                          general
  C (3)     −28, −21, −14, −7: 20 S each; +5 (after AS_OF): 20        key
  D (4)     −400: 10, −380: 10                                         key
  E (5)     none                                                       none
  F (6)     −20: 30                                                    potential
  G (7)     −300: 10 S, −150: 30 S, −60: 30 S; sales contract          key
  H (8)     −200: 5, −190: 5, −180: 5                                  potential

Hand computation (revenue, cost, margin; TTM = the 365 days before AS_OF):
  A  total 3000 / 1500 → margin 1500, TTM the same. Rhythm (130−70)/2 = 30 days, silent 70:
     risk = (70/30 − 1)/2 = 0.6667. CLV = 1500 + 1500/12·36·(1 − 0.6667) = 1500 + 1499.85
     = 2999.85. Value at risk = 0.6667 × 1500 = 1000.05. Stage: first order 130 < 182 days
     ago → development.
  B  total 10000 / 6000 (no supplier: cost 60) → margin 4000; TTM 5000 / 3000 → 2000.
     Rhythm 365, silent 70 → risk 0 (a yearly buyer is not at risk after 70 days).
     CLV = 4000 + 2000·3 = 10000. No revenue in the half before last → growth null → maturity.
  C  8000 / 4000, all in TTM (the +5 order does not exist yet). Rhythm 21/3 = 7, silent 7 →
     risk 0. CLV = 4000 + 4000·3 = 16000. Development.
  D  2000 / 1200, TTM 0 → termination (no order in 12 months). Rhythm 20, silent 380 → risk 1.
     CLV = 800. Value at risk 0.
  E  no orders: prospect, no RFM, no risk.
  F  one order: 3000 / 1800. Rhythm taken as 90, silent 20 → risk 0. CLV = 1200 + 3600 = 4800.
  G  7000 / 3500. Halves: last 182 days 6000, the 182 before 1000 → growth (6000−1000)/1000 = 5
     → growth stage. Rhythm (300−60)/2 = 120, silent 60 → risk 0. CLV = 3500 + 10500 = 14000.
     Contract 2026-01-01..2026-12-31 worth 36500: 181 of its 365 days fall in the TTM window
     (2025-07-01..2026-06-30) → 18100 contracted; fulfilment 7000/18100 = 0.3867.
  H  1500 / 900 → margin 600. Rhythm 10, silent 180 → risk 1 → termination. Growth: last half
     500, half before 1000 → −0.5. CLV = 600. Value at risk 600.
RFM (NTILE(5) over the 7 customers with orders; 7 rows → groups of 2,2,1,1,1; ties by id):
  R by last order, oldest first: D H | A B | G | F | C
  F by TTM orders: D(0) B(1) | F(1) A(3) | G(3) | H(3) | C(4)
  M by TTM revenue: D(0) H(1500) | A(3000) F(3000) | B(5000) | G(7000) | C(8000)
  → A 222, B 213, C 555, D 111, F 422, G 334, H 141.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from graph.ids import encode_global_id
from graph.models import contracts as mc
from graph.models import orders as mo
from graph.models import organizations as morg
from graph.models import people as mp
from graph.models import products as mpr
from graph.models.organizations import CustomerTier
from tests.conftest import Backend

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
AS_OF_TEXT = "2026-07-01T00:00:00Z"


@dataclass
class World:
    customers: dict[str, int]
    supplier: int
    reps: dict[str, int]
    product: int

    def gid(self, name: str) -> str:
        return encode_global_id("Organization", self.customers[name])

    def rep_gid(self, name: str) -> str:
        return encode_global_id("User", self.reps[name])


_TIERS = {
    "A": CustomerTier.GENERAL,
    "B": CustomerTier.GENERAL,
    "C": CustomerTier.KEY,
    "D": CustomerTier.KEY,
    "E": None,
    "F": CustomerTier.POTENTIAL,
    "G": CustomerTier.KEY,
    "H": CustomerTier.POTENTIAL,
}
# customer → [(day relative to AS_OF, quantity, via supplier, status)]
_ORDERS = {
    "A": [
        (-130, 10, True, None),
        (-100, 10, True, None),
        (-70, 10, True, None),
        (-5, 10, True, mo.OrderStatus.CANCELLED),
        (-3, 10, True, mo.OrderStatus.DRAFT),
    ],
    "B": [(-435, 50, False, None), (-70, 50, False, None)],
    "C": [
        (-28, 20, True, None),
        (-21, 20, True, None),
        (-14, 20, True, None),
        (-7, 20, True, None),
        (5, 20, False, None),
    ],
    "D": [(-400, 10, False, None), (-380, 10, False, None)],
    "F": [(-20, 30, False, None)],
    "G": [(-300, 10, True, None), (-150, 30, True, None), (-60, 30, True, None)],
    "H": [(-200, 5, False, None), (-190, 5, False, None), (-180, 5, False, None)],
}


def day(offset: int) -> datetime:
    return AS_OF + timedelta(days=offset)


async def build_world(backend: Backend) -> World:
    """Insert the world above into `backend` (an empty database)."""
    async with backend.session_factory() as s, s.begin():
        customers = {}
        for name, tier in _TIERS.items():
            org = morg.Organization(name=f"Customer {name}", is_customer=True, tier=tier, region="East")
            s.add(org)
            await s.flush()
            customers[name] = org.id
        supplier = morg.Organization(name="Supplier S", is_supplier=True)
        s.add(supplier)
        product = mpr.Product(sku="P-1", name="Product P", list_price=Decimal(100), cost=Decimal(60))
        s.add(product)
        await s.flush()
        s.add(
            mpr.SupplierProduct(
                supplier_id=supplier.id, product_id=product.id, price=Decimal(50), lead_time_days=5
            )
        )
        reps = {}
        for name in ("R1", "R2"):
            user = mp.User(name=f"Rep {name}", email=f"{name.lower()}@example.com", role=mp.UserRole.SALES)
            s.add(user)
            await s.flush()
            reps[name] = user.id
        owners = [
            ("A", "R1", -500, None),
            ("C", "R1", -500, None),
            ("D", "R1", -500, None),
            ("B", "R2", -500, -100),
            ("B", "R1", -100, None),
            ("G", "R2", -500, None),
            ("H", "R2", -500, None),
            ("F", "R2", -25, None),
        ]
        for customer, rep, start, end in owners:
            s.add(
                mp.AccountOwnership(
                    organization_id=customers[customer],
                    user_id=reps[rep],
                    started_at=day(start),
                    ended_at=None if end is None else day(end),
                )
            )
        number = 0
        for customer, orders in _ORDERS.items():
            for offset, quantity, via_supplier, status in orders:
                number += 1
                total = Decimal(quantity * 100)
                order = mo.Order(
                    number=f"SO-{number:04d}",
                    customer_id=customers[customer],
                    placed_at=day(offset),
                    status=status or mo.OrderStatus.DELIVERED,
                    total_amount=total,
                )
                s.add(order)
                await s.flush()
                s.add(
                    mo.OrderLine(
                        order_id=order.id,
                        line_number=1,
                        product_id=product.id,
                        supplier_id=supplier.id if via_supplier else None,
                        quantity=Decimal(quantity),
                        unit_price=Decimal(100),
                        line_total=total,
                    )
                )
        for i, (kind, status) in enumerate(
            (
                (mc.ContractKind.SALES, mc.ContractStatus.ACTIVE),
                (mc.ContractKind.SERVICE, mc.ContractStatus.ACTIVE),  # not a purchase commitment
                (mc.ContractKind.SALES, mc.ContractStatus.DRAFT),  # not signed
            )
        ):
            s.add(
                mc.Contract(
                    organization_id=customers["G"],
                    number=f"C-{i}",
                    title="Supply",
                    kind=kind,
                    status=status,
                    valid_from=date(2026, 1, 1),
                    valid_to=date(2026, 12, 31),
                    value=Decimal(36500),
                )
            )
    return World(customers, supplier.id, reps, product.id)


_INSIGHTS = """
query($as: DateTime) { organizations(first: 20, filter: {roles: [CUSTOMER]}) { edges { node { name insights(asOf: $as) {
  orderCount ordersLast12Months revenueLast12Months { amount } marginLast12Months { amount }
  revenueToDate { amount } marginToDate { amount } growth contractFulfilment daysSinceLastOrder
  purchaseRhythmDays churnRisk lifetimeValue { amount } valueAtRisk { amount } rfm { segment }
  lifecycleStage } } } } }
"""

# name → (orders, TTM orders, TTM revenue, TTM margin, revenue to date, margin to date, growth,
#         contract fulfilment, rhythm, churn risk, CLV, value at risk, RFM, stage)
EXPECTED = {
    "A": (
        3,
        3,
        "3000",
        "1500",
        "3000",
        "1500",
        None,
        None,
        "30",
        "0.6667",
        "2999.85",
        "1000.05",
        "222",
        "DEVELOPMENT",
    ),
    "B": (2, 1, "5000", "2000", "10000", "4000", None, None, "365", "0", "10000", "0", "213", "MATURITY"),
    "C": (4, 4, "8000", "4000", "8000", "4000", None, None, "7", "0", "16000", "0", "555", "DEVELOPMENT"),
    "D": (2, 0, "0", "0", "2000", "800", None, None, "20", "1", "800", "0", "111", "TERMINATION"),
    "E": (0, 0, "0", "0", "0", "0", None, None, None, None, "0", "0", None, "PROSPECT"),
    "F": (1, 1, "3000", "1200", "3000", "1200", None, None, "90", "0", "4800", "0", "422", "DEVELOPMENT"),
    "G": (3, 3, "7000", "3500", "7000", "3500", "5", "0.3867", "120", "0", "14000", "0", "334", "GROWTH"),
    "H": (3, 3, "1500", "600", "1500", "600", "-0.5", None, "10", "1", "600", "600", "141", "TERMINATION"),
}


def _num(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


async def _world(blank_backend: Backend) -> World:
    world = getattr(blank_backend, "_crm_world", None)
    if world is None:
        world = await build_world(blank_backend)
        blank_backend._crm_world = world  # type: ignore[attr-defined]
    return world


async def test_every_figure_matches_the_hand_computation(blank_backend: Backend) -> None:
    await _world(blank_backend)
    data = await blank_backend.gql(_INSIGHTS, {"as": AS_OF_TEXT})
    found = {e["node"]["name"][-1]: e["node"]["insights"] for e in data["organizations"]["edges"]}
    assert set(found) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        i = found[name]
        actual = (
            i["orderCount"],
            i["ordersLast12Months"],
            _num(i["revenueLast12Months"]["amount"]),
            _num(i["marginLast12Months"]["amount"]),
            _num(i["revenueToDate"]["amount"]),
            _num(i["marginToDate"]["amount"]),
            _num(i["growth"]),
            _num(i["contractFulfilment"]),
            _num(i["purchaseRhythmDays"]),
            _num(i["churnRisk"]),
            _num(i["lifetimeValue"]["amount"]),
            _num(i["valueAtRisk"]["amount"]),
            i["rfm"] and i["rfm"]["segment"],
            i["lifecycleStage"],
        )
        want = tuple(
            _num(v) if isinstance(v, str) and k not in (12, 13) else v for k, v in enumerate(expected)
        )
        assert actual == want, (name, actual, want)


async def test_days_since_last_order_counts_from_as_of(blank_backend: Backend) -> None:
    await _world(blank_backend)
    data = await blank_backend.gql(_INSIGHTS, {"as": AS_OF_TEXT})
    days = {
        e["node"]["name"][-1]: e["node"]["insights"]["daysSinceLastOrder"]
        for e in data["organizations"]["edges"]
    }
    assert {k: _num(v) for k, v in days.items()} == {
        "A": 70,
        "B": 70,
        "C": 7,
        "D": 380,
        "E": None,
        "F": 20,
        "G": 60,
        "H": 180,
    }


async def test_figures_move_with_as_of(blank_backend: Backend) -> None:
    """Ten days later C's +5 order exists: 5 orders, 10000 revenue, silent 5 days."""
    world = await _world(blank_backend)
    query = "query($id: ID!, $as: DateTime) { node(id: $id) { ... on Organization { insights(asOf: $as) { orderCount revenueToDate { amount } daysSinceLastOrder } } } }"
    data = await blank_backend.gql(query, {"id": world.gid("C"), "as": "2026-07-11T00:00:00Z"})
    insights = data["node"]["insights"]
    assert insights["orderCount"] == 5
    assert Decimal(insights["revenueToDate"]["amount"]) == Decimal(10000)
    assert Decimal(insights["daysSinceLastOrder"]) == Decimal(5)


async def test_revenue_and_margin_by_period(blank_backend: Backend) -> None:
    """G by quarter over 2025-09-01..2026-06-30: −300 is 2025-09-04 (Q3: 1000 / 500),
    −150 is 2026-02-01 (Q1: 3000 / 1500), −60 is 2026-05-02 (Q2: 3000 / 1500)."""
    world = await _world(blank_backend)
    query = """query($id: ID!) { node(id: $id) { ... on Organization {
      quarters: revenueByPeriod(grain: QUARTER, from: "2025-09-01", to: "2026-06-30") { period revenue { amount } margin { amount } }
      years: revenueByPeriod(grain: YEAR, from: "2025-01-01", to: "2026-12-31") { period revenue { amount } } } } }"""
    data = (await blank_backend.gql(query, {"id": world.gid("G")}))["node"]
    assert [
        (p["period"], Decimal(p["revenue"]["amount"]), Decimal(p["margin"]["amount"]))
        for p in data["quarters"]
    ] == [
        ("2025-Q3", 1000, 500),
        ("2026-Q1", 3000, 1500),
        ("2026-Q2", 3000, 1500),
    ]
    assert [(p["period"], Decimal(p["revenue"]["amount"])) for p in data["years"]] == [
        ("2025", 1000),
        ("2026", 6000),
    ]


async def test_at_risk_customers_ranked_by_value_at_risk_and_paginated(blank_backend: Backend) -> None:
    """At risk: A (1000.05), H (600), D (0, nothing left to lose but still at risk)."""
    await _world(blank_backend)
    query = """query($as: DateTime, $after: String) { atRiskCustomers(asOf: $as, first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { organization { name } valueAtRisk { amount } } } } }"""
    first = (await blank_backend.gql(query, {"as": AS_OF_TEXT}))["atRiskCustomers"]
    assert first["totalCount"] == 3
    assert [
        (e["node"]["organization"]["name"], Decimal(e["node"]["valueAtRisk"]["amount"]))
        for e in first["edges"]
    ] == [
        ("Customer A", Decimal("1000.05")),
        ("Customer H", Decimal(600)),
    ]
    assert first["pageInfo"]["hasNextPage"]
    second = (await blank_backend.gql(query, {"as": AS_OF_TEXT, "after": first["pageInfo"]["endCursor"]}))[
        "atRiskCustomers"
    ]
    assert [e["node"]["organization"]["name"] for e in second["edges"]] == ["Customer D"]
    assert not second["pageInfo"]["hasNextPage"]


async def test_a_list_of_customers_with_insights_costs_the_same_statements_whatever_its_length(
    blank_backend: Backend,
) -> None:
    await _world(blank_backend)
    query = """query($n: Int) { organizations(first: $n, filter: {roles: [CUSTOMER]}) { edges { node { name
      insights(asOf: "2026-07-01T00:00:00Z") { churnRisk rfm { segment } lifetimeValue { amount } ruleTier } } } } }"""
    _, two = await blank_backend.statements(query, {"n": 2})
    _, eight = await blank_backend.statements(query, {"n": 8})
    assert two == eight
    assert eight <= 6


async def test_partners_are_refused_and_sales_reps_see_only_their_customers(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    customer_key = await blank_backend.key("customer", organization_id=world.customers["A"])
    body = await blank_backend.gql(
        "{ organizations(first: 1) { edges { node { insights { churnRisk } } } } }",
        errors=True,
        key=customer_key,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await blank_backend.gql("{ atRiskCustomers { totalCount } }", errors=True, key=customer_key)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # R1 owns A, B, C, D; E is unowned; F, G, H are R2's: R1's at-risk list is A and D.
    sales_key = await blank_backend.key("sales", user_id=world.reps["R1"])
    data = await blank_backend.gql(
        '{ atRiskCustomers(asOf: "2026-07-01T00:00:00Z") { edges { node { organization { name } } } } }',
        key=sales_key,
    )
    assert [e["node"]["organization"]["name"] for e in data["atRiskCustomers"]["edges"]] == [
        "Customer A",
        "Customer D",
    ]
