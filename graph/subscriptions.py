"""Live change events for GraphQL subscriptions (graphql-transport-ws at /graphql).

The outbox is the source of truth, so delivery works the same on SQLite and PostgreSQL and
across processes: whoever wrote an event, every process sees it in the table.

- Each app runs ONE `ChangeNotifier` poller (started with the first subscriber, stopped with
  the last): every `subscription_poll_ms` it reads a cheap change token (the newest event id,
  and on PostgreSQL the oldest running transaction, since an event becomes deliverable when
  its transaction finishes) and, when it moved, wakes every subscriber in this process.
- Each woken subscriber reads what is new *for it* with one scoped query from its own
  position (graph/resolvers/changes.py: same visibility, kinds and exactly-once rules as the
  `changes` query), so it replays from `after` first and then goes live without gaps.

The writer cannot NOTIFY us (it is not ours to change); a NOTIFY on "partnergraph_outbox"
would only shorten the wait, the polling alone is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.loaders import Loaders
from graph.models.sync import OutboxEvent
from graph.resolvers import changes as r

log = logging.getLogger("partnergraph.subscriptions")

CHANNEL = "partnergraph_outbox"
BATCH_SIZE = 100


class ChangeNotifier:
    """One poller per app, fanning the news "the outbox moved" out to its subscribers."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], poll_seconds: float) -> None:
        self.session_factory = session_factory
        self.poll_seconds = poll_seconds
        self._subscribers: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None
        self._token: tuple[Any, ...] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def subscribe(self) -> asyncio.Event:
        wake = asyncio.Event()
        self._subscribers.add(wake)
        if not self.running:
            self._task = asyncio.create_task(self._poll(), name="partnergraph-change-notifier")
        return wake

    def unsubscribe(self, wake: asyncio.Event) -> None:
        self._subscribers.discard(wake)
        if not self._subscribers and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        self._subscribers.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _poll(self) -> None:
        while True:
            try:
                token = await self._read_token()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a lost database: keep trying, subscribers wait
                log.warning("reading the outbox for subscriptions failed", exc_info=True)
            else:
                if token != self._token:
                    self._token = token
                    for wake in list(self._subscribers):
                        wake.set()
            await asyncio.sleep(self.poll_seconds)

    async def _read_token(self) -> tuple[Any, ...]:
        async with self.session_factory() as session:
            newest = func.max(OutboxEvent.__table__.c.id)
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                horizon = cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text)
                return tuple((await session.execute(select(newest, horizon))).one())
            return tuple((await session.execute(select(newest))).one())


async def stream_changes(
    context: Any, notifier: ChangeNotifier, after: str | None, kinds: Sequence[str] | None
) -> AsyncIterator[Any]:
    """The rows of the events `context.principal` may see past `after`, then live ones."""
    reader = context.reader
    position = await r.position_after(reader, after)
    wake = notifier.subscribe()
    try:
        while True:
            wake.clear()  # before reading: news arriving during the read is not lost
            rows = await r.fetch_changes(reader, position, kinds, BATCH_SIZE)
            if rows:
                # Nested fields of the changed records read through loaders: fresh per batch,
                # so a long-lived connection never serves a stale cached row.
                context.loaders = Loaders(reader)
                for row in rows:
                    position = r.position_of(row)
                    yield row
                if len(rows) == BATCH_SIZE:
                    continue
            await _release(context)
            await wake.wait()
    finally:
        notifier.unsubscribe(wake)


async def _release(context: Any) -> None:
    """Hand the connection back to the pool while waiting (the session reopens on use)."""
    async with context.reader._lock:  # noqa: SLF001 - the same lock that serialises its statements
        await context.session.close()
