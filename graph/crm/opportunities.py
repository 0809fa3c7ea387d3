"""The sales pipeline: opportunities summed by stage and owner with GROUP BY.

For each (stage, owner, currency) group of the opportunities the caller may see:

    count           = COUNT(*)
    total value     = SUM(expected_value)
    weighted value  = SUM(expected_value × probability) / 100, rounded half-up to 0.0001

The products value × probability are exact in SQL on both databases (NUMERIC on PostgreSQL,
scaled integers on SQLite); the one division by 100 happens here, in Decimal. A won
opportunity counts at 100 %, a lost one at 0 %. Stage totals add the groups of a stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, type_coerce

from graph.access import visible
from graph.models import relationship as rm
from graph.models.base import Money
from graph.reader import Reader

OPPORTUNITY = rm.Opportunity.__table__
_MONEY_STEP = Decimal("0.0001")
_STAGE_ORDER = {stage: i for i, stage in enumerate(rm.OpportunityStage)}


def weighted_value(expected_value: Decimal, probability: int) -> Decimal:
    """What an opportunity is worth if its probability holds: value × probability / 100."""
    return (expected_value * probability / 100).quantize(_MONEY_STEP, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PipelineGroup:
    """One stage (and owner, unless it is a stage total) of the pipeline in one currency."""

    stage: rm.OpportunityStage
    owner_id: int | None
    currency: str
    count: int
    total_value: Decimal
    weighted_value: Decimal


async def pipeline_by_stage_and_owner(
    reader: Reader, conditions: Sequence[ColumnElement[bool]] = ()
) -> list[PipelineGroup]:
    """The pipeline grouped by stage, owner and currency: one statement."""
    scope = visible(rm.Opportunity, reader.principal)
    stmt = (
        select(
            OPPORTUNITY.c.stage,
            OPPORTUNITY.c.owner_id,
            OPPORTUNITY.c.currency,
            func.count().label("count"),
            type_coerce(func.sum(OPPORTUNITY.c.expected_value), Money).label("total_value"),
            # value × percent, summed exactly; divided by 100 below.
            type_coerce(func.sum(OPPORTUNITY.c.expected_value * OPPORTUNITY.c.probability), Money).label(
                "value_percent"
            ),
        )
        .where(OPPORTUNITY.c.archived_at.is_(None), *conditions, *(() if scope is None else (scope,)))
        .group_by(OPPORTUNITY.c.stage, OPPORTUNITY.c.owner_id, OPPORTUNITY.c.currency)
    )
    groups = [_group(row) for row in await reader.rows(stmt)]
    groups.sort(key=lambda g: (_STAGE_ORDER[g.stage], g.owner_id or 0, g.currency))
    return groups


def _group(row: Any) -> PipelineGroup:
    return PipelineGroup(
        stage=row.stage,
        owner_id=row.owner_id,
        currency=row.currency,
        count=int(row.count),
        total_value=row.total_value,
        weighted_value=(row.value_percent / 100).quantize(_MONEY_STEP, rounding=ROUND_HALF_UP),
    )


def stage_totals(groups: Sequence[PipelineGroup]) -> list[PipelineGroup]:
    """The groups of each stage (and currency) added up, in pipeline order."""
    totals: dict[tuple[rm.OpportunityStage, str], PipelineGroup] = {}
    for g in groups:
        key = (g.stage, g.currency)
        seen = totals.get(key)
        totals[key] = PipelineGroup(
            g.stage,
            None,
            g.currency,
            g.count + (seen.count if seen else 0),
            g.total_value + (seen.total_value if seen else 0),
            g.weighted_value + (seen.weighted_value if seen else 0),
        )
    return sorted(totals.values(), key=lambda g: (_STAGE_ORDER[g.stage], g.currency))
