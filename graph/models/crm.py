"""Customer insights: tier rules and history, lifecycle stages, visit plans, sales targets.

Figures (revenue, margin, RFM, churn risk, lifetime value) are not stored: they are computed
from orders when asked (graph/crm/value.py). What is stored is what people decide or plan —
rules, reviews, tier and stage changes, visit plans, targets — each with its history.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from graph.models.base import Base, ExactDecimal, Money, Record, UTCDateTime, enum_column, fk_type
from graph.models.organizations import CustomerTier

# Ratios (growth, fulfilment, scores) kept exact to four places.
Ratio = ExactDecimal(12, 4)


class LifecycleStage(enum.Enum):
    PROSPECT = "prospect"
    DEVELOPMENT = "development"
    GROWTH = "growth"
    MATURITY = "maturity"
    TERMINATION = "termination"


class TierChangeSource(enum.Enum):
    REVIEW = "review"
    MANUAL = "manual"


class TierReviewStatus(enum.Enum):
    OPEN = "open"
    APPLIED = "applied"


class VisitPlanStatus(enum.Enum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class TierRule(Record, Base):
    """The thresholds a customer must all meet to be placed in `tier` (None: not checked)."""

    __tablename__ = "crm_tier_rules"

    tier: Mapped[CustomerTier] = mapped_column(enum_column(CustomerTier), nullable=False, unique=True)
    min_revenue: Mapped[Decimal | None] = mapped_column(Money)
    min_orders: Mapped[int | None] = mapped_column(Integer)
    min_contract_fulfilment: Mapped[Decimal | None] = mapped_column(Ratio)
    min_growth: Mapped[Decimal | None] = mapped_column(Ratio)
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)


class TierReview(Record, Base):
    """One run of the tier review: the proposals it made as of a moment."""

    __tablename__ = "crm_tier_reviews"

    as_of: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[TierReviewStatus] = mapped_column(
        enum_column(TierReviewStatus), default=TierReviewStatus.OPEN, nullable=False
    )
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)


class TierProposal(Record, Base):
    """A proposed tier change with the figures and the reason behind it."""

    __tablename__ = "crm_tier_proposals"
    __table_args__ = (
        UniqueConstraint("review_id", "organization_id"),
        Index("ix_crm_tier_proposals_organization_id", "organization_id"),
    )

    review_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("crm_tier_reviews.id"), nullable=False)
    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    current_tier: Mapped[CustomerTier | None] = mapped_column(enum_column(CustomerTier))
    proposed_tier: Mapped[CustomerTier] = mapped_column(enum_column(CustomerTier), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    revenue: Mapped[Decimal] = mapped_column(Money, nullable=False)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    contract_fulfilment: Mapped[Decimal | None] = mapped_column(Ratio)
    growth: Mapped[Decimal | None] = mapped_column(Ratio)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TierChange(Record, Base):
    """A customer's tier changed: when, why, and who approved it."""

    __tablename__ = "crm_tier_changes"
    __table_args__ = (Index("ix_crm_tier_changes_org_changed_at_id", "organization_id", "changed_at", "id"),)

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    from_tier: Mapped[CustomerTier | None] = mapped_column(enum_column(CustomerTier))
    to_tier: Mapped[CustomerTier] = mapped_column(enum_column(CustomerTier), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    approved_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[TierChangeSource] = mapped_column(enum_column(TierChangeSource), nullable=False)
    proposal_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("crm_tier_proposals.id"))


class LifecycleChange(Record, Base):
    """A customer's lifecycle stage changed, as found by a recompute as of `changed_at`."""

    __tablename__ = "crm_lifecycle_changes"
    __table_args__ = (
        Index("ix_crm_lifecycle_changes_org_changed_at_id", "organization_id", "changed_at", "id"),
    )

    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    from_stage: Mapped[LifecycleStage | None] = mapped_column(enum_column(LifecycleStage))
    to_stage: Mapped[LifecycleStage] = mapped_column(enum_column(LifecycleStage), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)


class VisitPlan(Record, Base):
    """A rep's planned visit to a customer; `visit_id` links the visit record once done."""

    __tablename__ = "crm_visit_plans"
    __table_args__ = (
        Index("ix_crm_visit_plans_planned_on_id", "planned_on", "id"),
        Index("ix_crm_visit_plans_rep_planned_on", "rep_id", "planned_on"),
        Index("ix_crm_visit_plans_organization_id", "organization_id"),
        Index("ix_crm_visit_plans_visit_id", "visit_id"),
    )

    rep_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("users.id"), nullable=False)
    organization_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("organizations.id"), nullable=False)
    planned_on: Mapped[date] = mapped_column(Date, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[VisitPlanStatus] = mapped_column(
        enum_column(VisitPlanStatus), default=VisitPlanStatus.PLANNED, nullable=False
    )
    visit_id: Mapped[int | None] = mapped_column(fk_type(), ForeignKey("service_records.id"))


class SalesTarget(Record, Base):
    """A rep's revenue target for a period (inclusive dates), set by an admin."""

    __tablename__ = "crm_sales_targets"
    __table_args__ = (UniqueConstraint("rep_id", "period_start", "period_end"),)

    rep_id: Mapped[int] = mapped_column(fk_type(), ForeignKey("users.id"), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    revenue_target: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
