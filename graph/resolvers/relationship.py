"""Survey campaigns, survey responses and opportunities: filters, relations and writes.

Rules checked on write: a probability is a percentage; an opportunity is won or lost only
through `close_opportunity`, once; a response answers an open campaign that asks its
customer, once per customer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from graph.errors import ErrorCode, ErrorCollector, UserInputError
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as om
from graph.models import people as pm
from graph.models import relationship as m
from graph.models import service as sm
from graph.models.base import utcnow
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

OPPORTUNITY = m.Opportunity.__table__
CAMPAIGN = m.SurveyCampaign.__table__
TARGET = m.SurveyCampaignTarget.__table__
RESPONSE = sm.ServiceRecord.__table__
ORG = om.Organization.__table__

OPPORTUNITIES_OF_ORGANIZATION = Relation("opportunities_of_org", m.Opportunity, OPPORTUNITY.c.organization_id)
RESPONSES_OF_CAMPAIGN = Relation(
    "responses_of_campaign",
    sm.ServiceRecord,
    RESPONSE.c.campaign_id,
    where=(RESPONSE.c.kind == sm.ServiceRecordKind.SATISFACTION_SURVEY, RESPONSE.c.archived_at.is_(None)),
)
TARGETS_OF_CAMPAIGN = Relation(
    "targets_of_campaign",
    om.Organization,
    TARGET.c.campaign_id,
    join=lambda s: s.join(TARGET, TARGET.c.organization_id == ORG.c.id),
    where=(TARGET.c.archived_at.is_(None),),
)

MAX_COMPETITORS = 20
MAX_TARGETS = 500


# -- filters --------------------------------------------------------------------------------


@cached_filter
def opportunity_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(OPPORTUNITY.c.archived_at.is_(None))
    if f is not None:
        if f.stages:
            conditions.append(OPPORTUNITY.c.stage.in_(f.stages))
        if f.open is not None:
            open_stages = OPPORTUNITY.c.stage.in_(m.OPEN_STAGES)
            conditions.append(open_stages if f.open else ~open_stages)
        if f.owner_id is not None:
            conditions.append(id_condition(OPPORTUNITY.c.owner_id, f.owner_id, "User"))
        if f.organization_id is not None:
            conditions.append(id_condition(OPPORTUNITY.c.organization_id, f.organization_id, "Organization"))
        if f.min_probability is not None:
            conditions.append(OPPORTUNITY.c.probability >= f.min_probability)
        if f.search:
            conditions.append(contains(OPPORTUNITY.c.title, f.search))
        if f.expected_close is not None:
            if f.expected_close.from_ is not None:
                conditions.append(OPPORTUNITY.c.expected_close_date >= f.expected_close.from_)
            if f.expected_close.to is not None:
                conditions.append(OPPORTUNITY.c.expected_close_date <= f.expected_close.to)
    return Filter(key=key, conditions=tuple(conditions))


@cached_filter
def campaign_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(CAMPAIGN.c.archived_at.is_(None))
    if f is not None:
        if f.status:
            conditions.append(CAMPAIGN.c.status.in_(f.status))
        if f.search:
            conditions.append(contains(CAMPAIGN.c.name, f.search))
    return Filter(key=key, conditions=tuple(conditions))


# -- opportunities ------------------------------------------------------------------------------

_OPPORTUNITY_FIELDS = (
    "title", "description", "stage", "expected_value", "currency", "probability", "expected_close_date",
    "competitors",
)


def _validate_opportunity(errors: ErrorCollector, data: dict[str, Any], *, creating: bool) -> None:
    check.text(errors, "title", data.get("title"), required=creating or "title" in data, max_length=200)
    check.text(errors, "description", data.get("description"), max_length=20000)
    check.currency(errors, "currency", data.get("currency"))
    if creating or "expected_value" in data:
        if data.get("expected_value") is None:
            errors.add("expectedValue", "Required.", ErrorCode.REQUIRED)
        check.amount(errors, "expectedValue", data.get("expected_value"))
    if creating or "probability" in data:
        if data.get("probability") is None:
            errors.add("probability", "Required: a percentage from 0 to 100.", ErrorCode.REQUIRED)
        check.int_range(errors, "probability", data.get("probability"), 0, 100)
    if (creating or "expected_close_date" in data) and data.get("expected_close_date") is None:
        errors.add("expectedCloseDate", "Required.", ErrorCode.REQUIRED)
    if data.get("stage") in m.CLOSED_STAGES:
        errors.add("stage", "Win or lose an opportunity with closeOpportunity.", ErrorCode.INVALID)
    competitors = data.get("competitors") or []
    if len(competitors) > MAX_COMPETITORS:
        errors.add("competitors", f"At most {MAX_COMPETITORS} competitors.", ErrorCode.OUT_OF_RANGE)
    for i, name in enumerate(competitors):
        check.text(errors, ("competitors", str(i)), name, required=True, max_length=200)


async def _owner(uow: UnitOfWork, errors: ErrorCollector, owner_id: str | None) -> pm.User | None:
    """The named internal user, or the caller's own user when none is named."""
    if owner_id is None:
        if uow.principal.user_id is None:
            errors.add("ownerId", "Name the user who owns the opportunity.", ErrorCode.REQUIRED)
            return None
        return await uow.find(pm.User, uow.principal.user_id)
    return await check.reference(uow, errors, "ownerId", owner_id, pm.User, "User", check=_may_own)


def _may_own(user: pm.User) -> str | None:
    if not user.active:
        return "This user is no longer active."
    if user.role not in _OWNER_ROLES:
        return "Opportunities are owned by sales reps (or admins)."
    return None


_OWNER_ROLES = (pm.UserRole.SALES, pm.UserRole.ADMIN)


async def create_opportunity(uow: UnitOfWork, data: dict[str, Any]) -> m.Opportunity:
    errors = ErrorCollector()
    org = await check.reference(uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization")
    owner = await _owner(uow, errors, data.get("owner_id"))
    _validate_opportunity(errors, data, creating=True)
    errors.raise_if_any()
    values = {k: data[k] for k in _OPPORTUNITY_FIELDS if data.get(k) is not None}
    return await uow.create(m.Opportunity(organization_id=org.id, owner_id=owner.id, **values))


# Cannot be cleared (the others are checked by _validate_opportunity).
_REQUIRED_ON_UPDATE = {"stage": "stage", "owner_id": "ownerId"}


def _refuse_if_closed(opportunity: m.Opportunity) -> None:
    if opportunity.stage in m.CLOSED_STAGES:
        raise UserInputError.one(
            "id", f"This opportunity was already closed as {opportunity.stage.name}.", ErrorCode.CONFLICT
        )
    if opportunity.archived_at is not None:
        raise UserInputError.one("id", "Archived opportunities cannot be changed.", ErrorCode.ARCHIVED)


async def update_opportunity(uow: UnitOfWork, opportunity: m.Opportunity, data: dict[str, Any]) -> m.Opportunity:
    _refuse_if_closed(opportunity)
    errors = ErrorCollector()
    for name, field in _REQUIRED_ON_UPDATE.items():
        if name in data and data[name] is None:
            errors.add(field, "Cannot be cleared.", ErrorCode.REQUIRED)
    values = {k: data[k] for k in _OPPORTUNITY_FIELDS if k in data}
    if "owner_id" in data:
        owner = await _owner(uow, errors, data["owner_id"]) if data["owner_id"] is not None else None
        if owner is not None:
            values["owner_id"] = owner.id
    _validate_opportunity(errors, data, creating=False)
    errors.raise_if_any()
    return await uow.update(opportunity, values)


async def close_opportunity(
    uow: UnitOfWork, opportunity: m.Opportunity, won: bool, reason: str | None
) -> m.Opportunity:
    """Won: probability 100. Lost: probability 0, and the reason is required (learn why)."""
    _refuse_if_closed(opportunity)
    errors = ErrorCollector()
    check.text(errors, "reason", reason, required=not won, max_length=20000)
    errors.raise_if_any()
    stage = m.OpportunityStage.WON if won else m.OpportunityStage.LOST
    return await uow.update(
        opportunity,
        {"stage": stage, "probability": 100 if won else 0, "closed_at": utcnow(), "close_reason": reason},
    )


# -- survey campaigns and responses ----------------------------------------------------------


async def create_campaign(uow: UnitOfWork, data: dict[str, Any]) -> m.SurveyCampaign:
    errors = ErrorCollector()
    check.text(errors, "name", data.get("name"), required=True, max_length=200)
    check.text(errors, "description", data.get("description"), max_length=20000)
    check.date_order(errors, "periodEnd", data.get("period_start"), data.get("period_end"))
    if data.get("status") is m.CampaignStatus.CLOSED:
        errors.add("status", "A new campaign is PLANNED or OPEN.", ErrorCode.INVALID)
    target_ids = data.get("target_customer_ids") or []
    if len(target_ids) > MAX_TARGETS:
        errors.add("targetCustomerIds", f"At most {MAX_TARGETS} customers.", ErrorCode.OUT_OF_RANGE)
        target_ids = []
    targets: dict[int, om.Organization] = {}
    for i, global_id in enumerate(target_ids):
        org = await check.reference(
            uow, errors, ("targetCustomerIds", str(i)), global_id, om.Organization, "Organization",
            check=lambda o: None if o.is_customer else "This organization is not a customer.",
        )
        if org is not None:
            targets[org.id] = org
    errors.raise_if_any()
    campaign = await uow.create(
        m.SurveyCampaign(
            name=data["name"],
            description=data.get("description"),
            period_start=data["period_start"],
            period_end=data["period_end"],
            target_tier=data.get("target_tier"),
            status=data.get("status") or m.CampaignStatus.PLANNED,
        )
    )
    for org_id in targets:
        await uow.create(m.SurveyCampaignTarget(campaign_id=campaign.id, organization_id=org_id))
    return campaign


async def set_campaign_status(
    uow: UnitOfWork, campaign: m.SurveyCampaign, status: m.CampaignStatus
) -> m.SurveyCampaign:
    """PLANNED → OPEN → CLOSED, forward only; a closed campaign stays closed."""
    if campaign.status is m.CampaignStatus.CLOSED:
        raise UserInputError.one("id", "This campaign is already closed.", ErrorCode.CONFLICT)
    if campaign.status is status:
        raise UserInputError.one("id", f"This campaign is already {status.name}.", ErrorCode.CONFLICT)
    return await uow.update(campaign, {"status": status})


async def _asks(uow: UnitOfWork, campaign: m.SurveyCampaign, org: om.Organization) -> bool:
    """Whether `campaign` asks `org`: listed by name, in its tier, or everyone when neither is set."""
    listed = select(TARGET.c.organization_id).where(TARGET.c.campaign_id == campaign.id, TARGET.c.archived_at.is_(None))
    names = set((await uow.session.execute(listed)).scalars())
    if not names and campaign.target_tier is None:
        return True
    return org.id in names or (campaign.target_tier is not None and org.tier is campaign.target_tier)


async def record_response(uow: UnitOfWork, data: dict[str, Any]) -> sm.ServiceRecord:
    errors = ErrorCollector()
    campaign = await check.reference(uow, errors, "campaignId", data.get("campaign_id"), m.SurveyCampaign, "SurveyCampaign")
    org = await check.reference(
        uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization",
        check=lambda o: None if o.is_customer else "Only customers answer satisfaction surveys.",
    )
    contact = await check.reference(uow, errors, "contactId", data.get("contact_id"), pm.Contact, "Contact", required=False)
    if contact is not None and org is not None and contact.organization_id != org.id:
        errors.add("contactId", "This contact belongs to another organization.", ErrorCode.INVALID)
    if data.get("score") is None:
        errors.add("score", "A survey response has a score.", ErrorCode.REQUIRED)
    check.int_range(errors, "score", data.get("score"), 0, 10)
    check.text(errors, "comments", data.get("comments"), max_length=20000)
    if campaign is not None and campaign.status is not m.CampaignStatus.OPEN:
        errors.add("campaignId", f"The campaign is {campaign.status.name}, not OPEN.", ErrorCode.INVALID)
    if campaign is not None and org is not None:
        if not await _asks(uow, campaign, org):
            errors.add("organizationId", "This campaign does not survey this customer.", ErrorCode.INVALID)
        answered = select(RESPONSE.c.id).where(
            RESPONSE.c.campaign_id == campaign.id,
            RESPONSE.c.organization_id == org.id,
            RESPONSE.c.archived_at.is_(None),
        )
        if (await uow.session.execute(answered.limit(1))).first() is not None:
            errors.add("organizationId", "This customer already answered this campaign.", ErrorCode.DUPLICATE)
    errors.raise_if_any()
    now = utcnow()
    return await uow.create(
        sm.ServiceRecord(
            kind=sm.ServiceRecordKind.SATISFACTION_SURVEY,
            organization_id=org.id,
            contact_id=contact.id if contact is not None else None,
            campaign_id=campaign.id,
            title=campaign.name,
            status=sm.ServiceStatus.CLOSED,
            opened_at=now,
            closed_at=now,
            score=data["score"],
            comments=data.get("comments"),
        )
    )
