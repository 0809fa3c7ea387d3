"""crm: tiers, lifecycle, value, visits

Revision ID: 0005_crm_customer
Revises: 0004_order_sync
Create Date: 2026-11-24 23:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import graph.models.base  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = "0005_crm_customer"
down_revision: str | Sequence[str] | None = "0004_order_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
