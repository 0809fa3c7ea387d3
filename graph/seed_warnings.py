"""Early warnings for the demo data: the sweep, run once at the seed's reference date.

Called by `seed_demo` (graph/seed.py) after its rows are written. Like the rest of the demo
data it writes no audit or change-feed rows: the warnings are simply there, as if the
schedule had been running, and the same demo arguments always raise the same warnings.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from graph.access import SYSTEM
from graph.crm.warnings import EVERYTHING, Evaluation, RuleConfig, evaluate
from graph.writes import UnitOfWork


async def _evaluate(session: AsyncSession, as_of: datetime) -> Evaluation:
    # The demo's thresholds are the documented defaults, whatever the environment says.
    uow = UnitOfWork(session, SYSTEM, "seed")
    return await evaluate(uow, as_of, EVERYTHING, RuleConfig())


async def seed_warnings(
    target: AsyncEngine | AsyncConnection | AsyncSession, now: datetime | None = None
) -> Evaluation:
    """Raise the warnings the rules find in freshly seeded data at `now` (default: today 00:00 UTC)."""
    as_of = now or datetime.combine(datetime.now(UTC).date(), time(), UTC)
    if isinstance(target, AsyncSession):
        return await _evaluate(target, as_of)
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            return await _evaluate_on(conn, as_of)
    if target.in_transaction():
        return await _evaluate_on(target, as_of)
    async with target.begin():
        return await _evaluate_on(target, as_of)


async def _evaluate_on(conn: AsyncConnection, as_of: datetime) -> Evaluation:
    session = AsyncSession(bind=conn, autoflush=False, expire_on_commit=False)
    try:
        return await _evaluate(session, as_of)
    finally:
        await session.close()
