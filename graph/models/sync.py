"""Order sync and change delivery: status history, idempotency keys, the outbox that is
also the change feed, and webhook endpoints with their deliveries.

Every change to orders, lines, shipments and service records writes an `OutboxEvent` in the
same transaction (graph/writes.py), so the feed, subscriptions and webhooks can never miss
a committed change or report one that rolled back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, UTCDateTime, fk_type, id_column, utcnow


class StatusTransition(Base):
    """One step of an order's or a shipment's lifecycle: from, to, when, by whom."""

    __tablename__ = "status_transitions"
    __table_args__ = (Index("ix_status_transitions_record", "table_name", "record_id", "occurred_at", "id"),)

    id: Mapped[int] = id_column()
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)  # orders | shipments
    record_id: Mapped[int] = mapped_column(fk_type(), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(32))  # None: created in to_status
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    principal_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    principal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))


class IdempotencyKey(Base):
    """A client's idempotency key: the same key and payload return the stored result."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("principal_key", "operation", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = id_column()
    principal_key: Mapped[str] = mapped_column(String(300), nullable=False)  # who sent it
    operation: Mapped[str] = mapped_column(String(100), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 of the payload
    response: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class OutboxEvent(Base):
    """A committed change, in commit order: the change feed, subscriptions and webhooks read it.

    The scoping columns copy who takes part in the changed record, so the feed is filtered
    by the same rules as the records themselves (graph/access.py) without joins."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_customer_id_id", "customer_id", "id"),
        Index("ix_outbox_events_distributor_id_id", "distributor_id", "id"),
        Index("ix_outbox_events_supplier_id_id", "supplier_id", "id"),
        Index("ix_outbox_events_order_id_id", "order_id", "id"),
        Index("ix_outbox_events_kind_id", "kind", "id"),
        # PostgreSQL readers follow commit order: (txid, id).
        Index("ix_outbox_events_txid_id", "txid", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # e.g. order.created, order.updated, order.status_changed, order_line.updated, shipment.created
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[int] = mapped_column(fk_type(), nullable=False)
    node_id: Mapped[str] = mapped_column(String(200), nullable=False)
    order_id: Mapped[int | None] = mapped_column(fk_type())
    customer_id: Mapped[int | None] = mapped_column(fk_type())
    distributor_id: Mapped[int | None] = mapped_column(fk_type())
    supplier_id: Mapped[int | None] = mapped_column(fk_type())
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)  # changed fields, before and after
    principal_name: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # PostgreSQL: the writing transaction's id (xid8), so readers never pass an event whose
    # transaction is still in flight (ids are assigned at insert, not at commit).
    txid: Mapped[int | None] = mapped_column(BigInteger)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_organization_id", "organization_id"),)

    id: Mapped[int] = id_column()
    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    secret: Mapped[str] = mapped_column(String(128), nullable=False)  # HMAC key; shown to the admin once
    kinds: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # event kinds, e.g. ["order.*"]
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # fan-out cursor
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = id_column()
    endpoint_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("webhook_endpoints.id"), nullable=False)
    event_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("outbox_events.id"), nullable=False)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, default="pending"
    )  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
