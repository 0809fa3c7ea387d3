"""Engines and sessions for both backends, and the SQL statement counter.

SQLite is the embedded default (WAL, foreign keys on, busy timeout); PostgreSQL runs
through asyncpg, with a bounded pool, a statement timeout, and optionally a read replica. Every statement that reaches the driver is counted per request, so
tests and benchmarks can hold the resolvers to a bounded number of round trips.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

from graph.settings import Settings


@dataclass
class StatementLog:
    """The statements one request (or one test block) sent to the database."""

    statements: list[str] = field(default_factory=list)
    request_id: str | None = None

    @property
    def count(self) -> int:
        return len(self.statements)


current_statement_log: contextvars.ContextVar[StatementLog | None] = contextvars.ContextVar(
    "current_statement_log", default=None
)


def _count_statement(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
    log = current_statement_log.get()
    if log is not None and not statement.startswith("BEGIN"):  # SQLite's BEGIN (below) is no query
        log.statements.append(statement)


def _sqlite_pragmas(busy_timeout_ms: int):
    def on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


# Execution option of a connection that will write (graph.writes.transaction): its transaction
# starts with BEGIN IMMEDIATE, taking the write lock up front (waiting up to the busy timeout
# for it), so its reads and writes see one snapshot. A transaction holding a read snapshot that
# then writes cannot wait: when another writer committed in between, SQLite refuses at once
# with "database is locked". Other connections keep the driver's behaviour (reads outside a
# transaction, BEGIN just before the first write), which never holds a snapshot into a write.
SQLITE_IMMEDIATE = "partnergraph_sqlite_immediate"
# With SQLITE_IMMEDIATE: wait at most this many ms for the write lock instead of the busy
# timeout (bookkeeping that may be skipped, such as recording an API key's last use).
SQLITE_LOCK_WAIT_MS = "partnergraph_sqlite_lock_wait_ms"


def _sqlite_begin(busy_timeout_ms: int):
    def begin(conn) -> None:  # noqa: ANN001
        options = conn.get_execution_options()
        if not options.get(SQLITE_IMMEDIATE, False):
            return
        wait = options.get(SQLITE_LOCK_WAIT_MS)
        if wait is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait)}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")

    return begin


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """An engine for `url` (by default the primary, `settings.database_url`).

    PostgreSQL connections come from a pool of `pool_size` (+ `max_overflow` under load);
    a request waits at most `pool_timeout` s for one, and one that sat idle is pinged before
    use (`_ping_idle_connections`), so connections the server dropped are replaced without a
    restart. Every statement is bounded by the server's `statement_timeout` (`statement_timeout_ms`).
    """
    url = url or settings.database_url
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _sqlite_begin(settings.sqlite_busy_timeout_ms))
    else:
        connect_args: dict[str, object] = {"timeout": settings.connect_timeout_seconds}
        if settings.statement_timeout_ms:
            connect_args["server_settings"] = {"statement_timeout": str(settings.statement_timeout_ms)}
        engine = create_async_engine(
            url,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout,
            connect_args=connect_args,
        )
        _ping_idle_connections(engine, settings.pool_ping_idle_seconds)
        if settings.generic_read_plans:
            event.listen(engine.sync_engine, "engine_connect", _plan_cache_mode)
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def _ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` pings on every checkout, which on asyncpg is three round
    trips (BEGIN, ping, ROLLBACK) per request. A connection in steady use has just proven
    itself; if the server dropped it anyway, its request fails with DATABASE_UNAVAILABLE and
    SQLAlchemy renews the whole pool. Raising DisconnectionError makes the pool retry with a
    fresh connection (the documented recipe for custom pessimistic checks)."""
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    def checkin(_dbapi_connection, record) -> None:  # noqa: ANN001
        record.info["checked_in"] = time.monotonic()

    def checkout(dbapi_connection, record, _proxy) -> None:  # noqa: ANN001
        checked_in = record.info.get("checked_in")  # None: a new connection, just proven
        if checked_in is not None and time.monotonic() - checked_in >= idle_seconds:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as exc:  # noqa: BLE001 - any failure: replace the connection
                raise sa_exc.DisconnectionError("pooled connection failed its ping") from exc

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


# Where a pooled PostgreSQL connection's plan_cache_mode stands (its record's info outlives
# checkouts): GENERIC_PLANS, or absent for the server's own setting.
_PLAN_MODE = "partnergraph.plan_cache_mode"
GENERIC_PLANS = "force_generic_plan"


def _plan_cache_mode(connection) -> None:  # noqa: ANN001
    """Generic plans for a request's reads (autocommit connections), the server's setting for
    writes; a pooled connection is switched only when its use changes, so a run of reads
    costs no round trip.

    PostgreSQL plans a prepared statement anew at every run while the custom plan looks
    cheaper than the generic one, and with an id list (`id = ANY($1)`) it always does: the
    generic plan is costed for ten ids. That planning was 0.05–0.4 ms of the server's CPU per
    statement, more than running it (a portal page spent 0.65 ms planning, a node lookup
    0.15 ms). The reads are index lookups and keyset pages, whose generic plan is the custom
    one. Writes keep per-value planning, which some of their lookups need (graph/resolvers/
    sync.py asks for it explicitly)."""
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    wanted = GENERIC_PLANS if autocommit else None
    pooled = connection.connection
    if pooled.info.get(_PLAN_MODE) == wanted:
        return
    sql = f"SET plan_cache_mode = {wanted}" if wanted else "RESET plan_cache_mode"
    try:
        # On the driver: the SQLAlchemy connection would begin a transaction for it.
        await_only(pooled.dbapi_connection._connection.execute(sql))
    except BaseException as exc:
        # A connection the server dropped, or a request cancelled mid-statement: the connection
        # is replaced (not leaked: no SQLAlchemy connection holds it yet), and a lost one fails
        # as any lost connection fails (DATABASE_UNAVAILABLE), not as an unexpected error.
        connection.invalidate(exc if isinstance(exc, Exception) else None)
        if not isinstance(exc, Exception):
            raise
        raise sa_exc.OperationalError(sql, None, exc, connection_invalidated=True) from exc
    pooled.info[_PLAN_MODE] = wanted


def create_replica_engine(settings: Settings) -> AsyncEngine | None:
    """The read replica's engine when `replica_database_url` is set, else None (reads use
    the primary). Mutations never use it."""
    if settings.replica_database_url is None:
        return None
    return create_engine(settings, settings.replica_database_url)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` means the database could not do the work, through no fault of the
    request: a lost or refused connection, a read-only or full database, a statement
    timeout, no pooled connection free in time."""
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if getattr(error.orig, "sqlite_errorname", None) == "SQLITE_ERROR":
            return False  # SQLite files a bad statement ("no such table") under OperationalError too
        return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(error, sa_exc.TimeoutError | sa_exc.PendingRollbackError | ConnectionError)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for a request's reads. On PostgreSQL they run in autocommit: at READ COMMITTED
    each statement sees its own snapshot inside a transaction too, so BEGIN and ROLLBACK
    around a request's SELECTs bought nothing but two round trips. Writes never use these
    sessions (graph/writes.py opens its own transaction)."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return create_session_factory(engine)


__all__ = [
    "SQLITE_IMMEDIATE",
    "SQLITE_LOCK_WAIT_MS",
    "Engine",
    "StatementLog",
    "create_engine",
    "create_read_session_factory",
    "create_replica_engine",
    "create_session_factory",
    "current_statement_log",
    "database_unavailable",
    "is_sqlite",
]
