"""The contact-centre record: every call, email, fax, message and meeting with a partner."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Record, UTCDateTime, enum_column, fk_type


class InteractionChannel(enum.Enum):
    CALL = "call"
    EMAIL = "email"
    FAX = "fax"
    MESSAGE = "message"
    MEETING = "meeting"


class InteractionDirection(enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Interaction(Record, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_org_occurred_at_id", "organization_id", "occurred_at", "id"),
        Index("ix_interactions_occurred_at_id", "occurred_at", "id"),
        Index("ix_interactions_contact_id", "contact_id"),
        Index("ix_interactions_user_id", "user_id"),
    )

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    contact_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("contacts.id"))
    user_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("users.id"))
    channel: Mapped[InteractionChannel] = mapped_column(enum_column(InteractionChannel), nullable=False)
    direction: Mapped[InteractionDirection] = mapped_column(
        enum_column(InteractionDirection), nullable=False
    )
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
