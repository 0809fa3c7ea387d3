"""Interactions (calls, emails, faxes, messages, meetings): filters, relations, writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from graph.errors import ErrorCode, ErrorCollector
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as om
from graph.models import people as pm
from graph.models.base import utcnow
from graph.models.interactions import Interaction
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

INTERACTION = Interaction.__table__
INTERACTIONS_OF_ORGANIZATION = Relation("interactions_of_org", Interaction, INTERACTION.c.organization_id)
INTERACTIONS_OF_CONTACT = Relation("interactions_of_contact", Interaction, INTERACTION.c.contact_id)


@cached_filter
def interaction_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(INTERACTION.c.archived_at.is_(None))
    if f is not None:
        if f.channels:
            conditions.append(INTERACTION.c.channel.in_(f.channels))
        if f.direction is not None:
            conditions.append(INTERACTION.c.direction == f.direction)
        if f.search:
            conditions.append(contains(INTERACTION.c.summary, f.search))
        if f.organization_id is not None:
            conditions.append(id_condition(INTERACTION.c.organization_id, f.organization_id, "Organization"))
        if f.user_id is not None:
            conditions.append(id_condition(INTERACTION.c.user_id, f.user_id, "User"))
        if f.occurred is not None:
            if f.occurred.from_ is not None:
                conditions.append(INTERACTION.c.occurred_at >= f.occurred.from_)
            if f.occurred.to is not None:
                conditions.append(INTERACTION.c.occurred_at < f.occurred.to)
    return Filter(key=key, conditions=tuple(conditions))


async def _validate(
    uow: UnitOfWork, errors: ErrorCollector, data: dict[str, Any], org_id: int | None, *, creating: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    check.text(errors, "summary", data.get("summary"), required=creating or "summary" in data, max_length=20000)
    occurred = data.get("occurred_at")
    if occurred is not None and occurred > utcnow() + timedelta(minutes=5):
        errors.add("occurredAt", "An interaction is logged after it happened, not before.", ErrorCode.OUT_OF_RANGE)
    if "contact_id" in data:
        contact = await check.reference(uow, errors, "contactId", data["contact_id"], pm.Contact, "Contact", required=False)
        if contact is not None and org_id is not None and contact.organization_id != org_id:
            errors.add("contactId", "This contact belongs to another organization.", ErrorCode.INVALID)
        values["contact_id"] = contact.id if contact else None
    if "user_id" in data:
        user = await check.reference(uow, errors, "userId", data["user_id"], pm.User, "User", required=False)
        values["user_id"] = user.id if user else None
    for name in ("channel", "direction", "summary", "occurred_at"):
        if data.get(name) is not None:
            values[name] = data[name]
    return values


async def log_interaction(uow: UnitOfWork, data: dict[str, Any]) -> Interaction:
    errors = ErrorCollector()
    org = await check.reference(uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization")
    values = await _validate(uow, errors, data, org.id if org else None, creating=True)
    for name, label in (("channel", "channel"), ("direction", "direction")):
        if data.get(name) is None:
            errors.add(label, "Required.", ErrorCode.REQUIRED)
    errors.raise_if_any()
    values.setdefault("occurred_at", utcnow())
    return await uow.create(Interaction(organization_id=org.id, **values))


async def update_interaction(uow: UnitOfWork, interaction: Interaction, data: dict[str, Any]) -> Interaction:
    errors = ErrorCollector()
    if interaction.archived_at is not None:
        errors.add("id", "Archived interactions cannot be changed.", ErrorCode.ARCHIVED)
    values = await _validate(uow, errors, data, interaction.organization_id, creating=False)
    errors.raise_if_any()
    return await uow.update(interaction, values)


async def archive_interaction(uow: UnitOfWork, interaction: Interaction) -> Interaction:
    return await uow.archive(interaction)
