"""The typed context every resolver sees, built once per request.

With a read replica (`replica_database_url`), a query's reads go to the replica and
mutations write through `session_factory`, the primary. A mutation's payload is read
from the primary too (`ReadsFollowMutations`), so a client sees its own write in the
payload; a later query may briefly lag behind it on the replica.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

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
    session_factory: async_sessionmaker[AsyncSession]  # the primary: writes open their own transaction
    reader: Reader
    loaders: Loaders
    statements: StatementLog | None = None
    request: object | None = None
    response: object | None = None
    on_replica: bool = False  # whether `session` reads from the replica

    @classmethod
    def build(
        cls,
        *,
        settings: Settings,
        principal: Principal,
        session_factory: async_sessionmaker[AsyncSession],
        read_session_factory: async_sessionmaker[AsyncSession] | None = None,
        on_replica: bool = False,
        session: AsyncSession | None = None,
        statements: StatementLog | None = None,
        request: object | None = None,
        response: object | None = None,
    ) -> Context:
        """`read_session_factory` (the replica's when `on_replica`) serves the request's reads;
        without one they use `session_factory`, the primary. `session`: one of its sessions the
        request opened already (to check the caller's API key)."""
        if session is None:
            session = (read_session_factory or session_factory)()
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
            on_replica=on_replica,
        )

    def release(self) -> None:
        """The request is answered: break the reference cycle of its loaders (each holds the
        Loaders through its load function), so the rows and results they hold are freed at
        once. Left to the cycle collector, they made each collection walk the live requests'
        objects: about a millisecond of CPU per portal page, and pauses of a quarter of a
        second that set the p99 latency. Loaders used later (a streamed answer) are built anew.
        The caller closes the session and drops the request's reference to this context."""
        self.loaders.close()

    async def read_from_primary(self) -> None:
        """Move the request's reads to the primary (before anything has been read)."""
        if not self.on_replica:
            return
        replica_session, self.session = self.session, self.session_factory()
        self.reader.session = self.session
        self.on_replica = False
        await replica_session.close()


class ReadsFollowMutations(SchemaExtension):
    """A mutation's payload is read from the primary it was written to, never from a
    replica that may not have caught up yet."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and context.on_replica:
            try:
                mutation = self.execution_context.operation_type is OperationType.MUTATION
            except RuntimeError:  # no such operation: execution reports it
                mutation = False
            if mutation:
                await context.read_from_primary()
        yield


Info = strawberry.Info[Context, None]
