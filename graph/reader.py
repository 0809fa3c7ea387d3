"""The one path every read takes: scoped SELECTs executed on the request's session.

Strawberry resolves sibling fields concurrently, and one AsyncSession must not be used
by two coroutines at once, so statements are serialised with a per-request lock.

Building a SELECT (columns, joins, subqueries, the caller's visibility rule) costs more
Python than running it, so hot statements are built once and kept (`Reader.cached`), then
executed with new parameters: ids and cursor positions are bound at execution, never baked
into the statement, and SQLAlchemy reuses the compiled form as well.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Row,
    Select,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from graph.access import Principal, visible
from graph.prepared import fetch_all, keep


class StatementCache:
    """Built statements kept across requests, least recently used first out.

    A key holds the statement's shape and the scope of the caller it was built for (kind,
    role, organization, user): visibility rules are part of the statement, so a kept
    statement is only ever reused for a caller who would have built the very same one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.builds = 0  # how many statements were built (a miss), for tests and tuning
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        if self.size <= 0:
            self.builds += 1
            return build()
        found = self._entries.get(key)
        if found is None:
            self.builds += 1
            found = self._entries[key] = build()
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return found

    def resize(self, size: int) -> None:
        self.size = size
        while len(self._entries) > max(size, 0):
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


STATEMENTS = StatementCache(1000)  # sized by settings.statement_cache_size (graph/app.py)


class Reader:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self._lock = asyncio.Lock()
        self._dialect: str | None = None

    @property
    def dialect(self) -> str:
        if self._dialect is None:
            self._dialect = self.session.get_bind().dialect.name
        return self._dialect

    def select(self, model: type, *extra: Any) -> Select:
        """SELECT the columns of `model`'s table, limited to what the principal may see."""
        stmt = select(*model.__table__.columns, *extra)
        condition = visible(model, self.principal)
        return stmt if condition is None else stmt.where(condition)

    def cached(self, shape: Hashable, build: Callable[[], Select]) -> Select:
        """The statement `build()` returns, built once per `shape` and caller scope.

        `shape` must identify everything `build` puts into the statement except the
        principal (added here); values that change per request are bound at execution."""
        p = self.principal
        return STATEMENTS.get((shape, self.dialect, p.kind, p.role, p.organization_id, p.user_id), lambda: keep(build()))

    def id_in(self, column: ColumnElement, name: str) -> ColumnElement[bool]:
        """`column` among the ids bound to `name` at execution (a list), in SQL that stays the
        same whatever the list's length: one compiled statement, and on PostgreSQL one server-
        side prepared statement, instead of one per length (an expanding IN)."""
        if self.dialect == "postgresql":
            return column == any_(bindparam(name, type_=ARRAY(BigInteger)))
        ids = select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=JSON)))
        return column.in_(ids)

    async def rows(self, stmt: Select, params: dict[str, Any] | None = None) -> Sequence[Row]:
        async with self._lock:
            return await fetch_all(self.session, stmt, params)  # kept statements: the driver's own path

    async def scalar(self, stmt: Select) -> Any:
        async with self._lock:
            return (await self.session.execute(stmt)).scalar()

    async def count(self, stmt: Select) -> int:
        inner = stmt.order_by(None).subquery()
        return int(await self.scalar(select(func.count()).select_from(inner)))
