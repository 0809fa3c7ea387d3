"""Satisfaction surveys: campaigns, responses and the 0–100 index, pinned by hand on both
databases, with the permission rules (partners see nothing, reps only their customers).

The fixture (scores 0–10; index = 10 × SUM(score) / COUNT(score), rounded half-up to 0.1):

    customer  tier     owner  responses (opened, campaign)
    C1        KEY      rep 1  8 (2026-01-10, Q1)   9 (2026-02-03, ad hoc)
    C2        KEY      rep 2  6 (2026-01-12, Q1)   7 (2026-04-02)   5 (2026-04-20)
    C3        GENERAL  rep 1  3 (2026-01-15, Q1)   [10 archived: ignored]  [no score: ignored]

    per customer  C1: 17 / 2 → mean 8.50, index 85.0   C2: 18 / 3 → 6.00, 60.0   C3: 3 / 1 → 3.00, 30.0
    per tier      KEY: (17 + 18) / 5 → 7.00, 70.0       GENERAL: 3 / 1 → 30.0
    per quarter   2026-Q1: 8 + 9 + 6 + 3 = 26 / 4 → 6.50, 65.0   2026-Q2: 7 + 5 = 12 / 2 → 6.00, 60.0
    per month     2026-01: 8 + 6 + 3 = 17 / 3 → 5.67, 56.666… → 56.7   2026-02: 9 → 90.0   2026-04: 12 / 2 → 60.0
    per campaign  Q1: 17 / 3 → 56.7
    rep 1 (owns C1, C3; C2 is rep 2's): KEY = C1 only → 85.0, GENERAL 30.0
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from graph.ids import encode_global_id
from graph.models import organizations as om
from graph.models import people as pm
from graph.models import relationship as rm
from graph.models import service as sm
from graph.seed import reset_sequences
from tests.conftest import Backend

REP_1, REP_2 = 1, 2
C1, C2, C3, C4, SUPPLIER = 1, 2, 3, 4, 5
Q1, KEY_SURVEY, CLOSED_SURVEY = 1, 2, 3
# Every figure above lies in this window; responses recorded by the mutation tests lie after it.
WINDOW = {"from": "2026-01-01T00:00:00Z", "to": "2026-07-01T00:00:00Z"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


def gid(type_name: str, record_id: int) -> str:
    return encode_global_id(type_name, record_id)


@pytest.fixture(scope="module")
async def surveys(blank_backend: Backend) -> Backend:
    async with blank_backend.session_factory() as s, s.begin():
        s.add_all(
            [
                pm.User(id=REP_1, name="Rep One", email="one@example.com", role=pm.UserRole.SALES),
                pm.User(id=REP_2, name="Rep Two", email="two@example.com", role=pm.UserRole.SALES),
            ]
        )
        for org_id, name, tier in (
            (C1, "C1", om.CustomerTier.KEY),
            (C2, "C2", om.CustomerTier.KEY),
            (C3, "C3", om.CustomerTier.GENERAL),
            (C4, "C4", om.CustomerTier.POTENTIAL),
        ):
            s.add(om.Organization(id=org_id, name=name, is_customer=True, tier=tier))
        s.add(om.Organization(id=SUPPLIER, name="Supplier", is_supplier=True))
        await s.flush()
        for org_id, rep in ((C1, REP_1), (C2, REP_2), (C3, REP_1), (C4, REP_1)):
            s.add(pm.AccountOwnership(organization_id=org_id, user_id=rep, started_at=at("2025-01-01")))
        s.add_all(
            [
                rm.SurveyCampaign(
                    id=Q1,
                    name="Q1 survey",
                    period_start=date(2026, 1, 1),
                    period_end=date(2026, 3, 31),
                    status=rm.CampaignStatus.OPEN,
                ),
                rm.SurveyCampaign(
                    id=KEY_SURVEY,
                    name="Key accounts",
                    period_start=date(2026, 6, 1),
                    period_end=date(2026, 12, 31),
                    target_tier=om.CustomerTier.KEY,
                    status=rm.CampaignStatus.OPEN,
                ),
                rm.SurveyCampaign(
                    id=CLOSED_SURVEY,
                    name="Old survey",
                    period_start=date(2025, 1, 1),
                    period_end=date(2025, 3, 31),
                    status=rm.CampaignStatus.CLOSED,
                ),
            ]
        )
        await s.flush()
        s.add(rm.SurveyCampaignTarget(campaign_id=KEY_SURVEY, organization_id=C4))  # named on top of the tier
        responses = [
            (C1, 8, "2026-01-10", Q1, None),
            (C1, 9, "2026-02-03", None, None),
            (C2, 6, "2026-01-12", Q1, None),
            (C2, 7, "2026-04-02", None, None),
            (C2, 5, "2026-04-20", None, None),
            (C3, 3, "2026-01-15", Q1, None),
            (C3, 10, "2026-01-16", None, at("2026-01-17")),
            (C3, None, "2026-01-18", None, None),
        ]
        for org_id, score, day, campaign, archived in responses:
            s.add(
                sm.ServiceRecord(
                    kind=sm.ServiceRecordKind.SATISFACTION_SURVEY,
                    organization_id=org_id,
                    title="Survey",
                    status=sm.ServiceStatus.CLOSED,
                    opened_at=at(day),
                    score=score,
                    campaign_id=campaign,
                    archived_at=archived,
                )
            )
        await s.flush()
        await reset_sequences(await s.connection())
    return blank_backend


def figures(group: dict) -> tuple:
    sat = group["satisfaction"]
    return sat["responses"], sat["meanScore"], sat["index"]


INDEX = """query($by: SatisfactionGrouping!, $opened: DateTimeRange, $campaign: ID) {
  satisfactionIndex(groupBy: $by, opened: $opened, campaignId: $campaign) {
    key label tier satisfaction { responses meanScore index lowestScore highestScore }
  }
}"""


async def grouped(backend: Backend, by: str, key: str | None = None, **variables) -> list[tuple]:
    data = await backend.gql(INDEX, {"by": by, "opened": WINDOW, **variables}, key=key)
    return [(g["key"], *figures(g)) for g in data["satisfactionIndex"]]


async def test_index_per_customer_least_satisfied_first(surveys: Backend) -> None:
    assert await grouped(surveys, "CUSTOMER") == [
        (gid("Organization", C3), 1, "3.00", "30.0"),
        (gid("Organization", C2), 3, "6.00", "60.0"),
        (gid("Organization", C1), 2, "8.50", "85.0"),
    ]


async def test_index_per_tier_from_the_top_of_the_pyramid(surveys: Backend) -> None:
    assert await grouped(surveys, "TIER") == [("key", 5, "7.00", "70.0"), ("general", 1, "3.00", "30.0")]


async def test_index_per_quarter_and_month(surveys: Backend) -> None:
    assert await grouped(surveys, "QUARTER") == [
        ("2026-Q1", 4, "6.50", "65.0"),
        ("2026-Q2", 2, "6.00", "60.0"),
    ]
    assert await grouped(surveys, "MONTH") == [
        ("2026-01", 3, "5.67", "56.7"),
        ("2026-02", 1, "9.00", "90.0"),
        ("2026-04", 2, "6.00", "60.0"),
    ]


async def test_index_per_campaign_and_on_the_campaign(surveys: Backend) -> None:
    assert await grouped(surveys, "CAMPAIGN") == [(gid("SurveyCampaign", Q1), 3, "5.67", "56.7")]
    assert await grouped(surveys, "TIER", campaign=gid("SurveyCampaign", Q1)) == [
        ("key", 2, "7.00", "70.0"),
        ("general", 1, "3.00", "30.0"),
    ]
    data = await surveys.gql(
        "query($id: ID!) { node(id: $id) { ... on SurveyCampaign { name satisfaction { responses index lowestScore highestScore } "
        "responses { edges { node { ... on SatisfactionSurvey { score campaign { name } } } } } } } }",
        {"id": gid("SurveyCampaign", Q1)},
    )
    campaign = data["node"]
    assert campaign["satisfaction"] == {"responses": 3, "index": "56.7", "lowestScore": 3, "highestScore": 8}
    assert sorted(e["node"]["score"] for e in campaign["responses"]["edges"]) == [3, 6, 8]
    assert {e["node"]["campaign"]["name"] for e in campaign["responses"]["edges"]} == {"Q1 survey"}


async def test_index_on_each_customer_in_one_statement(surveys: Backend) -> None:
    query = """query($opened: DateTimeRange) { organizations(filter: {roles: [CUSTOMER]}) { edges { node {
        name satisfaction(opened: $opened) { responses meanScore index } } } } }"""
    data, statements = await surveys.statements(query, {"opened": WINDOW})
    found = {e["node"]["name"]: figures(e["node"]) for e in data["organizations"]["edges"]}
    assert found == {
        "C1": (2, "8.50", "85.0"),
        "C2": (3, "6.00", "60.0"),
        "C3": (1, "3.00", "30.0"),
        "C4": (0, None, None),
    }
    assert statements <= 3  # the list (and its auth) plus one GROUP BY for every customer's index


async def test_a_sales_rep_sees_only_its_own_customers_in_the_index(surveys: Backend) -> None:
    rep = await surveys.key("sales", user_id=REP_1)
    assert await grouped(surveys, "TIER", key=rep) == [
        ("key", 2, "8.50", "85.0"),
        ("general", 1, "3.00", "30.0"),
    ]
    customers = await grouped(surveys, "CUSTOMER", key=rep)
    assert [c[0] for c in customers] == [gid("Organization", C3), gid("Organization", C1)]


async def test_partners_get_nothing(surveys: Backend) -> None:
    for role, org in (("customer", C1), ("supplier", SUPPLIER)):
        key = await surveys.key(role, organization_id=org)
        body = await surveys.gql(INDEX, {"by": "TIER"}, errors=True, key=key)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await surveys.gql("{ surveyCampaigns { edges { node { id } } } }", errors=True, key=key)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await surveys.gql(
            "query($id: ID!) { node(id: $id) { id } }", {"id": gid("SurveyCampaign", Q1)}, key=key
        )
        assert body["node"] is None
    customer = await surveys.key("customer", organization_id=C1)
    body = await surveys.gql(
        "{ organizations { edges { node { name satisfaction { index } } } } }", errors=True, key=customer
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Its own survey responses stay readable, but not the campaign behind them.
    data = await surveys.gql(
        "{ serviceRecords { edges { node { ... on SatisfactionSurvey { score campaign { id } } } } } }",
        key=customer,
    )
    assert {e["node"]["score"] for e in data["serviceRecords"]["edges"]} == {8, 9}
    assert all(e["node"]["campaign"] is None for e in data["serviceRecords"]["edges"])


# -- writes (after the figures: they add responses outside WINDOW) ---------------------------

RECORD = """mutation($input: RecordSurveyResponseInput!) { recordSurveyResponse(input: $input) {
  response { ... on SatisfactionSurvey { score status organization { name } campaign { name } } }
  errors { field code } } }"""


def response_input(campaign: int, org: int, score: int) -> dict:
    return {
        "campaignId": gid("SurveyCampaign", campaign),
        "organizationId": gid("Organization", org),
        "score": score,
    }


async def record(backend: Backend, campaign: int, org: int, score: int, key: str | None = None) -> dict:
    return (await backend.gql(RECORD, {"input": response_input(campaign, org, score)}, key=key))[
        "recordSurveyResponse"
    ]


async def test_recording_responses_checks_campaign_target_score_and_duplicates(surveys: Backend) -> None:
    # C3 is GENERAL and not named: the key-accounts campaign does not ask it.
    assert (await record(surveys, KEY_SURVEY, C3, 7))["errors"] == [
        {"field": ["organizationId"], "code": "INVALID"}
    ]
    assert (await record(surveys, CLOSED_SURVEY, C1, 7))["errors"] == [
        {"field": ["campaignId"], "code": "INVALID"}
    ]
    assert (await record(surveys, KEY_SURVEY, C1, 11))["errors"] == [
        {"field": ["score"], "code": "OUT_OF_RANGE"}
    ]
    assert (await record(surveys, Q1, C1, 5))["errors"] == [
        {"field": ["organizationId"], "code": "DUPLICATE"}
    ]
    assert (await record(surveys, Q1, SUPPLIER, 5))["errors"] == [
        {"field": ["organizationId"], "code": "INVALID"}
    ]

    # C4 is POTENTIAL but named by the campaign; C2 is in its tier.
    ok = await record(surveys, KEY_SURVEY, C4, 10)
    assert ok["errors"] == [] and ok["response"] == {
        "score": 10,
        "status": "CLOSED",
        "organization": {"name": "C4"},
        "campaign": {"name": "Key accounts"},
    }
    assert (await record(surveys, KEY_SURVEY, C2, 5))["errors"] == []
    data = await surveys.gql(
        "query($id: ID!) { node(id: $id) { ... on SurveyCampaign { satisfaction { responses meanScore index } } } }",
        {"id": gid("SurveyCampaign", KEY_SURVEY)},
    )
    assert data["node"]["satisfaction"] == {
        "responses": 2,
        "meanScore": "7.50",
        "index": "75.0",
    }  # (10 + 5) / 2


async def test_a_rep_records_responses_only_for_its_own_customers(surveys: Backend) -> None:
    rep_2 = await surveys.key("sales", user_id=REP_2)
    result = await record(surveys, KEY_SURVEY, C1, 9, key=rep_2)  # C1 belongs to rep 1
    assert result["errors"] == [{"field": ["organizationId"], "code": "NOT_FOUND"}]
    partner = await surveys.key("customer", organization_id=C1)
    body = await surveys.gql(RECORD, {"input": response_input(KEY_SURVEY, C1, 9)}, errors=True, key=partner)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_campaigns_are_created_opened_and_closed_once(surveys: Backend) -> None:
    created = await surveys.gql(
        """mutation($input: CreateSurveyCampaignInput!) { createSurveyCampaign(input: $input) {
            campaign { id name status targetTier targetCustomers { edges { node { name } } } } errors { field code } } }""",
        {
            "input": {
                "name": "Mid-year",
                "periodStart": "2026-07-01",
                "periodEnd": "2026-07-31",
                "targetTier": "GENERAL",
                "targetCustomerIds": [gid("Organization", C1)],
            }
        },
    )
    campaign = created["createSurveyCampaign"]["campaign"]
    assert campaign["status"] == "PLANNED" and campaign["targetTier"] == "GENERAL"
    assert [e["node"]["name"] for e in campaign["targetCustomers"]["edges"]] == ["C1"]
    bad = await surveys.gql(
        """mutation($input: CreateSurveyCampaignInput!) { createSurveyCampaign(input: $input) { errors { field code } } }""",
        {
            "input": {
                "name": "Backwards",
                "periodStart": "2026-07-31",
                "periodEnd": "2026-07-01",
                "targetCustomerIds": [gid("Organization", SUPPLIER)],
            }
        },
    )
    assert bad["createSurveyCampaign"]["errors"] == [
        {"field": ["periodEnd"], "code": "OUT_OF_RANGE"},
        {"field": ["targetCustomerIds", "0"], "code": "INVALID"},
    ]
    status = "mutation($id: ID!) { %s(id: $id) { campaign { status } errors { field code } } }"
    opened = await surveys.gql(status % "openSurveyCampaign", {"id": campaign["id"]})
    assert opened["openSurveyCampaign"] == {"campaign": {"status": "OPEN"}, "errors": []}
    closed = await surveys.gql(status % "closeSurveyCampaign", {"id": campaign["id"]})
    assert closed["closeSurveyCampaign"] == {"campaign": {"status": "CLOSED"}, "errors": []}
    again = await surveys.gql(status % "closeSurveyCampaign", {"id": campaign["id"]})
    assert again["closeSurveyCampaign"] == {
        "campaign": None,
        "errors": [{"field": ["id"], "code": "CONFLICT"}],
    }
