"""Engines and sessions for both backends, and the SQL statement counter.

SQLite is the embedded default (WAL, foreign keys on, busy timeout); PostgreSQL runs
through asyncpg. Every statement that reaches the driver is counted per request, so
tests and benchmarks can hold the resolvers to a bounded number of round trips.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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
    if log is not None:
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


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms))
    else:
        engine = create_async_engine(
            url, pool_size=settings.pool_size, max_overflow=settings.pool_size, pool_pre_ping=True
        )
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


__all__ = [
    "Engine",
    "StatementLog",
    "create_engine",
    "create_session_factory",
    "current_statement_log",
    "is_sqlite",
]
