"""The periodic early-warning sweep: every rule over every subject at one instant.

Time alone makes some conditions true (an order passes its promised date while nothing is
written), so besides the write-path hook the rules must be swept: by `partnergraph warnings
sweep [--as-of]` from cron, or in the server process when `warnings_sweep_enabled` is set.
Sweeps may overlap (several processes, a manual run): they never duplicate a warning
(see graph/crm/warnings.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from graph.access import SYSTEM
from graph.crm.warnings import EVERYTHING, Evaluation, RuleConfig, evaluate
from graph.models.base import utcnow
from graph.writes import transaction

log = logging.getLogger(__name__)


async def _take_write_lock(session: AsyncSession) -> None:
    """On SQLite, take the write lock before reading: a transaction that read first and then
    writes after another one committed fails at once (stale snapshot) instead of waiting."""
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("UPDATE early_warnings SET version = version WHERE 0 = 1"))


async def sweep(
    session_factory: Any, as_of: datetime | None = None, config: RuleConfig | None = None
) -> Evaluation:
    """Evaluate every rule at `as_of` (default: now) in one transaction; what it changed."""
    as_of = as_of or utcnow()
    async with transaction(session_factory, SYSTEM, "warnings.sweep") as uow:
        await _take_write_lock(uow.session)
        result = await evaluate(uow, as_of, EVERYTHING, config)
    log.info("early-warning sweep at %s: %s", as_of.isoformat(), result.as_dict())
    return result


class WarningSweeper:
    """Sweeps every `interval` seconds inside the server process until stopped."""

    def __init__(self, session_factory: Any, interval: float, config: RuleConfig | None = None) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self.config = config
        self.runs = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="early-warning-sweeper")

    async def _run(self) -> None:
        while True:
            try:
                await sweep(self.session_factory, config=self.config)
            except Exception:  # noqa: BLE001 - a failed sweep must not end the schedule
                log.exception("early-warning sweep failed; retrying in %s s", self.interval)
            self.runs += 1
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
