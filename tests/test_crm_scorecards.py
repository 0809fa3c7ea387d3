"""Rep scorecards for Q2 2026 (2026-04-01..2026-06-30), pinned by hand on the world of
tests/test_crm_value.py with tests/test_crm_visits.py's plans, on both databases.

Ownership: R1 owns A, C, D throughout and B from day −100 (R2 owned B before); R2 owns G, H,
and F from day −25. The period starts at day −91 and ends at AS_OF (day 0).
Revenue (owner when the order was placed, counted orders in the period):
  R1: A −70 1000 + B −70 5000 (B was R1's by then) + C −28..−7 8000 = 14000
  R2: G −60 3000 + F −20 3000 = 6000
Targets: R1 5000 for each of April, May, June (July's 9999 lies outside) = 15000 →
  attainment 14000/15000 = 0.9333; R2 has none.
Portfolio at the end: R1 A B C D (4), R2 F G H (3). Active = ordered in the 365 days before:
  at the start (day −91): R1 A, B, D (C's first order is day −28); R2 G, H.
  at the end (day 0):     R1 A, B, C (D's last is −380); R2 F, G, H.
  → R1 gained 1 (C), lost 1 (D), churn 1/3 = 0.3333; R2 gained 1 (F), lost 0, churn 0.
Visits: R1 planned 04-10 (done), 05-10 (done), 06-10 (not done), 06-15 (cancelled: not
  counted), 07-05 (outside) → 2 of 3 = 0.6667; R2 none.
"""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Backend
from tests.test_crm_value import World, build_world
from tests.test_crm_visits import make_plans

SCORECARDS = """query($from: Date!, $to: Date!) { repScorecards(period: {from: $from, to: $to}) { totalCount edges { node {
  rep { name } from to revenue { amount } target { amount } attainment accounts activeAtStart activeAtEnd
  customersGained customersLost churnRate visitsPlanned visitsDone visitFulfilment } } } }"""
TARGET = """mutation($input: SalesTargetInput!) { setSalesTarget(input: $input) { errors { field code }
  target { periodStart periodEnd revenueTarget { amount } rep { name } } } }"""
Q2 = {"from": "2026-04-01", "to": "2026-06-30"}


async def _world(backend: Backend) -> World:
    world = getattr(backend, "_crm_world", None)
    if world is None:
        world = await build_world(backend)
        await make_plans(backend, world)
        for start, end, amount in (
            ("2026-04-01", "2026-04-30", "5000"),
            ("2026-05-01", "2026-05-31", "4000"),
            ("2026-06-01", "2026-06-30", "5000"),
            ("2026-07-01", "2026-07-31", "9999"),
        ):
            data = await backend.gql(
                TARGET,
                {
                    "input": {
                        "repId": world.rep_gid("R1"),
                        "periodStart": start,
                        "periodEnd": end,
                        "revenueTarget": amount,
                    }
                },
            )
            assert data["setSalesTarget"]["errors"] == []
        # Setting a period's target again changes it (May: 4000 → 5000).
        data = await backend.gql(
            TARGET,
            {
                "input": {
                    "repId": world.rep_gid("R1"),
                    "periodStart": "2026-05-01",
                    "periodEnd": "2026-05-31",
                    "revenueTarget": "5000",
                }
            },
        )
        assert Decimal(data["setSalesTarget"]["target"]["revenueTarget"]["amount"]) == 5000
        backend._crm_world = world  # type: ignore[attr-defined]
    return world


def _card(node: dict) -> tuple:
    def num(v):  # noqa: ANN001, ANN202
        return None if v is None else Decimal(v)

    return (
        num(node["revenue"]["amount"]),
        node["target"] and num(node["target"]["amount"]),
        num(node["attainment"]),
        node["accounts"],
        node["activeAtStart"],
        node["activeAtEnd"],
        node["customersGained"],
        node["customersLost"],
        num(node["churnRate"]),
        node["visitsPlanned"],
        node["visitsDone"],
        num(node["visitFulfilment"]),
    )


async def test_scorecards_match_the_hand_computation(blank_backend: Backend) -> None:
    await _world(blank_backend)
    data = (await blank_backend.gql(SCORECARDS, Q2))["repScorecards"]
    assert data["totalCount"] == 2
    cards = {e["node"]["rep"]["name"]: e["node"] for e in data["edges"]}
    assert list(cards) == ["Rep R1", "Rep R2"]
    assert (cards["Rep R1"]["from"], cards["Rep R1"]["to"]) == ("2026-04-01", "2026-06-30")
    assert _card(cards["Rep R1"]) == (
        Decimal(14000),
        Decimal(15000),
        Decimal("0.9333"),
        4,
        3,
        3,
        1,
        1,
        Decimal("0.3333"),
        3,
        2,
        Decimal("0.6667"),
    )
    assert _card(cards["Rep R2"]) == (Decimal(6000), None, None, 3, 2, 3, 1, 0, Decimal(0), 0, 0, None)


async def test_scorecards_of_a_page_cost_a_fixed_number_of_statements(blank_backend: Backend) -> None:
    await _world(blank_backend)
    query = SCORECARDS.replace("totalCount ", "")
    _, statements = await blank_backend.statements(query, Q2)
    assert statements <= 8  # users page + four aggregates + reps, whatever the number of reps


async def test_a_rep_sees_only_its_own_scorecard_and_partners_none(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    r2 = await blank_backend.key("sales", user_id=world.reps["R2"])
    data = (await blank_backend.gql(SCORECARDS, Q2, key=r2))["repScorecards"]
    assert [e["node"]["rep"]["name"] for e in data["edges"]] == ["Rep R2"]
    targets = await blank_backend.gql("{ salesTargets { totalCount } }", key=r2)
    assert targets["salesTargets"]["totalCount"] == 0  # R1's targets are R1's business
    partner = await blank_backend.key("customer", organization_id=world.customers["A"])
    body = await blank_backend.gql(SCORECARDS, Q2, errors=True, key=partner)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_targets_are_set_by_admins_with_checked_input(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    backwards = await blank_backend.gql(
        TARGET,
        {
            "input": {
                "repId": world.rep_gid("R1"),
                "periodStart": "2026-05-01",
                "periodEnd": "2026-04-01",
                "revenueTarget": "1",
            }
        },
    )
    assert backwards["setSalesTarget"]["errors"] == [{"field": ["periodEnd"], "code": "OUT_OF_RANGE"}]
    customer = await blank_backend.gql(
        TARGET,
        {
            "input": {
                "repId": world.gid("A"),
                "periodStart": "2026-05-01",
                "periodEnd": "2026-05-31",
                "revenueTarget": "1",
            }
        },
    )
    assert customer["setSalesTarget"]["errors"] == [{"field": ["repId"], "code": "INVALID"}]
    r1 = await blank_backend.key("sales", user_id=world.reps["R1"])
    body = await blank_backend.gql(
        TARGET,
        {
            "input": {
                "repId": world.rep_gid("R1"),
                "periodStart": "2026-05-01",
                "periodEnd": "2026-05-31",
                "revenueTarget": "1",
            }
        },
        errors=True,
        key=r1,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await blank_backend.gql(SCORECARDS, {"from": "2026-06-30", "to": "2026-04-01"}, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
