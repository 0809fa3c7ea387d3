"""Contracts between us and an organization, signed by the company, not by a rep."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Money, Record, enum_column, fk_type


class ContractKind(enum.Enum):
    SALES = "sales"
    SUPPLY = "supply"
    DISTRIBUTION = "distribution"
    SERVICE = "service"
    FRAMEWORK = "framework"


class ContractStatus(enum.Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class Contract(Record, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        Index("ix_contracts_organization_id_valid_from", "organization_id", "valid_from", "id"),
        Index("ix_contracts_valid_from_id", "valid_from", "id"),
        Index("ix_contracts_status", "status"),
    )

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[ContractKind] = mapped_column(enum_column(ContractKind), nullable=False)
    status: Mapped[ContractStatus] = mapped_column(
        enum_column(ContractStatus), default=ContractStatus.DRAFT, nullable=False
    )
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)
    value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    price_terms: Mapped[str | None] = mapped_column(Text)
    payment_terms: Mapped[str | None] = mapped_column(Text)
    service_terms: Mapped[str | None] = mapped_column(Text)
