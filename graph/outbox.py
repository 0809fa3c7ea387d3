"""What a transaction's changes publish: outbox events (the change feed) and status history.

`UnitOfWork._before_commit` (graph/writes.py) calls `publish()` inside the mutation's own
transaction, so an event or a history step exists exactly when its change was committed.
It is set-based: whatever the number of changes, it costs a fixed number of statements
(the txid on PostgreSQL, one lookup per touched table, one of the orders, one insert each
for events and transitions), so a bulk writer may append thousands of `Change`s.

Event kinds are `<type>.created | updated | archived | status_changed`, with `<type>` one
of order, order_line, shipment, service_record. One change is one event: an update (not a
create or archive) that moves an order's or shipment's status is published as
`order.status_changed` / `shipment.status_changed` instead of `.updated` (its payload lists
every field that changed, status among them). Payloads name the changed fields, never their
values: prices must not leak through the feed, which resolves nodes through the scoped path.
"""

from __future__ import annotations

import enum
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from graph.audit import Created
from graph.ids import encode_global_id
from graph.models.early_warnings import EarlyWarning
from graph.models.orders import Order, OrderLine, Shipment
from graph.models.service import ServiceRecord
from graph.models.sync import OutboxEvent, StatusTransition

if TYPE_CHECKING:
    from graph.access import Principal
    from graph.writes import Change

# Tables whose changes go to the feed → the type part of their event kinds.
EVENT_TYPES: dict[str, str] = {
    "orders": "order",
    "order_lines": "order_line",
    "shipments": "shipment",
    "service_records": "service_record",
    "early_warnings": "warning",  # internal only: partners' feeds never show them (graph/access.py)
}
# Tables with a lifecycle whose status steps are kept as history.
LIFECYCLE_TABLES = frozenset({"orders", "shipments"})
_ACTIONS = {"create": "created", "update": "updated", "archive": "archived"}
# Bookkeeping every change touches; it says nothing about what changed.
_BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "version"})
# Bound parameters per IN list: well under SQLite's and asyncpg's limits (32766 / 32767).
_CHUNK = 10_000


def event_kind(change: Change) -> str:
    """The kind of the event a change publishes (see the module docstring)."""
    type_ = EVENT_TYPES[change.table]
    if change.operation == "update" and change.table in LIFECYCLE_TABLES and _status_step(change) is not None:
        return f"{type_}.status_changed"
    return f"{type_}.{_ACTIONS.get(change.operation, 'updated')}"


def _value(status: Any) -> str | None:
    return status.value if isinstance(status, enum.Enum) else status


def _status_step(change: Change) -> tuple[str | None, str] | None:
    """(from, to) when the change set or moved the status, else None."""
    if "status" not in change.fields:
        return None
    before, after = (_value(v) for v in change.fields["status"])
    if after is None or before == after:
        return None
    return before, after


def _field_names(change: Change) -> list[str]:
    if type(change.fields) is Created:  # a create names every column it set
        return sorted(name for name, value in change.fields.values.items() if value is not None and name not in _BOOKKEEPING)
    names = []
    for name, (before, after) in change.fields.items():
        if name in _BOOKKEEPING or (change.operation == "create" and after is None) or before == after:
            continue
        names.append(name)
    return sorted(names)


def _payload(change: Change, payloads: dict[Any, dict[str, list[str]]]) -> dict[str, list[str]]:
    if type(change.fields) is not Created:
        return {"fields": _field_names(change)}
    key = (change.table, *[name for name, value in change.fields.values.items() if value is not None])
    payload = payloads.get(key)
    if payload is None:
        payload = payloads[key] = {"fields": _field_names(change)}
    return payload


async def _rows_by_id(session: AsyncSession, columns: Sequence[Any], id_column: Any, ids: Iterable[int]) -> dict[int, Any]:
    ids = sorted(set(ids))
    found: dict[int, Any] = {}
    for start in range(0, len(ids), _CHUNK):
        stmt = select(id_column, *columns).where(id_column.in_(ids[start : start + _CHUNK]))
        for row in (await session.execute(stmt)).all():
            found[row[0]] = row
    return found


async def _current_rows(
    session: AsyncSession, changes: Sequence[Change], columns: Sequence[Any], id_column: Any, ids: Iterable[int]
) -> dict[int, Any]:
    """`_rows_by_id`, except for records this transaction created and did not touch again:
    their create recorded every column, so they are not read back (a sync batch creates
    thousands of lines)."""
    ids = set(ids)
    found = _created_rows(changes, columns, id_column, ids)
    if len(found) < len(ids):
        found.update(await _rows_by_id(session, columns, id_column, ids - found.keys()))
    return found


def _created_rows(changes: Sequence[Change], columns: Sequence[Any], id_column: Any, ids: set[int]) -> dict[int, Any]:
    """The rows of `ids` as this transaction created them, for those it did not touch again."""
    table, names = id_column.table.name, [column.name for column in columns]
    row_type = namedtuple(f"{table}_row", ["id", *names])  # noqa: PYI024
    creates, touched = [], set()
    for change in changes:
        if change.table != table:
            continue
        if change.operation == "create":
            creates.append(change)
        else:
            touched.add(change.record_id)
    found: dict[int, Any] = {}
    fetch = itemgetter(*names)
    for change in creates:
        record_id, fields = change.record_id, change.fields
        if record_id not in ids or record_id in touched:
            continue
        if type(fields) is Created:
            try:
                values = fetch(fields.values)
            except KeyError:
                continue
            found[record_id] = row_type(record_id, *values) if len(names) > 1 else row_type(record_id, values)
        elif all(name in fields for name in names):
            found[record_id] = row_type(record_id, *(fields[name][1] for name in names))
    return found


async def current_txid(session: AsyncSession) -> int | None:
    """The transaction's id on PostgreSQL (xid8, so it never wraps); None on SQLite."""
    if session.bind.dialect.name != "postgresql":
        return None
    return (await session.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one()


async def outbox_rows(
    session: AsyncSession,
    changes: Sequence[Change],
    principal: Principal,
    request_id: str | None,
    occurred_at: datetime,
    start: int = 0,
) -> list[dict[str, Any]]:
    """One `outbox_events` row per change to a published table (from `changes[start]` on),
    with its scoping columns."""
    published = [c for c in changes[start:] if c.table in EVENT_TYPES and c.type_name]
    if not published:
        return []

    def ids(table: str) -> set[int]:
        return {c.record_id for c in published if c.table == table}

    line_t, ship_t, record_t, order_t = (m.__table__ for m in (OrderLine, Shipment, ServiceRecord, Order))
    records = await _rows_by_id(
        session, (record_t.c.order_id, record_t.c.organization_id, record_t.c.order_line_id), record_t.c.id,
        ids("service_records"),
    )
    lines = await _current_rows(
        session, changes, _LINE_COLUMNS, line_t.c.id,
        ids("order_lines") | {r.order_line_id for r in records.values() if r.order_line_id is not None},
    )
    shipments = await _rows_by_id(session, (ship_t.c.order_id,), ship_t.c.id, ids("shipments"))
    warning_t = EarlyWarning.__table__
    warnings = await _rows_by_id(session, (warning_t.c.customer_id,), warning_t.c.id, ids("early_warnings"))
    order_ids = ids("orders") | {r.order_id for r in (*lines.values(), *shipments.values(), *records.values())}
    orders = await _current_rows(session, changes, _ORDER_COLUMNS, order_t.c.id, order_ids - {None})
    return _event_rows(published, records, lines, shipments, warnings, orders, principal, request_id, occurred_at)


_LINE_COLUMNS = (OrderLine.__table__.c.order_id, OrderLine.__table__.c.supplier_id)
_ORDER_COLUMNS = (Order.__table__.c.customer_id, Order.__table__.c.distributor_id)


def prepared_rows(changes: Sequence[Change], principal: Principal, request_id: str | None) -> list[dict[str, Any]] | None:
    """`outbox_rows` of `changes` without the database, when all of them create orders and
    their lines (a sync batch); None otherwise. Pure CPU, so a bulk writer builds them while
    a statement is in flight (graph.writes.overlapped); `publish` stamps them, and keeps them
    only if no later change of the transaction touches an order or a line."""
    if not changes or not all(
        c.operation == "create" and type(c.fields) is Created and c.table in _PREPARED and c.type_name for c in changes
    ):
        return None
    line_ids = {c.record_id for c in changes if c.table == "order_lines"}
    lines = _created_rows(changes, _LINE_COLUMNS, OrderLine.__table__.c.id, line_ids)
    order_ids = {c.record_id for c in changes if c.table == "orders"} | {line.order_id for line in lines.values()}
    orders = _created_rows(changes, _ORDER_COLUMNS, Order.__table__.c.id, order_ids)
    if len(lines) < len(line_ids) or len(orders) < len(order_ids):
        return None  # something to read from the database
    return _event_rows(changes, {}, lines, {}, {}, orders, principal, request_id, None)


_PREPARED = frozenset({"orders", "order_lines"})


def _event_rows(
    published: Sequence[Change],
    records: dict[int, Any],
    lines: dict[int, Any],
    shipments: dict[int, Any],
    warnings: dict[int, Any],
    orders: dict[int, Any],
    principal: Principal,
    request_id: str | None,
    occurred_at: datetime | None,
) -> list[dict[str, Any]]:
    rows = []
    payloads: dict[Any, dict[str, list[str]]] = {}  # one per set of fields: creates share theirs
    for change in published:
        order_id = supplier_id = customer_id = None
        if change.table == "orders":
            order_id = change.record_id
        elif change.table == "order_lines":
            line = lines.get(change.record_id)
            order_id, supplier_id = (line.order_id, line.supplier_id) if line else (None, None)
        elif change.table == "shipments":
            shipment = shipments.get(change.record_id)
            order_id = shipment.order_id if shipment else None
        elif change.table == "early_warnings":  # about a customer; no order, so no partner is named
            warning = warnings.get(change.record_id)
            customer_id = warning.customer_id if warning else None
        else:  # service records: about their organization; a quality objection's line names its supplier
            record = records.get(change.record_id)
            if record is not None:
                order_id, customer_id = record.order_id, record.organization_id
                line = lines.get(record.order_line_id) if record.order_line_id is not None else None
                supplier_id = line.supplier_id if line else None
        order = orders.get(order_id) if order_id is not None else None
        rows.append(
            {
                "occurred_at": occurred_at,
                "kind": event_kind(change),
                "table_name": change.table,
                "record_id": change.record_id,
                "node_id": encode_global_id(change.type_name, change.record_id),
                "order_id": order_id,
                "customer_id": customer_id if customer_id is not None else (order.customer_id if order else None),
                "distributor_id": order.distributor_id if order else None,
                "supplier_id": supplier_id,
                "payload": _payload(change, payloads),
                "principal_name": principal.name,
                "request_id": request_id,
            }
        )
    return rows


def transition_rows(changes: Iterable[Change], principal: Principal, occurred_at: datetime) -> list[dict[str, Any]]:
    """One `status_transitions` row per order or shipment created in, or moved to, a status."""
    rows = []
    for change in changes:
        if change.table not in LIFECYCLE_TABLES:
            continue
        step = _status_step(change)
        if step is None:
            continue
        rows.append(
            {
                "table_name": change.table,
                "record_id": change.record_id,
                "from_status": step[0],
                "to_status": step[1],
                "occurred_at": occurred_at,
                "principal_kind": principal.kind.value,
                "principal_name": principal.name,
                "key_prefix": getattr(principal, "key_prefix", None),
            }
        )
    return rows


async def publish(
    session: AsyncSession,
    changes: Sequence[Change],
    principal: Principal,
    request_id: str | None,
    occurred_at: datetime,
    meanwhile: Callable[[], Any] = lambda: None,
    prepared: tuple[int, list[dict[str, Any]]] | None = None,
) -> None:
    """Write the outbox events and status history of a transaction's changes (set-based).
    `meanwhile` (pure CPU) runs while the events are written (graph.writes.overlapped);
    `prepared` is (n, `prepared_rows` of the first n changes)."""
    from graph.writes import insert_many, overlapped  # graph.writes imports this module

    transitions = transition_rows(changes, principal, occurred_at)
    if transitions:
        await insert_many(session, StatusTransition.__table__, transitions)
    if prepared is not None and not any(c.table in _PREPARED for c in changes[prepared[0] :]):
        events = prepared[1]
        for event in events:
            event["occurred_at"] = occurred_at
        events += await outbox_rows(session, changes, principal, request_id, occurred_at, start=prepared[0])
    else:
        events = await outbox_rows(session, changes, principal, request_id, occurred_at)
    if not events:
        meanwhile()
        return
    txid = await current_txid(session)
    for event in events:
        event["txid"] = txid
    await overlapped(insert_many(session, OutboxEvent.__table__, events), meanwhile)
