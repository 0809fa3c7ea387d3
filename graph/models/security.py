"""API keys and the audit trail.

A key is shown once at creation; we keep only its SHA-256 (keys are 256-bit random, so
a fast hash is enough) and a short visible prefix to find it and to name it in logs.
Audit events are append-only: written in the same transaction as the change they record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, UTCDateTime, fk_type, id_column, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # admin | sales | service | analyst | read_only | customer | supplier | distributor
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    organization_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("users.id"))
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who changed what, when: one row per record a mutation created, changed or archived."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_audit_events_node", "table_name", "record_id", "occurred_at"),
        Index("ix_audit_events_principal", "principal_name", "occurred_at"),
    )

    id: Mapped[int] = id_column()
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    principal_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    principal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    organization_id: Mapped[int | None] = mapped_column(fk_type())
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(100), nullable=False)  # the mutation field
    action: Mapped[str] = mapped_column(String(20), nullable=False)  # create | update | archive
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[int] = mapped_column(fk_type(), nullable=False)
    node_id: Mapped[str | None] = mapped_column(String(200))  # the record's global id
    changes: Mapped[dict] = mapped_column(JSON, nullable=False)  # {field: [before, after]}
    request_id: Mapped[str | None] = mapped_column(String(64))
