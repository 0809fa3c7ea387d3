"""crm: early warnings

Revision ID: 0007_early_warnings
Revises: 0006_crm_relationship
Create Date: 2026-11-24 23:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import graph.models.base  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = "0007_early_warnings"
down_revision: str | Sequence[str] | None = "0006_crm_relationship"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
