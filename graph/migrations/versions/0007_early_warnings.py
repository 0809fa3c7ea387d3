"""crm: early warnings

Revision ID: 0007_early_warnings
Revises: 0006_crm_relationship
Create Date: 2026-11-24 23:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import graph.models.base

# revision identifiers, used by Alembic.
revision: str = "0007_early_warnings"
down_revision: str | Sequence[str] | None = "0006_crm_relationship"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OPEN = sa.text("status != 'closed'")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "early_warnings",
        sa.Column(
            "kind",
            _enum("warningkind", "order_fulfilment", "product_quality", "logistics", "complaints"),
            nullable=False,
        ),
        sa.Column("level", _enum("warninglevel", "yellow", "orange", "red"), nullable=False),
        sa.Column(
            "status",
            _enum("warningstatus", "open", "acknowledged", "resolving", "verified", "closed"),
            nullable=False,
        ),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject_key", sa.String(length=100), nullable=False),
        sa.Column("customer_id", _FK, nullable=False),
        sa.Column(
            "tier_at_raise", _enum("customertier", "strategic", "key", "general", "potential"), nullable=True
        ),
        sa.Column("order_id", _FK, nullable=True),
        sa.Column("shipment_id", _FK, nullable=True),
        sa.Column("product_id", _FK, nullable=True),
        sa.Column("supplier_id", _FK, nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("measure", sa.Integer(), nullable=False),
        sa.Column("previous_measure", sa.Integer(), nullable=False),
        sa.Column("trend", _enum("warningtrend", "rising", "steady", "falling"), nullable=False),
        sa.Column("raised_at", graph.models.base.UTCDateTime(), nullable=False),
        sa.Column("escalated_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.Column("evaluated_at", graph.models.base.UTCDateTime(), nullable=False),
        sa.Column("condition_holds", sa.Boolean(), nullable=False),
        sa.Column("condition_cleared_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.Column("assignee_id", _FK, nullable=True),
        sa.Column("acknowledged_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("check_outcome", _enum("checkoutcome", "resolved", "not_resolved"), nullable=True),
        sa.Column("checked_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.Column("checked_by", sa.String(length=200), nullable=True),
        sa.Column("checked_by_user_id", _FK, nullable=True),
        sa.Column("check_notes", sa.Text(), nullable=True),
        sa.Column("check_condition_held", sa.Boolean(), nullable=True),
        sa.Column("closed_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("id", _FK, nullable=False),
        sa.Column("created_at", graph.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", graph.models.base.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("archived_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_early_warnings_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_user_id"], ["users.id"], name=op.f("fk_early_warnings_checked_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["organizations.id"], name=op.f("fk_early_warnings_customer_id_organizations")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_early_warnings_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_early_warnings_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_early_warnings_shipment_id_shipments")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organizations.id"], name=op.f("fk_early_warnings_supplier_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_warnings")),
    )
    op.create_index(
        "ix_early_warnings_customer_id_raised_at_id",
        "early_warnings",
        ["customer_id", "raised_at", "id"],
        unique=False,
    )
    op.create_index("ix_early_warnings_order_id", "early_warnings", ["order_id"], unique=False)
    op.create_index("ix_early_warnings_product_id", "early_warnings", ["product_id"], unique=False)
    op.create_index("ix_early_warnings_raised_at_id", "early_warnings", ["raised_at", "id"], unique=False)
    op.create_index("ix_early_warnings_shipment_id", "early_warnings", ["shipment_id"], unique=False)
    op.create_index("ix_early_warnings_status_rule", "early_warnings", ["status", "rule"], unique=False)
    op.create_index(
        "ix_early_warnings_supplier_id_raised_at_id",
        "early_warnings",
        ["supplier_id", "raised_at", "id"],
        unique=False,
    )
    # One warning per rule and subject until it is closed: concurrent sweeps cannot duplicate.
    op.create_index(
        "uq_early_warnings_open_subject",
        "early_warnings",
        ["rule", "subject_key"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_early_warnings_open_subject",
        table_name="early_warnings",
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    for name in (
        "ix_early_warnings_supplier_id_raised_at_id",
        "ix_early_warnings_status_rule",
        "ix_early_warnings_shipment_id",
        "ix_early_warnings_raised_at_id",
        "ix_early_warnings_product_id",
        "ix_early_warnings_order_id",
        "ix_early_warnings_customer_id_raised_at_id",
    ):
        op.drop_index(name, table_name="early_warnings")
    op.drop_table("early_warnings")
