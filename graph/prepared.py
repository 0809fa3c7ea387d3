"""Kept statements, compiled once and run on the database driver's own connection.

A SELECT run through an ORM session costs about 220 µs of Python on asyncpg, of which the
driver's round trip is 50: the rest is SQLAlchemy preparing an execution context, a cursor
adapter, a greenlet hop and a result object, again for every statement. For the statements
`Reader.cached` keeps (by-id loads, pages), all of that is decided once: the SQL text, the
order and processors of the parameters, and the processors of the result columns.

What stays the same: the statement runs on the request session's own connection (under its
lock; on PostgreSQL only in autocommit, which is how request reads run; on SQLite in the
session's transaction, if any), the engine's `before/after_cursor_execute`
listeners see it (statement counts, the slow-query log), and any driver error re-runs the
statement through SQLAlchemy, which raises, wraps and invalidates exactly as before.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from keyword import iskeyword
from types import SimpleNamespace
from typing import Any
from weakref import WeakKeyDictionary, ref

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

# Kept statement → {dialect name: PreparedRead, or None when it cannot take this path}.
_KEPT: WeakKeyDictionary[Select, dict[str, PreparedRead | None]] = WeakKeyDictionary()


def keep(stmt: Select) -> Select:
    """Mark `stmt` as kept across requests: worth compiling once for the driver path."""
    if stmt not in _KEPT:
        _KEPT[stmt] = {}
    return stmt


class PreparedRead:
    """One kept SELECT compiled for one dialect."""

    def __init__(self, stmt: Select, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.compiled = compiled
        self.sql = compiled.string
        self.positions = compiled.positiontup
        self.bind_processors = compiled._bind_processors
        self.keys = [entry.keyname for entry in compiled._result_columns]
        self.types = [entry.type for entry in compiled._result_columns]
        self.fixed: dict[str, Any] = {}  # values of IN lists expanded at compile (`_expand_fixed_lists`)
        self.dialect = dialect
        self.processors: list[Any] | None = None  # from the first execution's column types
        self.row_type: Any = None

    def _expand_fixed_lists(self) -> bool:
        """IN over a list given when the statement was built (a filter's statuses) is an
        "expanding" parameter SQLAlchemy renders anew at every execution; here it is expanded
        once, into a parameter per element, as SQLAlchemy itself would. False when a list is
        only given at execution (it may change length), which stays on SQLAlchemy's path."""
        compiled = self.compiled
        if any(bind.value is None or bind.callable is not None for bind in compiled.post_compile_params):
            return False
        expanded = compiled._process_parameters_for_postcompile(
            compiled.construct_params(_check=False, escape_names=False)
        )
        self.sql = expanded.statement
        self.fixed = {name: expanded.parameters[name] for name in expanded.positiontup if name not in compiled.binds}
        self.positions = expanded.positiontup
        self.bind_processors = {**compiled._bind_processors, **expanded.processors}
        return True

    @staticmethod
    def usable(stmt: Select, dialect: Any) -> PreparedRead | None:
        prepared = PreparedRead(stmt, dialect)
        compiled, keys = prepared.compiled, prepared.keys
        if (
            not compiled.positional
            or compiled.literal_execute_params
            or (compiled.post_compile_params and not prepared._expand_fixed_lists())
            or compiled.schema_translate_map
            # Rows are namedtuples (like the joined records of graph/pagination.py): a name that
            # cannot be a field, or an ambiguous one, is left to SQLAlchemy's Row.
            or len(set(keys)) != len(keys)
            or not all(key.isidentifier() and not iskeyword(key) and not key.startswith("_") for key in keys)
        ):
            return None
        prepared.row_type = namedtuple("Row", keys)  # noqa: PYI024
        return prepared

    def parameters(self, params: dict[str, Any] | None) -> list[Any]:
        values = self.compiled.construct_params(params, escape_names=False)
        if self.fixed:
            values.update(self.fixed)
        processors = self.bind_processors
        return [processors[key](values[key]) if key in processors else values[key] for key in self.positions]

    def set_column_types(self, coltypes: Sequence[Any]) -> None:
        self.processors = [
            type_._cached_result_processor(self.dialect, coltype)
            for type_, coltype in zip(self.types, coltypes, strict=True)
        ]

    def rows(self, records: Sequence[Sequence[Any]]) -> list[tuple]:
        make, processors = self.row_type._make, self.processors
        assert processors is not None
        if not any(processors):
            return [make(record) for record in records]
        pairs = list(enumerate(processors))
        converted = []
        for record in records:
            values = list(record)
            for index, process in pairs:
                if process is not None and values[index] is not None:
                    values[index] = process(values[index])
            converted.append(make(values))
        return converted


async def run_kept(session: AsyncSession, stmt: Select, params: dict[str, Any] | None) -> list[tuple] | None:
    """Run a kept statement on the driver, or None when it must take SQLAlchemy's path
    (not kept, a dialect or transaction state this path does not handle, a driver error)."""
    kept = _KEPT.get(stmt)
    if kept is None:
        return None
    sync_connection = await _connection_of(session)
    if sync_connection is None:
        return None
    dialect = sync_connection.dialect
    name = dialect.name
    if name not in kept:
        kept[name] = PreparedRead.usable(stmt, dialect) if name in _RUNNERS else None
    prepared = kept[name]
    if prepared is None:
        return None
    adapted = sync_connection.connection.dbapi_connection  # SQLAlchemy's adapter of the driver connection
    runner = _RUNNERS[name]
    if not runner.ready(adapted):
        return None
    arguments = prepared.parameters(params)
    dispatch = sync_connection.dispatch
    context = SimpleNamespace()
    for listener in dispatch.before_cursor_execute:
        listener(sync_connection, None, prepared.sql, arguments, context, False)
    try:
        records = await runner.fetch(adapted, prepared, arguments)
    except Exception:  # noqa: BLE001 - SQLAlchemy runs it again and reports the error its way
        return None  # (the failed attempt stays in the request's statement count)
    for listener in dispatch.after_cursor_execute:
        listener(sync_connection, None, prepared.sql, arguments, context, False)
    return prepared.rows(records)


async def fetch_all(session: AsyncSession, stmt: Select, params: dict[str, Any] | None = None) -> Sequence[Any]:
    """The rows of `stmt`: on the driver's path when it is kept, else through SQLAlchemy."""
    found = await run_kept(session, stmt, params)
    if found is not None:
        return found
    return (await session.execute(stmt, params)).all()


_CONNECTION = "partnergraph.connection"


async def _connection_of(session: AsyncSession) -> Any:
    """The session's connection in its current transaction, begun as SQLAlchemy would begin
    it; remembered per transaction, since asking the session costs a greenlet hop each time.
    The transaction is held weakly: it holds the session, and a session holding it back would
    leave every session (and what it read) to the cycle collector instead of freeing it."""
    sync_session = session.sync_session
    transaction = sync_session.get_transaction()
    remembered = sync_session.info.get(_CONNECTION)
    if remembered is None or transaction is None or remembered[0]() is not transaction or not transaction.is_active:
        connection = (await session.connection()).sync_connection
        remembered = sync_session.info[_CONNECTION] = (ref(sync_session.get_transaction()), connection)
    connection = remembered[1]
    if connection is None or connection.closed or connection.invalidated:
        return None
    return connection


class _Asyncpg:
    @staticmethod
    def ready(adapted: Any) -> bool:
        # Request reads run in autocommit. In a transaction the driver path would have to begin
        # it the way SQLAlchemy does, and a failed statement aborts the transaction, so the
        # re-run below would report "transaction aborted" instead of the real error: writes
        # keep SQLAlchemy's path.
        return adapted.autocommit

    @staticmethod
    async def fetch(adapted: Any, prepared: PreparedRead, arguments: list[Any]) -> Sequence[Any]:
        driver = adapted._connection
        async with adapted._execute_mutex:
            if prepared.processors is None:
                statement = await driver.prepare(prepared.sql)
                prepared.set_column_types([attribute.type.oid for attribute in statement.get_attributes()])
                return await statement.fetch(*arguments)
            return await driver.fetch(prepared.sql, *arguments)


class _Aiosqlite:
    @staticmethod
    def ready(adapted: Any) -> bool:
        return True  # pysqlite's transactions are the connection's own; nothing to open first

    @staticmethod
    async def fetch(adapted: Any, prepared: PreparedRead, arguments: list[Any]) -> Sequence[Any]:
        if prepared.processors is None:
            prepared.set_column_types([None] * len(prepared.types))  # SQLite reports no column types
        return await adapted._connection.execute_fetchall(prepared.sql, arguments)


_RUNNERS: dict[str, Any] = {"postgresql": _Asyncpg, "sqlite": _Aiosqlite}

__all__ = ["PreparedRead", "fetch_all", "keep", "run_kept"]

