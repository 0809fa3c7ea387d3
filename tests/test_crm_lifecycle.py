"""Lifecycle stages and their history, pinned by hand on the world of tests/test_crm_value.py.

As of 2026-07-01 the stages are those of test_crm_value's table (A development, B maturity,
C development, D termination, E prospect, F development, G growth, H termination).

As of 2026-09-01 (62 days later):
  A  silent since 2026-04-22 (132 days) against a rhythm of 30 → risk 1 → termination.
  C  its +5 order (2026-07-06) now counts: rhythm (28+5)/4 = 8.25 days, silent 57 → risk 1
     → termination (checked before "first order under 182 days ago").
  G  last half (2026-03-03..) 3000 against 4000 in the half before → growth −0.25, silent
     122 days against a rhythm of 120 → risk 0.0083 → maturity.
  B (maturity), D, H (termination), E (prospect), F (development: one order 82 days ago,
  rhythm 90) do not move.
"""

from __future__ import annotations

from tests.conftest import Backend
from tests.test_crm_value import AS_OF_TEXT, EXPECTED, World, build_world

REFRESH = """mutation($as: DateTime) { refreshLifecycle(asOf: $as) { errors { field code }
  changes { fromStage toStage changedAt reason organization { name } } } }"""


async def _world(backend: Backend) -> World:
    world = getattr(backend, "_crm_world", None)
    if world is None:
        world = await build_world(backend)
        backend._crm_world = world  # type: ignore[attr-defined]
    return world


def _moves(payload: dict) -> dict[str, tuple[str | None, str]]:
    return {c["organization"]["name"][-1]: (c["fromStage"], c["toStage"]) for c in payload["changes"]}


async def test_a_recompute_records_only_the_stages_that_moved(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    first = (await blank_backend.gql(REFRESH, {"as": AS_OF_TEXT}))["refreshLifecycle"]
    assert first["errors"] == []
    assert _moves(first) == {name: (None, row[13]) for name, row in EXPECTED.items()}
    assert all(c["changedAt"].startswith("2026-07-01T00:00:00") for c in first["changes"])

    again = (await blank_backend.gql(REFRESH, {"as": AS_OF_TEXT}))["refreshLifecycle"]
    assert again == {"errors": [], "changes": []}

    later = (await blank_backend.gql(REFRESH, {"as": "2026-09-01T00:00:00Z"}))["refreshLifecycle"]
    assert _moves(later) == {
        "A": ("DEVELOPMENT", "TERMINATION"),
        "C": ("DEVELOPMENT", "TERMINATION"),
        "G": ("GROWTH", "MATURITY"),
    }
    reasons = {c["organization"]["name"][-1]: c["reason"] for c in later["changes"]}
    assert reasons["A"] == "silent for 132.0000 days, three times its rhythm of 30.0000 days"
    assert reasons["G"] == "established customer, revenue not growing 10 % half on half"

    query = """query($id: ID!) { node(id: $id) { ... on Organization {
      lifecycleHistory { edges { node { fromStage toStage } } }
      insights(asOf: "2026-09-01T00:00:00Z") { lifecycleStage churnRisk growth purchaseRhythmDays } } } }"""
    g = (await blank_backend.gql(query, {"id": world.gid("G")}))["node"]
    assert [(e["node"]["fromStage"], e["node"]["toStage"]) for e in g["lifecycleHistory"]["edges"]] == [
        ("GROWTH", "MATURITY"),
        (None, "GROWTH"),
    ]
    assert g["insights"] == {
        "lifecycleStage": "MATURITY",
        "churnRisk": "0.0083",
        "growth": "-0.2500",
        "purchaseRhythmDays": "120.0000",
    }
    c = (await blank_backend.gql(query, {"id": world.gid("C")}))["node"]["insights"]
    assert (c["purchaseRhythmDays"], c["churnRisk"]) == ("8.2500", "1.0000")


async def test_refresh_refuses_a_time_without_zone_and_non_admins(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    naive = (await blank_backend.gql(REFRESH, {"as": "2026-07-01T00:00:00"}))["refreshLifecycle"]
    assert naive == {"errors": [{"field": ["asOf"], "code": "INVALID"}], "changes": None}
    sales = await blank_backend.key("sales", user_id=world.reps["R1"])
    body = await blank_backend.gql(REFRESH, {"as": AS_OF_TEXT}, errors=True, key=sales)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    partner = await blank_backend.key("customer", organization_id=world.customers["A"])
    query = "query($id: ID!) { node(id: $id) { ... on Organization { lifecycleHistory { totalCount } } } }"
    body = await blank_backend.gql(query, {"id": world.gid("A")}, errors=True, key=partner)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
