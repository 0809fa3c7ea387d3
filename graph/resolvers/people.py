"""Contacts, internal users and account ownership: filters, relations, writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from graph.errors import ErrorCode, ErrorCollector, UserInputError
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as om
from graph.models import people as m
from graph.models.base import utcnow
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

CONTACT = m.Contact.__table__
USER = m.User.__table__
OWNERSHIP = m.AccountOwnership.__table__
ORG = om.Organization.__table__

CONTACTS_OF_ORGANIZATION = Relation("contacts_of_org", m.Contact, CONTACT.c.organization_id)
OWNERSHIP_OF_ORGANIZATION = Relation("ownership_of_org", m.AccountOwnership, OWNERSHIP.c.organization_id)
ACCOUNTS_OF_USER = Relation(
    "accounts_of_user",
    om.Organization,
    OWNERSHIP.c.user_id,
    join=lambda s: s.join(OWNERSHIP, OWNERSHIP.c.organization_id == ORG.c.id),
    where=(OWNERSHIP.c.ended_at.is_(None),),
)


@cached_filter
def contact_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(CONTACT.c.archived_at.is_(None))
    if f is not None:
        if f.search:
            conditions.append(contains(CONTACT.c.name, f.search) | contains(CONTACT.c.email, f.search))
        if f.is_primary is not None:
            conditions.append(CONTACT.c.is_primary.is_(f.is_primary))
    return Filter(key=key, conditions=tuple(conditions))


@cached_filter
def user_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(USER.c.archived_at.is_(None))
    if f is not None:
        if f.search:
            conditions.append(contains(USER.c.name, f.search) | contains(USER.c.email, f.search))
        if f.roles:
            conditions.append(USER.c.role.in_(f.roles))
        if f.active is not None:
            conditions.append(USER.c.active.is_(f.active))
    return Filter(key=key, conditions=tuple(conditions))


# -- contacts -------------------------------------------------------------------------


def _validate_contact(errors: ErrorCollector, data: dict[str, Any], creating: bool) -> None:
    check.text(errors, "name", data.get("name"), required=creating or "name" in data, max_length=200)
    check.text(errors, "title", data.get("title"), max_length=100)
    check.email(errors, "email", data.get("email"))
    check.text(errors, "phone", data.get("phone"), max_length=64)
    check.text(errors, "notes", data.get("notes"), max_length=5000)


async def _demote_primary(uow: UnitOfWork, organization_id: int, keep: int | None = None) -> None:
    """One primary contact per organization (a unique index holds it): making one primary
    demotes the current one first."""
    stmt = select(m.Contact).where(m.Contact.organization_id == organization_id, m.Contact.is_primary.is_(True))
    for current in (await uow.session.execute(stmt)).scalars().all():
        if current.id != keep:
            await uow.update(current, {"is_primary": False})  # recorded like any change


_CONTACT_FIELDS = ("name", "title", "email", "phone", "is_primary", "notes")


async def create_contact(uow: UnitOfWork, data: dict[str, Any]) -> m.Contact:
    errors = ErrorCollector()
    _validate_contact(errors, data, True)
    org = await check.reference(uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization")
    errors.raise_if_any()
    if data.get("is_primary"):
        await _demote_primary(uow, org.id)
    return await uow.create(
        m.Contact(organization_id=org.id, **{k: data[k] for k in _CONTACT_FIELDS if data.get(k) is not None})
    )


async def update_contact(uow: UnitOfWork, contact: m.Contact, data: dict[str, Any]) -> m.Contact:
    errors = ErrorCollector()
    _validate_contact(errors, data, False)
    if contact.archived_at is not None:
        errors.add("id", "Archived contacts cannot be changed.", ErrorCode.ARCHIVED)
    errors.raise_if_any()
    if data.get("is_primary"):
        await _demote_primary(uow, contact.organization_id, keep=contact.id)
    return await uow.update(contact, {k: data[k] for k in _CONTACT_FIELDS if k in data})


async def archive_contact(uow: UnitOfWork, contact: m.Contact) -> m.Contact:
    return await uow.archive(contact, {"is_primary": False})


# -- users ----------------------------------------------------------------------------

_USER_FIELDS = ("name", "email", "role", "region", "active")


async def _validate_user(uow: UnitOfWork, errors: ErrorCollector, data: dict[str, Any], own_id: int | None) -> None:
    creating = own_id is None
    check.text(errors, "name", data.get("name"), required=creating or "name" in data, max_length=200)
    if creating and not data.get("email"):
        errors.add("email", "Required.", ErrorCode.REQUIRED)
    check.email(errors, "email", data.get("email"))
    check.text(errors, "region", data.get("region"), max_length=100)
    if data.get("email"):
        found = (await uow.session.execute(select(m.User.id).where(m.User.email == data["email"]))).scalar()
        if found is not None and found != own_id:
            errors.add("email", "Another user has this email.", ErrorCode.DUPLICATE)


async def create_user(uow: UnitOfWork, data: dict[str, Any]) -> m.User:
    errors = ErrorCollector()
    await _validate_user(uow, errors, data, None)
    errors.raise_if_any()
    return await uow.create(m.User(**{k: data[k] for k in _USER_FIELDS if data.get(k) is not None}))


async def update_user(uow: UnitOfWork, user: m.User, data: dict[str, Any]) -> m.User:
    errors = ErrorCollector()
    await _validate_user(uow, errors, data, user.id)
    if user.archived_at is not None:
        errors.add("id", "Archived users cannot be changed.", ErrorCode.ARCHIVED)
    errors.raise_if_any()
    return await uow.update(user, {k: data[k] for k in _USER_FIELDS if k in data})


async def archive_user(uow: UnitOfWork, user: m.User) -> m.User:
    return await uow.archive(user, {"active": False})


# -- account ownership ----------------------------------------------------------------


async def assign_account_owner(uow: UnitOfWork, data: dict[str, Any]) -> m.AccountOwnership:
    """Hand an account to a rep: close the current assignment, open a new one (history kept)."""
    errors = ErrorCollector()
    org = await check.reference(
        uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization",
        check=lambda o: None if o.is_customer else "Only customer accounts have an owner.",
    )
    user = await check.reference(
        uow, errors, "userId", data.get("user_id"), m.User, "User",
        check=lambda u: None if u.active else "This user is not active.",
    )
    check.text(errors, "reason", data.get("reason"), max_length=500)
    errors.raise_if_any()
    now = utcnow()
    current = (
        await uow.session.execute(
            select(m.AccountOwnership)
            .where(m.AccountOwnership.organization_id == org.id, m.AccountOwnership.ended_at.is_(None))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if current is not None:
        if current.user_id == user.id:
            raise UserInputError.one("userId", "This user already owns the account.", ErrorCode.CONFLICT)
        await uow.update(current, {"ended_at": now})
    return await uow.create(
        m.AccountOwnership(organization_id=org.id, user_id=user.id, started_at=now, reason=data.get("reason"))
    )
