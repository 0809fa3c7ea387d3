"""Visit planning: plans per rep, recording them against Visit records, cancelling, the
checks on input and who may do what — on the world of tests/test_crm_value.py."""

from __future__ import annotations

from tests.conftest import Backend
from tests.test_crm_value import World, build_world

PLAN = """mutation($input: PlanVisitsInput!) { planVisits(input: $input) {
  errors { field code } plans { id plannedOn purpose status rep { name } organization { name } } } }"""
RECORD = """mutation($id: ID!, $input: RecordVisitInput!) { recordVisit(id: $id, input: $input) {
  errors { field code } plan { status visit { id doneAt feedback organization { name } } } } }"""
CANCEL = "mutation($id: ID!) { cancelVisitPlan(id: $id) { errors { field code } plan { status } } }"

# R1's plans: (customer, day, purpose). Q2 2026 holds the first four; the 06-15 one is cancelled.
R1_PLANS = [
    ("A", "2026-04-10", "Quarterly review"),
    ("C", "2026-05-10", "Present the new range"),
    ("D", "2026-06-10", "Win-back: why did they stop ordering?"),
    ("A", "2026-06-15", "Follow-up (to be cancelled)"),
    ("A", "2026-07-05", "Next quarter's plan"),
]


async def make_plans(backend: Backend, world: World) -> dict[str, str]:
    """Plan R1_PLANS, record the first two (one creates its Visit, one links an existing Visit)
    and cancel the fourth; return the plan ids by day."""
    visits = [{"customerId": world.gid(c), "plannedOn": d, "purpose": p} for c, d, p in R1_PLANS]
    data = (await backend.gql(PLAN, {"input": {"repId": world.rep_gid("R1"), "visits": visits}}))[
        "planVisits"
    ]
    assert data["errors"] == []
    ids = {p["plannedOn"]: p["id"] for p in data["plans"]}
    done = await backend.gql(
        RECORD, {"id": ids["2026-04-10"], "input": {"doneAt": "2026-04-10T10:00:00Z", "feedback": "Happy"}}
    )
    assert done["recordVisit"]["errors"] == []
    existing = await backend.gql(
        """mutation($org: ID!) { createVisit(input: {organizationId: $org, title: "Visit C", plannedAt: "2026-05-10T09:00:00Z",
        doneAt: "2026-05-10T11:00:00Z", purpose: "Present the new range"}) { record { id } errors { code } } }""",
        {"org": world.gid("C")},
    )
    visit_id = existing["createVisit"]["record"]["id"]
    linked = await backend.gql(
        RECORD, {"id": ids["2026-05-10"], "input": {"visitId": visit_id, "feedback": "Will order"}}
    )
    assert linked["recordVisit"]["errors"] == []
    assert linked["recordVisit"]["plan"]["visit"]["id"] == visit_id
    cancelled = await backend.gql(CANCEL, {"id": ids["2026-06-15"]})
    assert cancelled["cancelVisitPlan"] == {"errors": [], "plan": {"status": "CANCELLED"}}
    return ids


async def _world(backend: Backend) -> tuple[World, dict[str, str]]:
    state = getattr(backend, "_crm_visits", None)
    if state is None:
        world = await build_world(backend)
        state = (world, await make_plans(backend, world))
        backend._crm_visits = state  # type: ignore[attr-defined]
    return state


async def test_plans_are_recorded_against_visit_records(blank_backend: Backend) -> None:
    world, ids = await _world(blank_backend)
    data = await blank_backend.gql(
        """query($rep: ID!) { visitPlans(filter: {repId: $rep}) { totalCount edges { node { plannedOn status purpose
        visit { doneAt feedback organization { name } } } } } }""",
        {"rep": world.rep_gid("R1")},
    )
    plans = [(e["node"]["plannedOn"], e["node"]["status"]) for e in data["visitPlans"]["edges"]]
    assert plans == [
        ("2026-04-10", "DONE"),
        ("2026-05-10", "DONE"),
        ("2026-06-10", "PLANNED"),
        ("2026-06-15", "CANCELLED"),
        ("2026-07-05", "PLANNED"),
    ]
    first = data["visitPlans"]["edges"][0]["node"]["visit"]
    assert first == {
        "doneAt": "2026-04-10T10:00:00+00:00",
        "feedback": "Happy",
        "organization": {"name": "Customer A"},
    }
    assert data["visitPlans"]["edges"][1]["node"]["visit"]["feedback"] == "Will order"
    on_a = await blank_backend.gql(
        """query($id: ID!) { node(id: $id) { ... on Organization { visitPlans(filter: {status: [PLANNED]}) {
        edges { node { plannedOn } } } } } }""",
        {"id": world.gid("A")},
    )
    assert [e["node"]["plannedOn"] for e in on_a["node"]["visitPlans"]["edges"]] == ["2026-07-05"]


async def test_recording_checks_its_input(blank_backend: Backend) -> None:
    world, ids = await _world(blank_backend)
    again = await blank_backend.gql(
        RECORD, {"id": ids["2026-04-10"], "input": {"doneAt": "2026-04-10T10:00:00Z"}}
    )
    assert again["recordVisit"]["errors"] == [{"field": ["id"], "code": "CONFLICT"}]
    no_time = await blank_backend.gql(RECORD, {"id": ids["2026-06-10"], "input": {}})
    assert no_time["recordVisit"]["errors"] == [{"field": ["doneAt"], "code": "REQUIRED"}]
    future = await blank_backend.gql(
        RECORD, {"id": ids["2026-06-10"], "input": {"doneAt": "2999-01-01T00:00:00Z"}}
    )
    assert future["recordVisit"]["errors"] == [{"field": ["doneAt"], "code": "OUT_OF_RANGE"}]
    other = await blank_backend.gql(
        """mutation($org: ID!) { createVisit(input: {organizationId: $org, title: "Visit B", plannedAt: "2026-06-01T09:00:00Z"}) { record { id } } }""",
        {"org": world.gid("B")},
    )
    wrong = await blank_backend.gql(
        RECORD,
        {
            "id": ids["2026-06-10"],
            "input": {"visitId": other["createVisit"]["record"]["id"], "doneAt": "2026-06-10T10:00:00Z"},
        },
    )
    assert wrong["recordVisit"]["errors"] == [{"field": ["visitId"], "code": "INVALID"}]
    bad = await blank_backend.gql(
        PLAN,
        {
            "input": {
                "repId": world.rep_gid("R1"),
                "visits": [{"customerId": world.gid("A"), "plannedOn": "2026-08-01", "purpose": " "}],
            }
        },
    )
    assert bad["planVisits"]["errors"] == [{"field": ["visits", "0", "purpose"], "code": "REQUIRED"}]
    not_rep = await blank_backend.gql(
        PLAN,
        {
            "input": {
                "repId": world.gid("A"),
                "visits": [{"customerId": world.gid("A"), "plannedOn": "2026-08-01", "purpose": "x"}],
            }
        },
    )
    assert not_rep["planVisits"]["errors"] == [{"field": ["repId"], "code": "INVALID"}]
    still = await blank_backend.gql("{ visitPlans { totalCount } }")
    assert still["visitPlans"]["totalCount"] == 5  # nothing was added by refused input


async def test_reps_plan_only_their_own_visits_to_customers_they_see(blank_backend: Backend) -> None:
    world, ids = await _world(blank_backend)
    r2 = await blank_backend.key("sales", user_id=world.reps["R2"])
    for_r1 = await blank_backend.gql(
        PLAN,
        {
            "input": {
                "repId": world.rep_gid("R1"),
                "visits": [{"customerId": world.gid("G"), "plannedOn": "2026-08-01", "purpose": "x"}],
            }
        },
        key=r2,
    )
    assert {"field": ["repId"], "code": "FORBIDDEN"} in for_r1["planVisits"]["errors"]
    to_r1_customer = await blank_backend.gql(
        PLAN,
        {
            "input": {
                "repId": world.rep_gid("R2"),
                "visits": [{"customerId": world.gid("A"), "plannedOn": "2026-08-01", "purpose": "x"}],
            }
        },
        key=r2,
    )
    assert to_r1_customer["planVisits"]["errors"] == [
        {"field": ["visits", "0", "customerId"], "code": "NOT_FOUND"}
    ]
    # R2 does not see R1's plans to R1's customers, and cannot cancel them.
    seen = await blank_backend.gql("{ visitPlans { totalCount } }", key=r2)
    assert seen["visitPlans"]["totalCount"] == 0
    body = await blank_backend.gql(CANCEL, {"id": ids["2026-07-05"]}, key=r2)
    assert body["cancelVisitPlan"]["errors"] == [{"field": ["id"], "code": "NOT_FOUND"}]
    own = await blank_backend.gql(
        PLAN,
        {
            "input": {
                "repId": world.rep_gid("R2"),
                "visits": [{"customerId": world.gid("G"), "plannedOn": "2026-08-01", "purpose": "Review"}],
            }
        },
        key=r2,
    )
    assert own["planVisits"]["errors"] == [] and own["planVisits"]["plans"][0]["rep"]["name"] == "Rep R2"
    partner = await blank_backend.key("customer", organization_id=world.customers["A"])
    body = await blank_backend.gql("{ visitPlans { totalCount } }", errors=True, key=partner)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await blank_backend.gql(CANCEL, {"id": ids["2026-07-05"]}, errors=True, key=partner)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
