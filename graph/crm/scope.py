"""How CRM aggregates are scoped: to the customers the caller may see (graph/access.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.access import Principal, visible
from graph.models import organizations as morg

ORG = morg.Organization.__table__

Scope = Callable[[ColumnElement], ColumnElement] | None


def customer_scope(principal: Principal) -> Scope:
    """`scope(column)`: the condition that `column` names an organization `principal` may see."""
    condition = visible(morg.Organization, principal)
    if condition is None:
        return None
    return lambda column: column.in_(select(ORG.c.id).where(condition))


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name


def session_runner(session: AsyncSession) -> Callable[[Any], Any]:
    async def run(stmt: Any) -> Sequence[Any]:
        return (await session.execute(stmt)).all()

    return run
