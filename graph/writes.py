"""The one place writes happen: a transaction per mutation.

`transaction()` opens a session, yields a `UnitOfWork`, and commits only if the block
finishes; a `UserInputError` (or anything else) rolls everything back, so invalid input
changes nothing. Changes are recorded on the unit of work as they are made; the audit
trail and the change-feed outbox hook in at `_before_commit`, inside the same transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, inspect, select
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
from graph.outbox import publish


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

    async def _before_commit(self) -> None:
        """Hook for the audit trail and the outbox: runs inside the transaction."""
        await self.session.flush()  # bulk writers may append changes before their last flush
        if self.changes:
            now = utcnow()
            rows = audit_rows(self.changes, self.principal, self.operation, self.request_id, now)
            await self.session.execute(insert(AuditEvent.__table__), rows)
            await publish(self.session, self.changes, self.principal, self.request_id, now)


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
