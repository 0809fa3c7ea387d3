"""Orders, their lines, and the shipments that deliver them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Money, Quantity, Record, UTCDateTime, enum_column, fk_type


class OrderStatus(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    IN_FULFILMENT = "in_fulfilment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class OrderSource(enum.Enum):
    PORTAL = "portal"
    SYNC = "sync"
    INTERNAL = "internal"


class ShipmentStatus(enum.Enum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    LOST = "lost"
    RETURNED = "returned"


class Order(Record, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_id_placed_at_id", "customer_id", "placed_at", "id"),
        Index("ix_orders_distributor_id_placed_at_id", "distributor_id", "placed_at", "id"),
        Index("ix_orders_placed_at_id", "placed_at", "id"),
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_total_amount_id", "total_amount", "id"),
        Index("ix_orders_status_placed_at_id", "status", "placed_at", "id"),
        UniqueConstraint("source_organization_id", "external_reference"),
    )

    number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    distributor_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("organizations.id"))
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus), default=OrderStatus.DRAFT, nullable=False
    )
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    # Derived from the lines in the same transaction that changes them.
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    requested_date: Mapped[date | None] = mapped_column(Date)
    promised_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[OrderSource] = mapped_column(
        enum_column(OrderSource), default=OrderSource.INTERNAL, nullable=False
    )
    # The partner system an order was synced from, and its key there.
    source_organization_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("organizations.id"))
    external_reference: Mapped[str | None] = mapped_column(String(100))
    # The source system's version of a synced order: an older one never overwrites a newer.
    source_version: Mapped[int | None] = mapped_column(BigInteger)
    notes: Mapped[str | None] = mapped_column(Text)


class OrderLine(Record, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_number"),
        Index("ix_order_lines_supplier_id_order_id", "supplier_id", "order_id"),
        Index("ix_order_lines_product_id", "product_id"),
    )

    order_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("orders.id"), nullable=False)
    line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("products.id"), nullable=False)
    supplier_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("organizations.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    line_total: Mapped[Decimal] = mapped_column(Money, nullable=False)


class Shipment(Record, Base):
    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_order_id_created_at_id", "order_id", "created_at", "id"),
        Index("ix_shipments_created_at_id", "created_at", "id"),
        Index("ix_shipments_tracking_number", "tracking_number"),
        Index("ix_shipments_status_expected_at", "status", "expected_at"),
    )

    order_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("orders.id"), nullable=False)
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[ShipmentStatus] = mapped_column(
        enum_column(ShipmentStatus), default=ShipmentStatus.PENDING, nullable=False
    )
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
