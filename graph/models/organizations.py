"""Organizations (customers, suppliers, distributors — one record, several roles),
their addresses, and which customers each distributor serves."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Money, Record, enum_column, fk_type


class OrganizationStatus(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


class OrganizationRole(enum.Enum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    DISTRIBUTOR = "distributor"


class CustomerTier(enum.Enum):
    STRATEGIC = "strategic"
    KEY = "key"
    GENERAL = "general"
    POTENTIAL = "potential"


class CreditStanding(enum.Enum):
    GOOD = "good"
    WATCH = "watch"
    POOR = "poor"
    BLOCKED = "blocked"


class AddressKind(enum.Enum):
    REGISTERED = "registered"
    SHIPPING = "shipping"
    BILLING = "billing"


class Organization(Record, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        Index("ix_organizations_name_id", "name", "id"),
        Index("ix_organizations_created_at_id", "created_at", "id"),
        Index("ix_organizations_region", "region"),
        Index("ix_organizations_status", "status"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    legal_name: Mapped[str | None] = mapped_column(String(300))
    registration_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    tax_id: Mapped[str | None] = mapped_column(String(64))
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_supplier: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_distributor: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    phone: Mapped[str | None] = mapped_column(String(64))
    fax: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[OrganizationStatus] = mapped_column(
        enum_column(OrganizationStatus), default=OrganizationStatus.ACTIVE, nullable=False
    )
    # Internal-only: never shown to partners (enforced on the GraphQL fields).
    tier: Mapped[CustomerTier | None] = mapped_column(enum_column(CustomerTier))
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)
    credit_currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    credit_standing: Mapped[CreditStanding | None] = mapped_column(enum_column(CreditStanding))
    internal_notes: Mapped[str | None] = mapped_column(Text)

    @property
    def roles(self) -> list[OrganizationRole]:
        return roles_of(self)


def roles_of(row) -> list[OrganizationRole]:  # noqa: ANN001 - an ORM object or a Core row
    roles = []
    if row.is_customer:
        roles.append(OrganizationRole.CUSTOMER)
    if row.is_supplier:
        roles.append(OrganizationRole.SUPPLIER)
    if row.is_distributor:
        roles.append(OrganizationRole.DISTRIBUTOR)
    return roles


class Address(Record, Base):
    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("organization_id", "kind"),)

    organization_id: Mapped[int] = mapped_column(
        fk_type(), ForeignKey("organizations.id"), nullable=False, index=True
    )
    kind: Mapped[AddressKind] = mapped_column(enum_column(AddressKind), nullable=False)
    line1: Mapped[str] = mapped_column(String(300), nullable=False)
    line2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2), default="CN", nullable=False)


class DistributorCoverage(Record, Base):
    """A distributor serving a customer (delivery and resale), optionally for a region."""

    __tablename__ = "distributor_coverage"
    __table_args__ = (
        UniqueConstraint("distributor_id", "customer_id"),
        Index("ix_distributor_coverage_customer_id", "customer_id"),
    )

    distributor_id: Mapped[int] = mapped_column(
        fk_type(), ForeignKey("organizations.id"), nullable=False
    )
    customer_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    region: Mapped[str | None] = mapped_column(String(100))
    since: Mapped[date | None] = mapped_column(Date)
