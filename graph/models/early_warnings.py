"""Early warnings: graded alerts about a customer relationship, raised by rules.

A warning is raised by a rule (graph/crm/warnings.py) about one subject — an order, a
shipment, a customer's use of a product, a customer's complaints — and lives through
OPEN → ACKNOWLEDGED → RESOLVING → VERIFIED → CLOSED. While it is not closed it is the one
warning of its rule and subject: `uq_early_warnings_open_subject` (a partial unique index)
refuses a second one, whatever the number of concurrent sweeps.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Record, UTCDateTime, enum_column, fk_type
from graph.models.organizations import CustomerTier


class WarningKind(enum.Enum):
    ORDER_FULFILMENT = "order_fulfilment"
    PRODUCT_QUALITY = "product_quality"
    LOGISTICS = "logistics"
    COMPLAINTS = "complaints"


class WarningLevel(enum.Enum):
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {WarningLevel.YELLOW: 1, WarningLevel.ORANGE: 2, WarningLevel.RED: 3}


class WarningStatus(enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVING = "resolving"
    VERIFIED = "verified"  # a resolution check found it resolved; ready to close
    CLOSED = "closed"


class WarningTrend(enum.Enum):
    RISING = "rising"
    STEADY = "steady"
    FALLING = "falling"


class CheckOutcome(enum.Enum):
    RESOLVED = "resolved"
    NOT_RESOLVED = "not_resolved"


class EarlyWarning(Record, Base):
    __tablename__ = "early_warnings"
    __table_args__ = (
        # One warning per rule and subject until it is closed (raced sweeps included).
        Index(
            "uq_early_warnings_open_subject",
            "rule",
            "subject_key",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        Index("ix_early_warnings_customer_id_raised_at_id", "customer_id", "raised_at", "id"),
        Index("ix_early_warnings_supplier_id_raised_at_id", "supplier_id", "raised_at", "id"),
        Index("ix_early_warnings_order_id", "order_id"),
        Index("ix_early_warnings_product_id", "product_id"),
        Index("ix_early_warnings_shipment_id", "shipment_id"),
        Index("ix_early_warnings_raised_at_id", "raised_at", "id"),
        Index("ix_early_warnings_status_rule", "status", "rule"),
    )

    kind: Mapped[WarningKind] = mapped_column(enum_column(WarningKind), nullable=False)
    level: Mapped[WarningLevel] = mapped_column(enum_column(WarningLevel), nullable=False)
    status: Mapped[WarningStatus] = mapped_column(
        enum_column(WarningStatus), default=WarningStatus.OPEN, nullable=False
    )
    # The rule that raised it and what it is about, e.g. ("order_overdue", "order:42").
    rule: Mapped[str] = mapped_column(String(40), nullable=False)
    subject_key: Mapped[str] = mapped_column(String(100), nullable=False)
    customer_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    tier_at_raise: Mapped[CustomerTier | None] = mapped_column(enum_column(CustomerTier))
    order_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("orders.id"))
    shipment_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("shipments.id"))
    product_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("products.id"))
    supplier_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("organizations.id"))
    description: Mapped[str] = mapped_column(Text, nullable=False)
    cause: Mapped[str] = mapped_column(Text, nullable=False)
    # The rule's measure (days overdue, objections, complaints) now and a week earlier.
    measure: Mapped[int] = mapped_column(Integer, nullable=False)
    previous_measure: Mapped[int] = mapped_column(Integer, nullable=False)
    trend: Mapped[WarningTrend] = mapped_column(enum_column(WarningTrend), nullable=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    condition_holds: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    condition_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    # The latest resolution check (earlier ones are in the audit trail).
    check_outcome: Mapped[CheckOutcome | None] = mapped_column(enum_column(CheckOutcome))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by: Mapped[str | None] = mapped_column(String(200))
    checked_by_user_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("users.id"))
    check_notes: Mapped[str | None] = mapped_column(Text)
    check_condition_held: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
