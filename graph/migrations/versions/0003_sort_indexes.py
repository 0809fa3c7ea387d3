"""Indexes for the sorts that still scanned and sorted a whole table.

Revision ID: 0003_sort_indexes
Revises: 0002_security
Create Date: 2026-11-25 10:00:00

Found by EXPLAIN on the demo dataset at 2,000 customers (docs/indexes.md, reproduced by
``python -m tests.test_indexes --customers 2000``): these keyset orderings were a Seq Scan
plus a top-N sort over every row, now a range scan of ``(sort key, id)`` like every other:

* ``orders(created_at, id)``: ``orders(orderBy: {field: CREATED_AT})``;
* ``shipments(created_at, id)``: top-level ``shipments`` (newest first);
* ``products(list_price, id)`` and ``products(created_at, id)``: ``products(orderBy:
  {field: LIST_PRICE | CREATED_AT})``.

Plain CREATE INDEX on both backends (it locks writes to the table while it builds). On a
large live PostgreSQL database, create the same four indexes with ``CREATE INDEX
CONCURRENTLY`` by hand and then ``alembic stamp 0003_sort_indexes`` instead of upgrading.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_sort_indexes"
down_revision: str | Sequence[str] | None = "0002_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_created_at_id", "orders", ["created_at", "id"], unique=False)
    op.create_index("ix_shipments_created_at_id", "shipments", ["created_at", "id"], unique=False)
    op.create_index("ix_products_list_price_id", "products", ["list_price", "id"], unique=False)
    op.create_index("ix_products_created_at_id", "products", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_products_created_at_id", table_name="products")
    op.drop_index("ix_products_list_price_id", table_name="products")
    op.drop_index("ix_shipments_created_at_id", table_name="shipments")
    op.drop_index("ix_orders_created_at_id", table_name="orders")
