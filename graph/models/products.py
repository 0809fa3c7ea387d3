"""Products and the suppliers that supply them (price and lead time per supplier)."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Money, Record, enum_column, fk_type


class ProductStatus(enum.Enum):
    ACTIVE = "active"
    DISCONTINUED = "discontinued"


class Product(Record, Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_name_id", "name", "id"),
        Index("ix_products_list_price_id", "list_price", "id"),
        Index("ix_products_created_at_id", "created_at", "id"),
    )

    sku: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(20), default="pcs", nullable=False)
    list_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    cost: Mapped[Decimal | None] = mapped_column(Money)  # internal-only
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    status: Mapped[ProductStatus] = mapped_column(
        enum_column(ProductStatus), default=ProductStatus.ACTIVE, nullable=False
    )


class SupplierProduct(Record, Base):
    """A supplier's offer of a product: its price to us and its lead time."""

    __tablename__ = "supplier_products"
    __table_args__ = (
        UniqueConstraint("supplier_id", "product_id"),
        Index("ix_supplier_products_product_id", "product_id"),
    )

    supplier_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("products.id"), nullable=False)
    supplier_sku: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    lead_time_days: Mapped[int] = mapped_column(Integer, nullable=False)
    is_preferred: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
