"""The typed context every resolver sees, built once per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.access import Principal
from graph.loaders import Loaders
from graph.reader import Reader
from graph.settings import Settings

if TYPE_CHECKING:
    from graph.db import StatementLog


@dataclass
class Context:
    settings: Settings
    principal: Principal
    session: AsyncSession  # the request's read session
    session_factory: async_sessionmaker[AsyncSession]  # writes open their own transaction
    reader: Reader
    loaders: Loaders
    statements: StatementLog | None = None
    request: object | None = None
    response: object | None = None

    @classmethod
    def build(
        cls,
        *,
        settings: Settings,
        principal: Principal,
        session_factory: async_sessionmaker[AsyncSession],
        statements: StatementLog | None = None,
        request: object | None = None,
        response: object | None = None,
    ) -> Context:
        session = session_factory()
        reader = Reader(session, principal)
        return cls(
            settings=settings,
            principal=principal,
            session=session,
            session_factory=session_factory,
            reader=reader,
            loaders=Loaders(reader),
            statements=statements,
            request=request,
            response=response,
        )


Info = strawberry.Info[Context, None]
