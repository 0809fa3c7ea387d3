"""What a sold line cost us: the one definition behind every margin (customer insights,
rep scorecards, sales reports).

Unit cost = the line's supplier's offer for the product in the order's currency
(supplier_products.price), else the product's own cost estimate if it is in the order's
currency, else unknown. Line cost = quantity × unit cost, rounded half-up to Money's 4 places.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, func, literal_column, type_coerce

from graph.models import orders as om
from graph.models import products as pm
from graph.models.base import Money

ORDER = om.Order.__table__
LINE = om.OrderLine.__table__
PRODUCT = pm.Product.__table__
OFFER = pm.SupplierProduct.__table__


def costed_lines() -> Any:
    """Order lines joined with their order, product and the supplier's offer that prices them."""
    return (
        LINE.join(ORDER, ORDER.c.id == LINE.c.order_id)
        .join(PRODUCT, PRODUCT.c.id == LINE.c.product_id)
        .outerjoin(
            OFFER,
            and_(
                OFFER.c.supplier_id == LINE.c.supplier_id,
                OFFER.c.product_id == LINE.c.product_id,
                OFFER.c.currency == ORDER.c.currency,
            ),
        )
    )


def unit_cost() -> ColumnElement[Decimal]:
    """The unit cost of a line of `costed_lines()` (NULL when unknown)."""
    return func.coalesce(OFFER.c.price, case((PRODUCT.c.currency == ORDER.c.currency, PRODUCT.c.cost)))


def line_cost(quantity: Any, unit_cost: Any, dialect: str) -> ColumnElement[Decimal]:
    """quantity × unit cost, rounded half-up to Money's 4 decimals (NULL if no unit cost)."""
    if dialect == "postgresql":
        return type_coerce(func.round(quantity * unit_cost, literal_column("4")), Money)
    # SQLite stores quantities as integer thousandths and money as ten-thousandths: the product
    # is in 10^-7 units; + 500 then integer division by 1000 rounds half-up (costs are ≥ 0).
    raw = type_coerce(quantity, BigInteger) * type_coerce(unit_cost, BigInteger)
    # A plain `/` operator: SQLAlchemy's own would turn it into true or FLOOR division.
    return type_coerce((raw + literal_column("500")).op("/", precedence=8)(literal_column("1000")), Money)
