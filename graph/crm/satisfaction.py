"""The satisfaction index: survey scores summed and counted in SQL, scaled to 0–100.

A response is a service record of kind SATISFACTION_SURVEY with a score from 0 to 10
(archived responses and responses without a score do not count). For any group of
responses (a customer, a tier, a campaign, a calendar month or quarter):

    index = 100 × mean score / 10 = 10 × SUM(score) / COUNT(score), rounded half-up to 0.1

SQL returns only the exact integer sum and count per group; the division happens here in
Decimal, so both databases give the same figure to the last digit. Every statement is
limited by `visible()` for the caller, like any other read: a sales rep's index covers only
the customers it may see.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from graph.access import visible
from graph.models import organizations as om
from graph.models import relationship as rm
from graph.models import service as sm
from graph.reader import Reader

RESPONSE = sm.ServiceRecord.__table__
ORG = om.Organization.__table__
CAMPAIGN = rm.SurveyCampaign.__table__

SCORE_MAX = 10
_TENTH = Decimal("0.1")
_HUNDREDTH = Decimal("0.01")


class SatisfactionGrouping(enum.Enum):
    CUSTOMER = "customer"
    TIER = "tier"
    CAMPAIGN = "campaign"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class SatisfactionFigures:
    """What a group of responses says: how many, their mean score and the 0–100 index."""

    responses: int
    score_sum: int
    lowest: int | None
    highest: int | None

    @property
    def mean_score(self) -> Decimal | None:
        if not self.responses:
            return None
        return (Decimal(self.score_sum) / self.responses).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)

    @property
    def index(self) -> Decimal | None:
        if not self.responses:
            return None
        scaled = Decimal(self.score_sum) * 100 / (self.responses * SCORE_MAX)
        return scaled.quantize(_TENTH, rounding=ROUND_HALF_UP)


NO_RESPONSES = SatisfactionFigures(0, 0, None, None)


@dataclass(frozen=True)
class SatisfactionGroup:
    """One row of a grouped index: the group's key (and label) and its figures."""

    key: str
    label: str
    figures: SatisfactionFigures
    organization_id: int | None = None
    campaign_id: int | None = None
    tier: om.CustomerTier | None = None


# -- calendar parts of a UTC timestamp, on both databases ------------------------------------


class _UTCPart(FunctionElement):
    """A calendar part of a UTC timestamp column, as an integer. One subclass per part, so
    the part is in the class and hence in SQLAlchemy's statement-cache key."""

    type = Integer()
    inherit_cache = True
    part = ""


class _Year(_UTCPart):
    inherit_cache = True
    part = "year"


class _Month(_UTCPart):
    inherit_cache = True
    part = "month"


class _Quarter(_UTCPart):
    inherit_cache = True
    part = "quarter"


@compiles(_UTCPart, "sqlite")
def _utc_part_sqlite(element: _UTCPart, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)  # stored as naive UTC text
    month = f"CAST(strftime('%m', {column}) AS INTEGER)"
    if element.part == "year":
        return f"CAST(strftime('%Y', {column}) AS INTEGER)"
    return month if element.part == "month" else f"(({month} + 2) / 3)"


@compiles(_UTCPart, "postgresql")
def _utc_part_postgresql(element: _UTCPart, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)
    # AT TIME ZONE 'UTC': the calendar of UTC, whatever the session's time zone.
    return f"CAST(EXTRACT({element.part.upper()} FROM ({column} AT TIME ZONE 'UTC')) AS INTEGER)"


# -- the statements ------------------------------------------------------------------------


def _figures(row: Any) -> SatisfactionFigures:
    return SatisfactionFigures(
        responses=int(row.responses),
        score_sum=int(row.score_sum or 0),
        lowest=None if row.lowest is None else int(row.lowest),
        highest=None if row.highest is None else int(row.highest),
    )


def _aggregates() -> list[ColumnElement]:
    return [
        func.count(RESPONSE.c.score).label("responses"),
        func.sum(RESPONSE.c.score).label("score_sum"),
        func.min(RESPONSE.c.score).label("lowest"),
        func.max(RESPONSE.c.score).label("highest"),
    ]


def _responses(
    reader: Reader, *columns: Any, opened_from: datetime | None, opened_to: datetime | None
) -> Select:
    """Scored, current survey responses the caller may see, with `columns` and the aggregates."""
    conditions = [
        RESPONSE.c.kind == sm.ServiceRecordKind.SATISFACTION_SURVEY,
        RESPONSE.c.score.is_not(None),
        RESPONSE.c.archived_at.is_(None),
    ]
    scope = visible(sm.ServiceRecord, reader.principal)
    if scope is not None:
        conditions.append(scope)
    if opened_from is not None:
        conditions.append(RESPONSE.c.opened_at >= opened_from)
    if opened_to is not None:
        conditions.append(RESPONSE.c.opened_at < opened_to)
    return select(*columns, *_aggregates()).select_from(RESPONSE).where(*conditions)


async def figures_by_customer(
    reader: Reader,
    organization_ids: Sequence[int],
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
) -> list[SatisfactionFigures]:
    """The figures of each organization in `organization_ids` (one GROUP BY statement)."""
    stmt = (
        _responses(reader, RESPONSE.c.organization_id, opened_from=opened_from, opened_to=opened_to)
        .where(RESPONSE.c.organization_id.in_(set(organization_ids)))
        .group_by(RESPONSE.c.organization_id)
    )
    found = {row.organization_id: _figures(row) for row in await reader.rows(stmt)}
    return [found.get(i, NO_RESPONSES) for i in organization_ids]


async def figures_by_campaign(reader: Reader, campaign_ids: Sequence[int]) -> list[SatisfactionFigures]:
    """The figures of each campaign's responses (one GROUP BY statement)."""
    stmt = (
        _responses(reader, RESPONSE.c.campaign_id, opened_from=None, opened_to=None)
        .where(RESPONSE.c.campaign_id.in_(set(campaign_ids)))
        .group_by(RESPONSE.c.campaign_id)
    )
    found = {row.campaign_id: _figures(row) for row in await reader.rows(stmt)}
    return [found.get(i, NO_RESPONSES) for i in campaign_ids]


async def satisfaction_groups(
    reader: Reader,
    grouping: SatisfactionGrouping,
    *,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
    campaign_id: int | None = None,
    limit: int = 20,
) -> list[SatisfactionGroup]:
    """The index grouped by customer (least satisfied first), tier, campaign, month or
    quarter (in time order); at most `limit` groups, in one statement."""
    if grouping is SatisfactionGrouping.CUSTOMER:
        keys = [RESPONSE.c.organization_id, ORG.c.name]
    elif grouping is SatisfactionGrouping.TIER:
        keys = [ORG.c.tier]
    elif grouping is SatisfactionGrouping.CAMPAIGN:
        keys = [RESPONSE.c.campaign_id, CAMPAIGN.c.name, CAMPAIGN.c.period_start]
    else:
        second = _Month if grouping is SatisfactionGrouping.MONTH else _Quarter
        keys = [_Year(RESPONSE.c.opened_at).label("year"), second(RESPONSE.c.opened_at).label("part")]
    stmt = _responses(reader, *keys, opened_from=opened_from, opened_to=opened_to)
    if campaign_id is not None:
        stmt = stmt.where(RESPONSE.c.campaign_id == campaign_id)
    if grouping in (SatisfactionGrouping.CUSTOMER, SatisfactionGrouping.TIER):
        stmt = stmt.join(ORG, ORG.c.id == RESPONSE.c.organization_id)
        org_scope = visible(om.Organization, reader.principal)
        if org_scope is not None:
            stmt = stmt.where(org_scope)
    if grouping is SatisfactionGrouping.CAMPAIGN:
        stmt = stmt.join(CAMPAIGN, CAMPAIGN.c.id == RESPONSE.c.campaign_id)
        campaign_scope = visible(rm.SurveyCampaign, reader.principal)
        if campaign_scope is not None:
            stmt = stmt.where(campaign_scope)
    stmt = stmt.group_by(*keys)
    if grouping is SatisfactionGrouping.CUSTOMER:
        # Least satisfied first: the customers to call.
        mean = func.sum(RESPONSE.c.score) * 1.0 / func.count(RESPONSE.c.score)
        stmt = stmt.order_by(mean.asc(), RESPONSE.c.organization_id.asc())
    elif grouping is SatisfactionGrouping.CAMPAIGN:
        stmt = stmt.order_by(CAMPAIGN.c.period_start.asc(), RESPONSE.c.campaign_id.asc())
    elif grouping is not SatisfactionGrouping.TIER:  # periods, in time order
        stmt = stmt.order_by(keys[0].asc(), keys[1].asc())
    groups = [_group(grouping, row) for row in await reader.rows(stmt.limit(limit))]
    if grouping is SatisfactionGrouping.TIER:  # at most five groups: the pyramid from the top
        groups.sort(key=lambda g: _TIER_ORDER.get(g.tier, len(_TIER_ORDER)))
    return groups


_TIER_ORDER = {tier: i for i, tier in enumerate(om.CustomerTier)}


def _group(grouping: SatisfactionGrouping, row: Any) -> SatisfactionGroup:
    figures = _figures(row)
    if grouping is SatisfactionGrouping.CUSTOMER:
        return SatisfactionGroup(
            str(row.organization_id), row.name, figures, organization_id=row.organization_id
        )
    if grouping is SatisfactionGrouping.TIER:
        label = row.tier.value if row.tier is not None else "none"
        return SatisfactionGroup(label, label, figures, tier=row.tier)
    if grouping is SatisfactionGrouping.CAMPAIGN:
        return SatisfactionGroup(str(row.campaign_id), row.name, figures, campaign_id=row.campaign_id)
    if grouping is SatisfactionGrouping.MONTH:
        key = f"{row.year:04d}-{row.part:02d}"
    else:
        key = f"{row.year:04d}-Q{row.part}"
    return SatisfactionGroup(key, key, figures)
