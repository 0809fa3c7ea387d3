"""orders: drop the index on source_organization_id alone

The unique (source_organization_id, external_reference) constraint's index starts with the same
column, so it serves every lookup the single-column index did (the foreign key's checks, a
supplier's synced orders). The extra index cost maintenance on every order written, and at
100k customers it tempted PostgreSQL's generic plan for the sync's existing-orders lookup away
from the unique index (docs/performance.md).

Revision ID: 0008_orders_source_index
Revises: 0007_early_warnings
Create Date: 2026-11-25 09:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008_orders_source_index"
down_revision: str | Sequence[str] | None = "0007_early_warnings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_orders_source_organization_id", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_source_organization_id", "orders", ["source_organization_id"], unique=False)
