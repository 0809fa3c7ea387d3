"""Opportunities and the pipeline: figures pinned by hand on both databases, typed errors on
write, and the permission rules (partners see nothing, reps only their customers).

The fixture (weighted value = value × probability / 100):

    id  customer       owner  stage          value        prob  weighted
    O1  C1             rep 1  PROPOSAL       100000.00    50    50000.00
    O2  C1             rep 1  PROPOSAL        33333.33    33    10999.9989   (1099999.89 / 100)
    O3  C2             rep 2  PROPOSAL        20000.00    60    12000.00
    O4  P1 (prospect)  rep 2  NEGOTIATION     80000.00    75    60000.00
    O5  C1             rep 1  WON             50000.00   100    50000.00
    O6  C2             rep 2  LOST            40000.00     0        0.00
    O7  C1             rep 1  QUALIFICATION     999.00    10    archived: not counted

    by stage and owner  PROPOSAL/rep 1: 2, 133333.33, (5000000 + 1099999.89) / 100 = 60999.9989
                        PROPOSAL/rep 2: 1, 20000, 12000    NEGOTIATION/rep 2: 1, 80000, 60000
                        WON/rep 1: 1, 50000, 50000         LOST/rep 2: 1, 40000, 0
    by stage            PROPOSAL: 3, 153333.33, 72999.9989  NEGOTIATION: 1, 80000, 60000  WON …  LOST …

C1 is owned by rep 1, C2 by rep 2, P1 by nobody: rep 1 sees O1, O2, O4 and O5.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from graph.ids import encode_global_id
from graph.models import organizations as om
from graph.models import people as pm
from graph.models import relationship as rm
from graph.seed import reset_sequences
from tests.conftest import Backend

REP_1, REP_2, AGENT = 1, 2, 3
C1, C2, P1, C3 = 1, 2, 3, 4
# The hand-computed fixture closes before this; opportunities made by the write tests close after.
FIXTURE_WINDOW = {"expectedClose": {"to": "2027-12-31"}}
LATER = "2030-06-30"
S = rm.OpportunityStage


def gid(type_name: str, record_id: int) -> str:
    return encode_global_id(type_name, record_id)


@pytest.fixture(scope="module")
async def pipeline(blank_backend: Backend) -> Backend:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    async with blank_backend.session_factory() as s, s.begin():
        s.add_all(
            [
                pm.User(id=REP_1, name="Rep One", email="one@example.com", role=pm.UserRole.SALES),
                pm.User(id=REP_2, name="Rep Two", email="two@example.com", role=pm.UserRole.SALES),
                pm.User(id=AGENT, name="Agent", email="agent@example.com", role=pm.UserRole.SERVICE),
                om.Organization(id=C1, name="C1", is_customer=True, tier=om.CustomerTier.KEY),
                om.Organization(id=C2, name="C2", is_customer=True, tier=om.CustomerTier.GENERAL),
                om.Organization(id=P1, name="P1", is_customer=True, tier=om.CustomerTier.POTENTIAL),
                om.Organization(id=C3, name="C3", is_customer=True, tier=om.CustomerTier.GENERAL),
            ]
        )
        await s.flush()
        for org_id, rep in ((C1, REP_1), (C2, REP_2), (C3, REP_1)):
            s.add(pm.AccountOwnership(organization_id=org_id, user_id=rep, started_at=start))
        rows = [
            (1, C1, REP_1, S.PROPOSAL, "100000.00", 50, date(2027, 3, 1), None),
            (2, C1, REP_1, S.PROPOSAL, "33333.33", 33, date(2027, 2, 1), None),
            (3, C2, REP_2, S.PROPOSAL, "20000.00", 60, date(2027, 1, 15), None),
            (4, P1, REP_2, S.NEGOTIATION, "80000.00", 75, date(2027, 4, 1), None),
            (5, C1, REP_1, S.WON, "50000.00", 100, date(2026, 6, 1), None),
            (6, C2, REP_2, S.LOST, "40000.00", 0, date(2026, 5, 1), None),
            (7, C1, REP_1, S.QUALIFICATION, "999.00", 10, date(2027, 1, 1), start),
        ]
        for oid, org, owner, stage, value, probability, closes, archived in rows:
            s.add(
                rm.Opportunity(
                    id=oid,
                    organization_id=org,
                    owner_id=owner,
                    title=f"O{oid}",
                    stage=stage,
                    expected_value=Decimal(value),
                    probability=probability,
                    expected_close_date=closes,
                    competitors=["Rival Co."] if oid == 1 else None,
                    archived_at=archived,
                    closed_at=start if stage in rm.CLOSED_STAGES else None,
                )
            )
        await s.flush()
        await reset_sequences(await s.connection())
    return blank_backend


PIPELINE = """query($filter: OpportunityFilter) { pipeline(filter: $filter) {
  byStage { stage owner { name } count totalValue { amount currency } weightedValue { amount currency } }
  byStageAndOwner { stage owner { name } count totalValue { amount } weightedValue { amount } } } }"""


def rows(groups: list[dict]) -> list[tuple]:
    return [
        (
            g["stage"],
            g["owner"]["name"] if g["owner"] else None,
            g["count"],
            g["totalValue"]["amount"],
            g["weightedValue"]["amount"],
        )
        for g in groups
    ]


async def report(backend: Backend, key: str | None = None, **filter) -> dict:
    return (await backend.gql(PIPELINE, {"filter": {**FIXTURE_WINDOW, **filter}}, key=key))["pipeline"]


async def test_pipeline_by_stage_and_owner(pipeline: Backend) -> None:
    data = await report(pipeline)
    assert rows(data["byStageAndOwner"]) == [
        ("PROPOSAL", "Rep One", 2, "133333.3300", "60999.9989"),
        ("PROPOSAL", "Rep Two", 1, "20000.0000", "12000.0000"),
        ("NEGOTIATION", "Rep Two", 1, "80000.0000", "60000.0000"),
        ("WON", "Rep One", 1, "50000.0000", "50000.0000"),
        ("LOST", "Rep Two", 1, "40000.0000", "0.0000"),
    ]
    assert rows(data["byStage"]) == [
        ("PROPOSAL", None, 3, "153333.3300", "72999.9989"),
        ("NEGOTIATION", None, 1, "80000.0000", "60000.0000"),
        ("WON", None, 1, "50000.0000", "50000.0000"),
        ("LOST", None, 1, "40000.0000", "0.0000"),
    ]
    assert {g["totalValue"]["currency"] for g in data["byStage"]} == {"CNY"}


async def test_pipeline_filters_open_and_owner(pipeline: Backend) -> None:
    open_only = await report(pipeline, open=True)
    assert [(g["stage"], g["count"]) for g in open_only["byStage"]] == [("PROPOSAL", 3), ("NEGOTIATION", 1)]
    rep_two = await report(pipeline, ownerId=gid("User", REP_2))
    assert rows(rep_two["byStage"]) == [
        ("PROPOSAL", None, 1, "20000.0000", "12000.0000"),
        ("NEGOTIATION", None, 1, "80000.0000", "60000.0000"),
        ("LOST", None, 1, "40000.0000", "0.0000"),
    ]


async def test_a_sales_rep_sees_the_pipeline_of_its_customers_and_unowned_prospects(
    pipeline: Backend,
) -> None:
    rep = await pipeline.key("sales", user_id=REP_1)
    data = await report(pipeline, key=rep)
    assert rows(data["byStageAndOwner"]) == [
        ("PROPOSAL", "Rep One", 2, "133333.3300", "60999.9989"),
        ("NEGOTIATION", "Rep Two", 1, "80000.0000", "60000.0000"),  # P1 has no owner: shared
        ("WON", "Rep One", 1, "50000.0000", "50000.0000"),
    ]
    listed = await pipeline.gql("{ opportunities { totalCount edges { node { title } } } }", key=rep)
    assert [e["node"]["title"] for e in listed["opportunities"]["edges"]] == ["O5", "O2", "O1", "O4"]
    hidden = await pipeline.gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": gid("Opportunity", 3)}, key=rep
    )
    assert hidden["node"] is None


async def test_opportunities_connection_filters_pages_and_nests(pipeline: Backend) -> None:
    query = """query($after: String) { opportunities(first: 2, after: $after, filter: {stages: [PROPOSAL]}) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { title expectedCloseDate probability expectedValue { amount } weightedValue { amount }
                       competitors organization { name } owner { name } } } } }"""
    first = (await pipeline.gql(query))["opportunities"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    assert [e["node"]["title"] for e in first["edges"]] == ["O3", "O2"]  # by expected close date
    assert first["edges"][1]["node"]["weightedValue"] == {"amount": "10999.9989"}
    second = (await pipeline.gql(query, {"after": first["pageInfo"]["endCursor"]}))["opportunities"]
    assert [e["node"] for e in second["edges"]] == [
        {
            "title": "O1",
            "expectedCloseDate": "2027-03-01",
            "probability": 50,
            "expectedValue": {"amount": "100000.0000"},
            "weightedValue": {"amount": "50000.0000"},
            "competitors": ["Rival Co."],
            "organization": {"name": "C1"},
            "owner": {"name": "Rep One"},
        }
    ]
    assert not second["pageInfo"]["hasNextPage"]
    nested = await pipeline.gql(
        'query($id: ID!) { node(id: $id) { ... on Organization { opportunities(filter: {expectedClose: {to: "2027-12-31"}}) '
        "{ totalCount edges { node { title stage } } } } } }",
        {"id": gid("Organization", C1)},
    )
    assert [(e["node"]["title"], e["node"]["stage"]) for e in nested["node"]["opportunities"]["edges"]] == [
        ("O5", "WON"),
        ("O2", "PROPOSAL"),
        ("O1", "PROPOSAL"),
    ]


async def test_partners_get_nothing(pipeline: Backend) -> None:
    customer = await pipeline.key("customer", organization_id=C1)
    for query in ("{ pipeline { byStage { count } } }", "{ opportunities { edges { node { id } } } }"):
        body = await pipeline.gql(query, errors=True, key=customer)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await pipeline.gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": gid("Opportunity", 1)}, key=customer
    )
    assert body["node"] is None
    body = await pipeline.gql(
        "query($id: ID!) { node(id: $id) { ... on Organization { opportunities { totalCount } } } }",
        {"id": gid("Organization", C1)},
        errors=True,
        key=customer,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await pipeline.gql(CREATE, {"input": new_opportunity()}, errors=True, key=customer)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- writes (they close after FIXTURE_WINDOW, so the figures above stay as computed) ------------

CREATE = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  opportunity { id title stage probability version expectedValue { amount } weightedValue { amount } owner { name } }
  errors { field code } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateOpportunityInput!) { updateOpportunity(id: $id, input: $input) {
  opportunity { stage probability } errors { field code } } }"""
CLOSE = """mutation($id: ID!, $outcome: OpportunityOutcome!, $reason: String) {
  closeOpportunity(id: $id, outcome: $outcome, reason: $reason) {
    opportunity { stage probability closedAt closeReason } errors { field code } } }"""


def new_opportunity(**changes) -> dict:
    return {
        "organizationId": gid("Organization", C3),
        "title": "New line",
        "expectedValue": "12345.67",
        "probability": 40,
        "expectedCloseDate": LATER,
        "ownerId": gid("User", REP_1),
        **changes,
    }


async def count_opportunities(backend: Backend) -> int:
    return (await backend.gql("{ opportunities(filter: {includeArchived: true}) { totalCount } }"))[
        "opportunities"
    ]["totalCount"]


async def test_invalid_input_is_refused_with_typed_errors_and_changes_nothing(pipeline: Backend) -> None:
    before = await count_opportunities(pipeline)
    cases = [
        (new_opportunity(probability=120), [{"field": ["probability"], "code": "OUT_OF_RANGE"}]),
        (new_opportunity(probability=-1), [{"field": ["probability"], "code": "OUT_OF_RANGE"}]),
        (new_opportunity(expectedValue="-5"), [{"field": ["expectedValue"], "code": "OUT_OF_RANGE"}]),
        (new_opportunity(stage="WON"), [{"field": ["stage"], "code": "INVALID"}]),
        (new_opportunity(competitors=[" "]), [{"field": ["competitors", "0"], "code": "REQUIRED"}]),
        (
            new_opportunity(organizationId=gid("Product", 1)),
            [{"field": ["organizationId"], "code": "INVALID"}],
        ),
        (new_opportunity(ownerId=gid("User", AGENT)), [{"field": ["ownerId"], "code": "INVALID"}]),
        (new_opportunity(ownerId=None), [{"field": ["ownerId"], "code": "REQUIRED"}]),  # an admin key has no user
    ]
    for given, errors in cases:
        result = (await pipeline.gql(CREATE, {"input": given}))["createOpportunity"]
        assert result == {"opportunity": None, "errors": errors}, given
    assert await count_opportunities(pipeline) == before


async def test_an_opportunity_is_created_updated_and_closed_once(pipeline: Backend) -> None:
    created = (await pipeline.gql(CREATE, {"input": new_opportunity()}))["createOpportunity"]
    opportunity = created["opportunity"]
    assert created["errors"] == [] and opportunity["stage"] == "QUALIFICATION"
    assert opportunity["weightedValue"] == {"amount": "4938.2680"}  # 12345.67 × 40 / 100
    oid = opportunity["id"]

    refused = (await pipeline.gql(UPDATE, {"id": oid, "input": {"probability": 101}}))["updateOpportunity"]
    assert refused == {"opportunity": None, "errors": [{"field": ["probability"], "code": "OUT_OF_RANGE"}]}
    moved = await pipeline.gql(UPDATE, {"id": oid, "input": {"stage": "NEGOTIATION", "probability": 80}})
    assert moved["updateOpportunity"] == {
        "opportunity": {"stage": "NEGOTIATION", "probability": 80},
        "errors": [],
    }
    to_won = (await pipeline.gql(UPDATE, {"id": oid, "input": {"stage": "WON"}}))["updateOpportunity"]
    assert to_won["errors"] == [{"field": ["stage"], "code": "INVALID"}]

    no_reason = (await pipeline.gql(CLOSE, {"id": oid, "outcome": "LOST"}))["closeOpportunity"]
    assert no_reason["errors"] == [{"field": ["reason"], "code": "REQUIRED"}]
    won = (await pipeline.gql(CLOSE, {"id": oid, "outcome": "WON", "reason": "Signed"}))["closeOpportunity"]
    assert (
        won["errors"] == []
        and won["opportunity"]["stage"] == "WON"
        and won["opportunity"]["probability"] == 100
    )
    assert won["opportunity"]["closedAt"] is not None
    twice = (await pipeline.gql(CLOSE, {"id": oid, "outcome": "LOST", "reason": "Oops"}))["closeOpportunity"]
    assert twice == {"opportunity": None, "errors": [{"field": ["id"], "code": "CONFLICT"}]}
    closed_update = (await pipeline.gql(UPDATE, {"id": oid, "input": {"title": "x"}}))["updateOpportunity"]
    assert closed_update["errors"] == [{"field": ["id"], "code": "CONFLICT"}]


async def test_reps_create_opportunities_for_their_own_customers_only(pipeline: Backend) -> None:
    rep_1 = await pipeline.key("sales", user_id=REP_1)
    mine = (await pipeline.gql(CREATE, {"input": new_opportunity(ownerId=None)}, key=rep_1))[
        "createOpportunity"
    ]
    assert mine["errors"] == [] and mine["opportunity"]["owner"] == {
        "name": "Rep One"
    }  # defaults to the caller
    rep_2 = await pipeline.key("sales", user_id=REP_2)
    theirs = (await pipeline.gql(CREATE, {"input": new_opportunity()}, key=rep_2))["createOpportunity"]
    assert theirs["errors"] == [{"field": ["organizationId"], "code": "NOT_FOUND"}]  # C3 is rep 1's
    closing = await pipeline.gql(CLOSE, {"id": gid("Opportunity", 1), "outcome": "WON"}, key=rep_2)
    assert closing["closeOpportunity"]["errors"] == [{"field": ["id"], "code": "NOT_FOUND"}]
    service = await pipeline.key("service")
    body = await pipeline.gql(CREATE, {"input": new_opportunity()}, errors=True, key=service)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
