"""Service records: requests, complaints, quality objections, visits and survey responses.

One table with a kind column, so "everything that happened with this customer" is one
indexed, keyset-paginated query; kind-specific columns are nullable and validated on write.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Money, Record, UTCDateTime, enum_column, fk_type


class ServiceRecordKind(enum.Enum):
    SERVICE_REQUEST = "service_request"
    COMPLAINT = "complaint"
    QUALITY_OBJECTION = "quality_objection"
    VISIT = "visit"
    SATISFACTION_SURVEY = "satisfaction_survey"


class ServiceStatus(enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = (ServiceStatus.OPEN, ServiceStatus.IN_PROGRESS)


class Severity(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ServiceRecord(Record, Base):
    __tablename__ = "service_records"
    __table_args__ = (
        Index("ix_service_records_org_opened_at_id", "organization_id", "opened_at", "id"),
        Index("ix_service_records_opened_at_id", "opened_at", "id"),
        Index("ix_service_records_order_id", "order_id"),
        Index("ix_service_records_product_id", "product_id"),
        Index("ix_service_records_kind_status", "kind", "status"),
        Index("ix_service_records_assignee_id", "assignee_id"),
        Index("ix_service_records_contact_id", "contact_id"),
        Index("ix_service_records_order_line_id", "order_line_id"),
        Index("ix_service_records_campaign_id", "campaign_id"),
    )

    kind: Mapped[ServiceRecordKind] = mapped_column(enum_column(ServiceRecordKind), nullable=False)
    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    contact_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("contacts.id"))
    order_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("orders.id"))
    order_line_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("order_lines.id"))
    product_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("products.id"))
    assignee_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ServiceStatus] = mapped_column(
        enum_column(ServiceStatus), default=ServiceStatus.OPEN, nullable=False
    )
    severity: Mapped[Severity | None] = mapped_column(enum_column(Severity))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None] = mapped_column(Money)  # what serving it cost us
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    evidence_links: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    compensation: Mapped[Decimal | None] = mapped_column(Money)
    # Visits
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purpose: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    # Satisfaction survey responses
    score: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[str | None] = mapped_column(Text)
    # The survey campaign a response answers (graph/models/relationship.py); None for ad-hoc ones.
    campaign_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("survey_campaigns.id"))
