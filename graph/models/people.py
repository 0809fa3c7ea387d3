"""People: contacts at organizations, our internal users, and account ownership history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Record, UTCDateTime, enum_column, fk_type


class UserRole(enum.Enum):
    ADMIN = "admin"
    SALES = "sales"
    SERVICE = "service"
    ANALYST = "analyst"
    READ_ONLY = "read_only"


class Contact(Record, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_organization_id_name_id", "organization_id", "name", "id"),
        Index("ix_contacts_name_id", "name", "id"),
        # One primary contact per organization, enforced by the database as well.
        Index(
            "uq_contacts_one_primary",
            "organization_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str | None] = mapped_column(String(100), doc="Job title or role at the organization.")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(64))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)


class User(Record, Base):
    """An internal user (our staff): sales reps, service agents, analysts, admins."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_name_id", "name", "id"),)

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    role: Mapped[UserRole] = mapped_column(enum_column(UserRole), nullable=False)
    region: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class AccountOwnership(Record, Base):
    """Which sales rep owned an account, and when: the account belongs to the company,
    so ownership is an assignment with history, never overwritten."""

    __tablename__ = "account_ownerships"
    __table_args__ = (
        Index("ix_account_ownerships_org_started", "organization_id", "started_at", "id"),
        Index("ix_account_ownerships_user_id", "user_id"),
        # At most one current owner per account.
        Index(
            "uq_account_ownerships_current",
            "organization_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("users.id"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
