"""crm: satisfaction surveys, opportunities

Revision ID: 0006_crm_relationship
Revises: 0005_crm_customer
Create Date: 2026-11-24 23:10:00

Survey campaigns (and the customers a campaign names), opportunities, and the link from a
satisfaction-survey service record to the campaign it answers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import graph.models.base

# revision identifiers, used by Alembic.
revision: str = "0006_crm_relationship"
down_revision: str | Sequence[str] | None = "0005_crm_customer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _record_columns() -> list[sa.Column]:
    return [
        sa.Column("id", _ID, nullable=False),
        sa.Column("created_at", graph.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", graph.models.base.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("archived_at", graph.models.base.UTCDateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "survey_campaigns",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column(
            "target_tier",
            sa.Enum("strategic", "key", "general", "potential", name="customertier", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum("planned", "open", "closed", name="campaignstatus", native_enum=False, length=32),
            nullable=False,
        ),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_campaigns")),
    )
    op.create_index("ix_survey_campaigns_period_start_id", "survey_campaigns", ["period_start", "id"], unique=False)

    op.create_table(
        "survey_campaign_targets",
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["survey_campaigns.id"],
            name=op.f("fk_survey_campaign_targets_campaign_id_survey_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_survey_campaign_targets_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_campaign_targets")),
        sa.UniqueConstraint(
            "campaign_id", "organization_id", name=op.f("uq_survey_campaign_targets_campaign_id_organization_id")
        ),
    )
    op.create_index(
        "ix_survey_campaign_targets_organization_id", "survey_campaign_targets", ["organization_id"], unique=False
    )

    op.create_table(
        "opportunities",
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "stage",
            sa.Enum(
                "qualification", "needs_analysis", "proposal", "negotiation", "won", "lost",
                name="opportunitystage", native_enum=False, length=32,
            ),
            nullable=False,
        ),
        sa.Column("expected_value", graph.models.base.ExactDecimal(18, 4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("expected_close_date", sa.Date(), nullable=False),
        sa.Column("competitors", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("closed_at", graph.models.base.UTCDateTime(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_opportunities_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_opportunities_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
    )
    op.create_index(
        "ix_opportunities_org_close_id", "opportunities", ["organization_id", "expected_close_date", "id"], unique=False
    )
    op.create_index(
        "ix_opportunities_expected_close_date_id", "opportunities", ["expected_close_date", "id"], unique=False
    )
    op.create_index("ix_opportunities_owner_id_stage", "opportunities", ["owner_id", "stage"], unique=False)
    op.create_index("ix_opportunities_stage", "opportunities", ["stage"], unique=False)

    # SQLite can add a column with its foreign key in place (and must, for `--sql` mode,
    # where batch mode cannot reflect the table it would rebuild).
    fk_name = op.f("fk_service_records_campaign_id_survey_campaigns")
    if op.get_context().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE service_records ADD COLUMN campaign_id INTEGER CONSTRAINT {fk_name} "
            "REFERENCES survey_campaigns (id)"
        )
    else:
        op.add_column("service_records", sa.Column("campaign_id", _ID, nullable=True))
        op.create_foreign_key(fk_name, "service_records", "survey_campaigns", ["campaign_id"], ["id"])
    op.create_index("ix_service_records_campaign_id", "service_records", ["campaign_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_service_records_campaign_id", table_name="service_records")
    if op.get_context().dialect.name == "sqlite":
        # The rebuilt table leaves out the column and the foreign key declared with it.
        with op.batch_alter_table("service_records", schema=None) as batch_op:
            batch_op.drop_column("campaign_id")
    else:
        op.drop_constraint(
            op.f("fk_service_records_campaign_id_survey_campaigns"), "service_records", type_="foreignkey"
        )
        op.drop_column("service_records", "campaign_id")

    op.drop_index("ix_opportunities_stage", table_name="opportunities")
    op.drop_index("ix_opportunities_owner_id_stage", table_name="opportunities")
    op.drop_index("ix_opportunities_expected_close_date_id", table_name="opportunities")
    op.drop_index("ix_opportunities_org_close_id", table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_index("ix_survey_campaign_targets_organization_id", table_name="survey_campaign_targets")
    op.drop_table("survey_campaign_targets")
    op.drop_index("ix_survey_campaigns_period_start_id", table_name="survey_campaigns")
    op.drop_table("survey_campaigns")
