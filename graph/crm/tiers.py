"""Customer tiers: the rules, the review that proposes changes, and applying or overriding them.

A customer belongs to the highest tier (strategic, key, general) whose rule it meets — every
threshold the rule sets, on its TTM revenue, TTM order count, contract fulfilment and growth
(graph/crm/value.py) — and to `potential` otherwise. A threshold left empty is not checked; a
threshold on a figure the customer does not have (no contracts, no prior half-year) is not met.

Default rules (in force for a tier until an admin stores its rule with `setTierRule`; the demo
seed stores them as rows):
    strategic  TTM revenue ≥ 1,000,000 and ≥ 12 orders in the last 12 months
    key        TTM revenue ≥ 200,000 (DOMAIN: "above 200,000 of yearly business is at least key")
    general    TTM revenue ≥ 20,000 and ≥ 2 orders
    potential  everyone else
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from graph.crm import lifecycle
from graph.crm.scope import customer_scope, dialect_of, session_runner
from graph.crm.value import CustomerFigures, Run, customer_figures
from graph.errors import ErrorCode, ErrorCollector, UserInputError
from graph.ids import decode_global_id
from graph.models import organizations as morg
from graph.models.base import utcnow
from graph.models.crm import (
    TierChange,
    TierChangeSource,
    TierProposal,
    TierReview,
    TierReviewStatus,
    TierRule,
)
from graph.models.organizations import CustomerTier
from graph.writes import UnitOfWork

ORG = morg.Organization.__table__

# Highest first: a customer gets the first tier whose rule it meets.
TIER_ORDER = (CustomerTier.STRATEGIC, CustomerTier.KEY, CustomerTier.GENERAL, CustomerTier.POTENTIAL)
RANK = {tier: i for i, tier in enumerate(TIER_ORDER)}


@dataclass(frozen=True)
class Rule:
    tier: CustomerTier
    min_revenue: Decimal | None = None
    min_orders: int | None = None
    min_contract_fulfilment: Decimal | None = None
    min_growth: Decimal | None = None


DEFAULT_RULES = (
    Rule(CustomerTier.STRATEGIC, min_revenue=Decimal(1_000_000), min_orders=12),
    Rule(CustomerTier.KEY, min_revenue=Decimal(200_000)),
    Rule(CustomerTier.GENERAL, min_revenue=Decimal(20_000), min_orders=2),
    Rule(CustomerTier.POTENTIAL),
)


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def check_rule(rule: Rule, f: CustomerFigures) -> tuple[list[str], list[str]]:
    """(thresholds met, thresholds missed), each in words."""
    met: list[str] = []
    missed: list[str] = []

    def compare(name: str, value: Decimal | int | None, threshold: Decimal | int | None, show) -> None:  # noqa: ANN001
        if threshold is None:
            return
        if value is None:
            missed.append(f"{name} unknown (needs ≥ {show(threshold)})")
        elif value >= threshold:
            met.append(f"{name} {show(value)} ≥ {show(threshold)}")
        else:
            missed.append(f"{name} {show(value)} < {show(threshold)}")

    compare("TTM revenue", f.revenue_ttm, rule.min_revenue, _amount)
    compare("orders in 12 months", f.orders_ttm, rule.min_orders, str)
    compare("contract fulfilment", f.contract_fulfilment, rule.min_contract_fulfilment, lambda v: f"{v:.4f}")
    compare("growth", f.growth, rule.min_growth, lambda v: f"{v:.4f}")
    return met, missed


def decide(rules: Sequence[Rule], f: CustomerFigures) -> tuple[CustomerTier, list[str]]:
    """The tier the rules give and the thresholds that placed it there."""
    by_tier = {r.tier: r for r in rules}
    for tier in TIER_ORDER[:-1]:
        rule = by_tier.get(tier)
        if rule is None:
            continue
        met, missed = check_rule(rule, f)
        if not missed:
            return tier, met
    return CustomerTier.POTENTIAL, []


def reason_for(
    rules: Sequence[Rule], f: CustomerFigures, current: CustomerTier | None, proposed: CustomerTier
) -> str:
    """Why `proposed` rather than `current`, in the words of the rules."""
    by_tier = {r.tier: r for r in rules}
    _, met = decide(rules, f)
    meets = (
        f"meets the {proposed.value} rule ({'; '.join(met)})"
        if met
        else f"meets no higher rule, so {proposed.value}"
    )
    if current is None:
        return f"First tier: {meets}."
    if RANK[proposed] < RANK[current]:
        return f"Up from {current.value}: {meets}."
    rule = by_tier.get(current)
    _, missed = check_rule(rule, f) if rule is not None else ([], ["no rule for it"])
    return f"Down from {current.value}: misses the {current.value} rule ({'; '.join(missed)}); {meets}."


async def load_rules(run: Run) -> list[Rule]:
    """The rules in force: the stored rule of each tier, else its documented default."""
    table = TierRule.__table__
    rows = await run(select(table).where(table.c.archived_at.is_(None)))
    stored = {
        r.tier: Rule(r.tier, r.min_revenue, r.min_orders, r.min_contract_fulfilment, r.min_growth)
        for r in rows
    }
    return [stored.get(rule.tier, rule) for rule in DEFAULT_RULES]


# -- mutations' work ----------------------------------------------------------------------


async def set_rule(uow: UnitOfWork, tier: CustomerTier, data: dict) -> TierRule:
    errors = ErrorCollector()
    if tier is CustomerTier.POTENTIAL and any(data.get(k) is not None for k in data):
        errors.add("tier", "Potential is the fallback tier: it takes no thresholds.", ErrorCode.INVALID)
    for name in ("min_revenue", "min_contract_fulfilment", "min_growth"):
        value = data.get(name)
        if value is not None and (not value.is_finite() or abs(value) >= Decimal(10) ** 13):
            errors.add(name, "Not a usable number.", ErrorCode.INVALID)
    if data.get("min_revenue") is not None and data["min_revenue"] < 0:
        errors.add("minRevenue", "Must not be negative.", ErrorCode.OUT_OF_RANGE)
    if data.get("min_orders") is not None and not 0 <= data["min_orders"] <= 100_000:
        errors.add("minOrders", "Must be between 0 and 100000.", ErrorCode.OUT_OF_RANGE)
    errors.raise_if_any()
    existing = (await uow.session.execute(select(TierRule).where(TierRule.tier == tier))).scalar_one_or_none()
    values = {k: data.get(k) for k in ("min_revenue", "min_orders", "min_contract_fulfilment", "min_growth")}
    if existing is None:
        return await uow.create(TierRule(tier=tier, currency="CNY", **values))
    return await uow.update(existing, values)


async def review_tiers(uow: UnitOfWork, as_of: datetime | None) -> TierReview:
    """Propose a tier for every active customer whose rule-given tier differs from its tier now;
    also records lifecycle-stage changes as of the same moment."""
    as_of = as_of or utcnow()
    if as_of.tzinfo is None:
        raise UserInputError.one("asOf", "Give a time zone (UTC).", ErrorCode.INVALID)
    session = uow.session
    scope = customer_scope(uow.principal)
    customers = select(ORG.c.id, ORG.c.tier).where(ORG.c.is_customer.is_(True), ORG.c.archived_at.is_(None))
    if scope is not None:
        customers = customers.where(scope(ORG.c.id))
    current = {row.id: row.tier for row in (await session.execute(customers)).all()}
    figures = await customer_figures(session_runner(session), dialect_of(session), as_of, current, scope)
    rules = await load_rules(session_runner(session))
    review = await uow.create(
        TierReview(as_of=as_of, requested_by=uow.principal.name, status=TierReviewStatus.OPEN)
    )
    for cid in sorted(current):
        f = figures[cid]
        proposed, _ = decide(rules, f)
        if proposed is current[cid]:
            continue
        await uow.create(
            TierProposal(
                review_id=review.id,
                organization_id=cid,
                current_tier=current[cid],
                proposed_tier=proposed,
                reason=reason_for(rules, f, current[cid], proposed),
                revenue=f.revenue_ttm,
                orders=f.orders_ttm,
                contract_fulfilment=f.contract_fulfilment,
                growth=f.growth,
            )
        )
    await lifecycle.record_changes(uow, as_of, figures)
    return review


async def apply_proposals(uow: UnitOfWork, review: TierReview, proposal_ids: list[str] | None) -> TierReview:
    """Apply all open proposals of `review`, or the selected ones, as tier changes."""
    table = TierProposal.__table__
    stmt = select(TierProposal).where(table.c.review_id == review.id).order_by(table.c.id)
    proposals = list((await uow.session.execute(stmt)).scalars())
    if proposal_ids is not None:
        wanted: set[int] = set()
        errors = ErrorCollector()
        known = {p.id for p in proposals}
        for i, gid in enumerate(proposal_ids):
            decoded = decode_global_id(gid, "TierProposal")
            if decoded is None or decoded[1] not in known:
                errors.add(("proposalIds", str(i)), "Not a proposal of this review.", ErrorCode.NOT_FOUND)
            else:
                wanted.add(decoded[1])
        errors.raise_if_any()
        proposals = [p for p in proposals if p.id in wanted]
    now = utcnow()
    for proposal in proposals:
        if proposal.applied_at is not None:
            continue
        org = await uow.find(morg.Organization, proposal.organization_id, for_update=True)
        if org is None:
            continue
        await change_tier(
            uow, org, proposal.proposed_tier, proposal.reason, TierChangeSource.REVIEW, now, proposal.id
        )
        await uow.update(proposal, {"applied_at": now})
    remaining = (
        await uow.session.execute(
            select(table.c.id).where(table.c.review_id == review.id, table.c.applied_at.is_(None)).limit(1)
        )
    ).first()
    if remaining is None:
        await uow.update(review, {"status": TierReviewStatus.APPLIED})
    return review


async def override_tier(
    uow: UnitOfWork, org: morg.Organization, tier: CustomerTier, reason: str | None
) -> morg.Organization:
    errors = ErrorCollector()
    if not org.is_customer:
        errors.add("organizationId", "Only customers have a tier.", ErrorCode.INVALID)
    if reason is None or not reason.strip():
        errors.add("reason", "Say why the tier is set by hand.", ErrorCode.REQUIRED)
    elif len(reason) > 2000:
        errors.add("reason", "At most 2000 characters.", ErrorCode.TOO_LONG)
    if org.tier is tier:
        errors.add("tier", f"The customer is already {tier.value}.", ErrorCode.INVALID)
    errors.raise_if_any()
    await change_tier(
        uow, org, tier, f"Manual override: {reason.strip()}", TierChangeSource.MANUAL, utcnow(), None
    )
    return org


async def change_tier(
    uow: UnitOfWork,
    org: morg.Organization,
    tier: CustomerTier,
    reason: str,
    source: TierChangeSource,
    when: datetime,
    proposal_id: int | None,
) -> None:
    """Set `org`'s tier and record the change in its tier history: every path that changes a
    tier goes through here, so the history is complete."""
    before = org.tier
    await uow.update(org, {"tier": tier})
    await record_tier_change(uow, org.id, before, tier, reason, source, when, proposal_id)


async def record_tier_change(
    uow: UnitOfWork,
    organization_id: int,
    before: CustomerTier | None,
    tier: CustomerTier,
    reason: str,
    source: TierChangeSource,
    when: datetime,
    proposal_id: int | None = None,
) -> None:
    """Write one entry of a customer's tier history (approved by the acting principal)."""
    await uow.create(
        TierChange(
            organization_id=organization_id,
            from_tier=before,
            to_tier=tier,
            changed_at=when,
            reason=reason,
            approved_by=uow.principal.name,
            source=source,
            proposal_id=proposal_id,
        )
    )
