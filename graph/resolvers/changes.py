"""The change feed: committed changes from the outbox (graph/models/sync.py), in commit
order, scoped by `visible(OutboxEvent, …)` like every other read.

Exactly once, in order, with concurrent writers. An event's id is drawn when it is inserted,
not when its transaction commits, so a reader that simply followed ids could pass an id whose
transaction is still in flight and never see it. On PostgreSQL the writer records its
transaction id (`txid`), and the feed

- only returns events whose transaction is older than the oldest one still running
  (`txid < pg_snapshot_xmin(pg_current_snapshot())`): that set can no longer change; and
- orders them by `(txid, id)`: every event that becomes visible later belongs to a
  transaction at or above today's horizon, so it sorts after everything already returned.

This equals id order except among transactions that wrote concurrently. The cursor is still
just the event id ("ch:<id>", base64); the feed looks up the event's txid to resume. On SQLite
writers are serialised (txid is NULL), and the feed is plain id order.
Events with a NULL txid on PostgreSQL sort as transaction 0 (first): the writer always sets it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Row, Select, Text, cast, false, func, or_, select, tuple_

from graph.errors import BadInput
from graph.models.sync import OutboxEvent
from graph.reader import Reader

EVENT = OutboxEvent.__table__
CURSOR_PREFIX = "ch:"

# A position in the feed: (transaction, id); (0, id) where there is no transaction id.
Position = tuple[int, int]
START: Position = (0, 0)


def encode_change_cursor(event_id: int) -> str:
    return base64.b64encode(f"{CURSOR_PREFIX}{event_id}".encode()).decode()


def decode_change_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadInput("Malformed cursor: pass back a cursor of the change feed.") from exc
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit() or len(text) > 24:
        raise BadInput("Malformed cursor: pass back a cursor of the change feed.")
    return int(text[len(CURSOR_PREFIX) :])


def kinds_condition(kinds: Sequence[str] | None) -> ColumnElement[bool] | None:
    """Exact kinds ("order.created") or prefixes ("order.*"); an unknown kind matches nothing."""
    if kinds is None:
        return None
    conditions: list[ColumnElement[bool]] = []
    for kind in kinds:
        if kind.endswith("*"):
            prefix = kind[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(EVENT.c.kind.like(prefix + "%", escape="\\"))
        else:
            conditions.append(EVENT.c.kind == kind)
    return or_(*conditions) if conditions else false()


def _is_postgresql(reader: Reader) -> bool:
    bind = reader.session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def _transaction() -> ColumnElement[int]:
    return func.coalesce(EVENT.c.txid, 0)


def _settled() -> ColumnElement[bool]:
    """Events whose transaction has finished (PostgreSQL): below the oldest one in flight."""
    horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
    return or_(EVENT.c.txid.is_(None), EVENT.c.txid < horizon)


def position_of(row: Row) -> Position:
    return (row.txid or 0, row.id)


async def event_position(scalar: Callable[[Any], Awaitable[Any]], event_id: int, postgresql: bool) -> Position:
    """The commit-order position of event `event_id` (its txid is looked up on PostgreSQL)."""
    if not postgresql or not event_id:
        return (0, event_id)
    txid = await scalar(select(EVENT.c.txid).where(EVENT.c.id == event_id))
    return (txid or 0, event_id)


def in_commit_order(stmt: Select, after: Position, postgresql: bool) -> Select:
    """Settled events past `after`, in commit order: the one rule the feed, subscriptions and
    webhook fan-out share (PostgreSQL by (txid, id) below the oldest transaction in flight;
    SQLite, whose writers are serialised, by id)."""
    if postgresql:
        position = tuple_(_transaction(), EVENT.c.id)
        return stmt.where(_settled(), position > tuple_(after[0], after[1])).order_by(_transaction(), EVENT.c.id)
    return stmt.where(EVENT.c.id > after[1]).order_by(EVENT.c.id)


async def position_after(reader: Reader, cursor: str | None) -> Position:
    """Where to resume after `cursor` (an event id)."""
    if cursor is None:
        return START
    return await event_position(reader.scalar, decode_change_cursor(cursor), _is_postgresql(reader))


async def fetch_changes(
    reader: Reader, after: Position, kinds: Sequence[str] | None, limit: int
) -> list[Row]:
    """Up to `limit` settled events past `after` that the reader's principal may see."""
    stmt = reader.select(OutboxEvent)
    kind = kinds_condition(kinds)
    if kind is not None:
        stmt = stmt.where(kind)
    stmt = in_commit_order(stmt, after, _is_postgresql(reader))
    return list(await reader.rows(stmt.limit(limit)))


async def count_changes(reader: Reader, kinds: Sequence[str] | None) -> int:
    stmt = reader.select(OutboxEvent)
    kind = kinds_condition(kinds)
    return await reader.count(stmt if kind is None else stmt.where(kind))


def changed_fields(payload: object) -> list[str]:
    """The names in the payload's "fields" (a list of names, or a mapping by name)."""
    fields = payload.get("fields") if isinstance(payload, dict) else None
    if isinstance(fields, dict):
        return [str(name) for name in fields]
    if isinstance(fields, list):
        return [str(f.get("name") or f.get("field")) if isinstance(f, dict) else str(f) for f in fields]
    return []
