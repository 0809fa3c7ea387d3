"""Demo data for the relationship side of CRM: survey campaigns and opportunities.

Called by `graph.seed` once the demo rows are written, with those rows: the quarterly survey
waves the seed already generated become campaigns (their responses are linked to them), a
planned campaign asks the strategic tier and two named key customers, and the customers'
current owners get opportunities in every stage. Deterministic: the same demo rows give the
same campaigns and opportunities.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from graph.models import organizations as morg
from graph.models import relationship as mr
from graph.models import service as ms

CAMPAIGNS = mr.SurveyCampaign.__table__
TARGETS = mr.SurveyCampaignTarget.__table__
OPPORTUNITIES = mr.Opportunity.__table__
RESPONSES = ms.ServiceRecord.__table__

_COMPETITORS = (
    "Eastbridge Components", "Huaxin Industrial", "Northstar Supply", "Jinghua Materials", "Sunrise Trading",
)
_TOPICS = ("Annual supply agreement", "Trial order", "Expansion", "Replacement programme", "New line")
# Stage → (share of opportunities, probability range in percent).
_STAGES = (
    (mr.OpportunityStage.QUALIFICATION, 0.22, (10, 20)),
    (mr.OpportunityStage.NEEDS_ANALYSIS, 0.2, (25, 40)),
    (mr.OpportunityStage.PROPOSAL, 0.2, (45, 60)),
    (mr.OpportunityStage.NEGOTIATION, 0.16, (65, 85)),
    (mr.OpportunityStage.WON, 0.12, (100, 100)),
    (mr.OpportunityStage.LOST, 0.1, (0, 0)),
)
_VALUE_RANGE = {  # expected value in CNY by tier
    "strategic": (200_000, 800_000),
    "key": (80_000, 300_000),
    "general": (20_000, 100_000),
    "potential": (10_000, 60_000),
}


async def write_relationship_demo(conn: AsyncConnection, data: dict[str, list[dict]]) -> None:
    """Insert campaigns and opportunities for the demo rows in `data` (already written)."""
    from graph.seed import reset_sequences  # graph.seed calls this module

    now = _now_of(data)
    rng = random.Random(f"partnergraph:relationship:{len(data['organizations'])}:{data['organizations'][0]['name']}")
    campaigns, targets, links = _campaigns(data, now)
    if campaigns:
        await conn.execute(insert(CAMPAIGNS), campaigns)
    if targets:
        await conn.execute(insert(TARGETS), targets)
    for title, campaign_id in links.items():
        await conn.execute(
            update(RESPONSES)
            .where(RESPONSES.c.kind == ms.ServiceRecordKind.SATISFACTION_SURVEY, RESPONSES.c.title == title)
            # Keep updated_at: the column's onupdate would stamp the wall clock (not deterministic).
            .values(campaign_id=campaign_id, updated_at=RESPONSES.c.updated_at)
        )
    opportunities = _opportunities(rng, data, now)
    if opportunities:
        await conn.execute(insert(OPPORTUNITIES), opportunities)
    await reset_sequences(conn, (CAMPAIGNS, TARGETS, OPPORTUNITIES))


def _now_of(data: dict[str, list[dict]]) -> datetime:
    """The end of the demo year: midnight after the last order."""
    last = max((row["placed_at"] for row in data["orders"]), default=datetime(2026, 1, 1, tzinfo=UTC))
    return datetime.combine(last.date() + timedelta(days=1), time(), UTC)


def _record(moment: datetime) -> dict[str, Any]:
    return {"created_at": moment, "updated_at": moment, "version": 1, "archived_at": None}


def _campaigns(data: dict[str, list[dict]], now: datetime) -> tuple[list[dict], list[dict], dict[str, int]]:
    """One campaign per survey wave (the latest still open), plus a planned strategic one."""
    waves: dict[str, list[datetime]] = defaultdict(list)
    for row in data["service_records"]:
        if row["kind"] is ms.ServiceRecordKind.SATISFACTION_SURVEY:
            waves[row["title"]].append(row["opened_at"])
    ordered = sorted(waves.items(), key=lambda item: min(item[1]))
    campaigns, links = [], {}
    for number, (title, opened) in enumerate(ordered, start=1):
        start = min(opened)
        campaigns.append({
            "id": number,
            "name": title,
            "description": "Quarterly satisfaction survey of every customer.",
            "period_start": start.date(),
            "period_end": max(opened).date(),
            "target_tier": None,
            "status": mr.CampaignStatus.OPEN if number == len(ordered) else mr.CampaignStatus.CLOSED,
            **_record(start - timedelta(days=7)),
        })
        links[title] = number
    planned_id = len(campaigns) + 1
    campaigns.append({
        "id": planned_id,
        "name": "Strategic accounts deep-dive",
        "description": "Interviews with strategic customers and two key accounts about service and delivery.",
        "period_start": (now + timedelta(days=14)).date(),
        "period_end": (now + timedelta(days=44)).date(),
        "target_tier": morg.CustomerTier.STRATEGIC,
        "status": mr.CampaignStatus.PLANNED,
        **_record(now - timedelta(days=3)),
    })
    key_customers = [
        row for row in data["organizations"]
        if row["is_customer"] and row["tier"] is morg.CustomerTier.KEY and row["archived_at"] is None
    ][:2]
    targets = [
        {"id": i, "campaign_id": planned_id, "organization_id": row["id"], **_record(now - timedelta(days=3))}
        for i, row in enumerate(key_customers, start=1)
    ]
    return campaigns, targets, links


def _opportunities(rng: random.Random, data: dict[str, list[dict]], now: datetime) -> list[dict]:
    owners = {
        row["organization_id"]: row["user_id"] for row in data["account_ownerships"] if row["ended_at"] is None
    }
    products = [row for row in data["products"] if row["archived_at"] is None]
    stages = [stage for stage, _, _ in _STAGES]
    weights = [share for _, share, _ in _STAGES]
    probabilities = {stage: bounds for stage, _, bounds in _STAGES}
    rows: list[dict] = []
    customers = [
        row for row in data["organizations"]
        if row["is_customer"] and row["status"] is morg.OrganizationStatus.ACTIVE and row["id"] in owners
    ]
    for org in customers:
        if rng.random() < 0.3:
            continue
        for _ in range(rng.choice((1, 1, 2))):
            stage = rng.choices(stages, weights)[0]
            low, high = _VALUE_RANGE[(org["tier"] or morg.CustomerTier.GENERAL).value]
            created = now - timedelta(days=rng.randint(20, 200), hours=rng.randint(1, 9))
            closed = stage in mr.CLOSED_STAGES
            closed_at = created + timedelta(days=rng.randint(5, 19)) if closed else None
            close_date = closed_at.date() if closed_at else (now + timedelta(days=rng.randint(10, 150))).date()
            product = rng.choice(products)
            rows.append({
                "organization_id": org["id"],
                "owner_id": owners[org["id"]],
                "title": f"{rng.choice(_TOPICS)}: {product['name']}",
                "description": None,
                "stage": stage,
                "expected_value": Decimal(rng.randrange(low, high, 100)),
                "currency": "CNY",
                "probability": rng.randint(*probabilities[stage]),
                "expected_close_date": close_date,
                "competitors": sorted(rng.sample(_COMPETITORS, rng.randint(0, 2))) or None,
                "closed_at": closed_at,
                "close_reason": (
                    None if not closed
                    else "Price and delivery terms accepted." if stage is mr.OpportunityStage.WON
                    else "Chose a competitor on price."
                ),
                **_record(created),
                "updated_at": closed_at or created,
            })
    rows.sort(key=lambda row: (row["created_at"], row["organization_id"]))
    for number, row in enumerate(rows, start=1):
        row["id"] = number
    return rows  # competitors None is SQL NULL (the column is JSON(none_as_null=True))
