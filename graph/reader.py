"""The one path every read takes: scoped SELECTs executed on the request's session.

Strawberry resolves sibling fields concurrently, and one AsyncSession must not be used
by two coroutines at once, so statements are serialised with a per-request lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.access import Principal, visible


class Reader:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self._lock = asyncio.Lock()

    def select(self, model: type, *extra: Any) -> Select:
        """SELECT the columns of `model`'s table, limited to what the principal may see."""
        stmt = select(*model.__table__.columns, *extra)
        condition = visible(model, self.principal)
        return stmt if condition is None else stmt.where(condition)

    async def rows(self, stmt: Select) -> Sequence[Row]:
        async with self._lock:
            result = await self.session.execute(stmt)
            return result.all()

    async def scalar(self, stmt: Select) -> Any:
        async with self._lock:
            return (await self.session.execute(stmt)).scalar()

    async def count(self, stmt: Select) -> int:
        inner = stmt.order_by(None).subquery()
        return int(await self.scalar(select(func.count()).select_from(inner)))
