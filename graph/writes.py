"""The one place writes happen: a transaction per mutation.

`transaction()` opens a session, yields a `UnitOfWork`, and commits only if the block
finishes; a `UserInputError` (or anything else) rolls everything back, so invalid input
changes nothing. Changes are recorded on the unit of work as they are made; the audit
trail and the change-feed outbox hook in at `_before_commit`, inside the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import JSON, Table, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.access import Principal, visible
from graph.audit import audit_rows, node_type_name
from graph.crm.warnings import evaluate_changes
from graph.db import SQLITE_IMMEDIATE
from graph.errors import ErrorCode, UserInputError
from graph.ids import decode_global_id
from graph.models.base import utcnow
from graph.models.security import AuditEvent
from graph.outbox import prepared_rows, publish
from graph.reader import StatementCache

# How `insert_many` sends a column on PostgreSQL: an array of values, one value for every row,
# or (JSON) one document holding the array of the rows' values.
_ARRAY, _ONE, _DOCUMENT = "array", "one", "document"
_UNNEST_INSERTS = StatementCache(1000)  # a few shapes per table in practice
T = TypeVar("T")


def _unnest_insert(
    table: Table, names: tuple[str, ...], modes: tuple[str, ...], returning: tuple[str, ...], dialect: Any
) -> Any:
    def build() -> Any:
        quote = dialect.identifier_preparer.quote
        arrays, columns, aliases = [], [], []
        for i, (name, mode) in enumerate(zip(names, modes, strict=True)):
            sql_type = table.c[name].type.compile(dialect=dialect)
            is_json = sql_type in ("JSON", "JSONB")
            if mode == _ONE:
                columns.append(f"CAST(:c{i} AS {sql_type})")
                continue
            if mode == _DOCUMENT:  # its elements, in order, as an array of the column's type
                elements = "jsonb_array_elements" if sql_type == "JSONB" else "json_array_elements"
                arrays.append(
                    f"ARRAY(SELECT e FROM {elements}(CAST(:c{i} AS {sql_type})) WITH ORDINALITY AS d(e, n) ORDER BY n)"
                )
                columns.append(f"u{i}")
            elif is_json:  # as text[]: asyncpg's json codec is set up for single values, not arrays
                arrays.append(f"CAST(:c{i} AS TEXT[])")
                columns.append(f"CAST(u{i} AS {sql_type})")
            else:
                arrays.append(f"CAST(:c{i} AS {sql_type}[])")
                columns.append(f"u{i}")
            aliases.append(f"u{i}")
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"SELECT {', '.join(columns)} FROM unnest({', '.join(arrays)}) AS u({', '.join(aliases)})"
        )
        if returning:
            sql += f" RETURNING {', '.join(quote(n) for n in returning)}"
        return text(sql)

    return _UNNEST_INSERTS.get((table.name, names, modes, returning), build)


async def insert_many(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], returning: tuple[str, ...] = ()
) -> list[Any]:
    """INSERT `rows` (dicts with the same keys) set-based; the `returning` columns of each row,
    in no particular order. See `bulk_insert`."""
    if not rows:
        return []
    result = await session.execute(*bulk_insert(session.bind.dialect, table, rows, returning))
    return list(result.all()) if returning else []


def bulk_insert(
    dialect: Any, table: Table, rows: list[dict[str, Any]], returning: tuple[str, ...] = ()
) -> tuple[Any, Any]:
    """The statement and parameters of `insert_many` (pure CPU, so they can be built while
    another statement is in flight; see `overlapped`).

    PostgreSQL: one INSERT ... SELECT FROM unnest(an array per column), instead of an
    executemany the server runs row by row (a sync batch writes thousands of lines, audit
    events and outbox events). A column with one value for every row (the batch's timestamp,
    its principal) goes as a single parameter; a JSON column of objects as one document
    (serialised in one call, not one per row). Each column's own bind processing applies, as
    in an executemany. Elsewhere: an executemany (SQLite runs it in C)."""
    if dialect.name != "postgresql":
        return insert(table).returning(*(table.c[n] for n in returning)) if returning else insert(table), rows
    names = tuple(rows[0])
    params, modes = {}, []
    for i, name in enumerate(names):
        values = [row[name] for row in rows]
        first = values[0]
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        # The first column is always an array (it sets the number of rows). By identity, so
        # equal values of other types (1 and True, 1 and Decimal(1)) stay apart.
        if i > 0 and all(value is first for value in values):
            modes.append(_ONE)
            params[f"c{i}"] = first if process is None else process(first)
        elif (
            process is not None
            and isinstance(column_type, JSON)
            and all(type(value) is dict or type(value) is list for value in values)
        ):
            # The column's own serialiser over the list: each element's JSON text as it would
            # be alone (PostgreSQL's json keeps it verbatim). Not for None, which JSON columns
            # may store as SQL NULL.
            modes.append(_DOCUMENT)
            params[f"c{i}"] = process(values)
        else:
            modes.append(_ARRAY)
            params[f"c{i}"] = values if process is None else [process(value) for value in values]
    return _unnest_insert(table, names, tuple(modes), returning, dialect), params


async def overlapped(statement: Awaitable[T], work: Callable[[], Any]) -> T:
    """Await `statement` while doing `work` here: the database runs the statement while this
    process builds what comes next, instead of each waiting for the other (a sync batch writes
    thousands of rows per statement). `work` is pure CPU and must not use the session, whose
    one connection runs one statement at a time; the statement is awaited even when `work`
    fails, so the connection is idle before anything (a rollback) uses it again."""
    task = asyncio.ensure_future(statement)
    try:
        await asyncio.sleep(0)  # the statement goes out before the work starts
        work()
    finally:
        result = await task
    return result


@dataclass
class Change:
    """One record touched by a mutation, with the fields that changed (before, after)."""

    table: str
    record_id: int
    operation: str  # create | update | archive
    fields: dict[str, tuple[Any, Any]]
    type_name: str | None = None  # the record's GraphQL node type, for its global id


def expect_version(record: Any, expected: int | None) -> None:
    """Optimistic concurrency: fail with CONFLICT unless `record` is still at `expected`.

    Checked on the row as locked for the update, so a concurrent writer cannot slip between."""
    if expected is not None and record.version != expected:
        raise UserInputError.one(
            "expectedVersion",
            f"The record changed meanwhile: it is at version {record.version}, not {expected}. Reload and retry.",
            ErrorCode.CONFLICT,
        )


@dataclass
class UnitOfWork:
    session: AsyncSession
    principal: Principal
    operation: str = "unknown"  # the mutation being run, for the audit trail
    request_id: str | None = None
    changes: list[Change] = field(default_factory=list)
    # Built ahead by `prepare_trail`: the audit rows of the first len(_audit) changes, and
    # (n, the outbox events of the first n changes) when they could be built.
    _audit: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _events: tuple[int, list[dict[str, Any]]] | None = field(default=None, repr=False)

    async def find(self, model: type, record_id: int, *, for_update: bool = False) -> Any | None:
        """A record the principal may see, or None (hidden and missing look the same)."""
        stmt = select(model).where(model.id == record_id)
        condition = visible(model, self.principal)
        if condition is not None:
            stmt = stmt.where(condition)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, model: type, global_id: str, type_names: str | tuple[str, ...], *, field_name: str = "id") -> Any:
        """Load a record to change it by its global id, or fail with NOT_FOUND on `field_name`."""
        decoded = decode_global_id(global_id, type_names)
        obj = await self.find(model, decoded[1], for_update=True) if decoded else None
        if obj is None:
            raise UserInputError.one(field_name, f"No {model.__name__} with this id.", ErrorCode.NOT_FOUND)
        return obj

    async def create(self, obj: Any) -> Any:
        self.session.add(obj)
        await self.session.flush()
        columns = {c.key: (None, getattr(obj, c.key)) for c in inspect(obj).mapper.column_attrs}
        self.changes.append(Change(obj.__tablename__, obj.id, "create", columns, node_type_name(obj)))
        return obj

    async def update(self, obj: Any, values: dict[str, Any], operation: str = "update") -> Any:
        changed = {}
        for name, value in values.items():
            before = getattr(obj, name)
            if before != value:
                changed[name] = (before, value)
                setattr(obj, name, value)
        if changed:
            if hasattr(obj, "version"):  # records; API keys carry no version
                obj.version = obj.version + 1
                obj.updated_at = utcnow()
            await self.session.flush()
            self.changes.append(Change(obj.__tablename__, obj.id, operation, changed, node_type_name(obj)))
        return obj

    async def archive(self, obj: Any, extra: dict[str, Any] | None = None) -> Any:
        if obj.archived_at is not None:
            raise UserInputError.one("id", "Already archived.", ErrorCode.ARCHIVED)
        return await self.update(obj, {"archived_at": utcnow(), **(extra or {})}, operation="archive")

    def prepare_trail(self) -> None:
        """Build the audit rows and (when they need no lookup) the outbox events of the changes
        recorded so far, to be stamped and inserted at commit. Pure CPU: a bulk writer calls
        it while one of its statements is in flight (`overlapped`), once those changes are final."""
        self._audit += audit_rows(self.changes[len(self._audit) :], self.principal, self.operation, self.request_id, None)
        events = prepared_rows(self.changes, self.principal, self.request_id)
        self._events = None if events is None else (len(self.changes), events)

    async def _before_commit(self) -> None:
        """Hook for the audit trail and the outbox: runs inside the transaction."""
        await self.session.flush()  # bulk writers may append changes before their last flush
        if self.changes:
            now = utcnow()
            audit: list[tuple[Any, Any]] = []

            def build_audit() -> None:  # while the outbox events are written
                self._audit += audit_rows(
                    self.changes[len(self._audit) :], self.principal, self.operation, self.request_id, None
                )
                for row in self._audit:
                    row["occurred_at"] = now
                audit.append(bulk_insert(self.session.bind.dialect, AuditEvent.__table__, self._audit))

            await publish(
                self.session, self.changes, self.principal, self.request_id, now, build_audit, self._events
            )
            await self.session.execute(*audit[0])


@asynccontextmanager
async def transaction(
    session_factory, principal: Principal, operation: str = "unknown", request_id: str | None = None  # noqa: ANN001
) -> AsyncIterator[UnitOfWork]:
    async with session_factory() as session:
        try:
            async with session.begin():
                # SQLite: take the write lock first (graph.db.SQLITE_IMMEDIATE); no-op elsewhere.
                await session.connection(execution_options={SQLITE_IMMEDIATE: True})
                uow = UnitOfWork(session, principal, operation, request_id)
                yield uow
                await evaluate_changes(uow)  # early-warning rules over what changed, same transaction
                await uow._before_commit()
        except IntegrityError as exc:
            # A race the validation could not see (e.g. two clients creating the same sku).
            raise UserInputError.one(
                "input", "Conflicts with an existing record (a unique value is taken).", ErrorCode.DUPLICATE
            ) from exc
