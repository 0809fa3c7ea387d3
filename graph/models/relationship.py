"""Relationship records: satisfaction survey campaigns and sales opportunities.

A survey *response* is a service record of kind SATISFACTION_SURVEY (graph/models/service.py)
that names its campaign in `service_records.campaign_id`; a campaign says whom it asks
(a tier, listed customers, or every customer) and when.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, Money, Record, UTCDateTime, enum_column, fk_type
from graph.models.organizations import CustomerTier


class CampaignStatus(enum.Enum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class SurveyCampaign(Record, Base):
    """A satisfaction survey run over a period, for a tier or for listed customers."""

    __tablename__ = "survey_campaigns"
    __table_args__ = (Index("ix_survey_campaigns_period_start_id", "period_start", "id"),)

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    # None: every customer (unless customers are listed in survey_campaign_targets).
    target_tier: Mapped[CustomerTier | None] = mapped_column(enum_column(CustomerTier))
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus), default=CampaignStatus.PLANNED, nullable=False
    )


class SurveyCampaignTarget(Record, Base):
    """A customer a campaign asks by name (in addition to, or instead of, a whole tier)."""

    __tablename__ = "survey_campaign_targets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "organization_id"),
        Index("ix_survey_campaign_targets_organization_id", "organization_id"),
    )

    campaign_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("survey_campaigns.id"), nullable=False)
    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)


class OpportunityStage(enum.Enum):
    QUALIFICATION = "qualification"
    NEEDS_ANALYSIS = "needs_analysis"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"


CLOSED_STAGES = (OpportunityStage.WON, OpportunityStage.LOST)
OPEN_STAGES = tuple(s for s in OpportunityStage if s not in CLOSED_STAGES)


class Opportunity(Record, Base):
    """Possible business with a prospect or customer: what it may be worth, and how likely."""

    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_org_close_id", "organization_id", "expected_close_date", "id"),
        Index("ix_opportunities_expected_close_date_id", "expected_close_date", "id"),
        Index("ix_opportunities_owner_id_stage", "owner_id", "stage"),
        Index("ix_opportunities_stage", "stage"),
    )

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    owner_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("users.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[OpportunityStage] = mapped_column(
        enum_column(OpportunityStage), default=OpportunityStage.QUALIFICATION, nullable=False
    )
    expected_value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    probability: Mapped[int] = mapped_column(Integer, nullable=False)  # percent, 0–100
    expected_close_date: Mapped[date] = mapped_column(Date, nullable=False)
    competitors: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(Text)
