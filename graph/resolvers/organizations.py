"""Organizations: filters, the relations around them, and their writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from graph.errors import ErrorCode, ErrorCollector
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as m
from graph.models.base import utcnow
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

ORG = m.Organization.__table__
COVERAGE = m.DistributorCoverage.__table__
ADDRESS = m.Address.__table__

SERVED_CUSTOMERS = Relation(
    "served_customers",
    m.Organization,
    COVERAGE.c.distributor_id,
    join=lambda s: s.join(COVERAGE, COVERAGE.c.customer_id == ORG.c.id),
    where=(COVERAGE.c.archived_at.is_(None),),
)
DISTRIBUTORS_OF_CUSTOMER = Relation(
    "distributors_of_customer",
    m.Organization,
    COVERAGE.c.customer_id,
    join=lambda s: s.join(COVERAGE, COVERAGE.c.distributor_id == ORG.c.id),
    where=(COVERAGE.c.archived_at.is_(None),),
)

_ROLE_COLUMNS = {
    m.OrganizationRole.CUSTOMER: ORG.c.is_customer,
    m.OrganizationRole.SUPPLIER: ORG.c.is_supplier,
    m.OrganizationRole.DISTRIBUTOR: ORG.c.is_distributor,
}


@cached_filter
def organization_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(ORG.c.archived_at.is_(None))
    if f is not None:
        if f.search:
            conditions.append(contains(ORG.c.name, f.search) | contains(func.coalesce(ORG.c.legal_name, ""), f.search))
        if f.roles:
            # Any of the roles; a company holding several matches each of them.
            from sqlalchemy import or_

            conditions.append(or_(*(_ROLE_COLUMNS[r].is_(True) for r in f.roles)))
        if f.status:
            conditions.append(ORG.c.status.in_(f.status))
        if f.regions:
            conditions.append(ORG.c.region.in_(f.regions))
        if f.tiers:
            conditions.append(ORG.c.tier.in_(f.tiers))
        if f.created is not None:
            if f.created.from_ is not None:
                conditions.append(ORG.c.created_at >= f.created.from_)
            if f.created.to is not None:
                conditions.append(ORG.c.created_at < f.created.to)
    return Filter(key=key, conditions=tuple(conditions))


async def current_owner_ids(reader, organization_ids) -> list[int | None]:  # noqa: ANN001
    from graph.models.people import AccountOwnership

    table = AccountOwnership.__table__
    stmt = reader.select(AccountOwnership).where(
        table.c.organization_id.in_(set(organization_ids)), table.c.ended_at.is_(None)
    )
    owners = {row.organization_id: row.user_id for row in await reader.rows(stmt)}
    return [owners.get(i) for i in organization_ids]


async def addresses_of(reader, organization_ids) -> list[list]:  # noqa: ANN001
    stmt = reader.select(m.Address).where(
        ADDRESS.c.organization_id.in_(set(organization_ids)), ADDRESS.c.archived_at.is_(None)
    ).order_by(ADDRESS.c.organization_id, ADDRESS.c.kind)
    grouped: dict[int, list] = {i: [] for i in organization_ids}
    for row in await reader.rows(stmt):
        grouped[row.organization_id].append(row)
    return [grouped[i] for i in organization_ids]


# -- writes ---------------------------------------------------------------------------

_FIELDS = (
    "name", "legal_name", "registration_number", "tax_id", "phone", "fax", "email", "website",
    "region", "status", "tier", "credit_limit", "credit_currency", "credit_standing", "internal_notes",
)


def _validate(errors: ErrorCollector, data: dict[str, Any], *, creating: bool) -> None:
    check.text(errors, "name", data.get("name"), required=creating or "name" in data, max_length=200)
    check.text(errors, "legalName", data.get("legal_name"), max_length=300)
    check.text(errors, "registrationNumber", data.get("registration_number"), max_length=64)
    check.text(errors, "taxId", data.get("tax_id"), max_length=64)
    check.text(errors, "phone", data.get("phone"), max_length=64)
    check.text(errors, "fax", data.get("fax"), max_length=64)
    check.email(errors, "email", data.get("email"))
    check.text(errors, "website", data.get("website"), max_length=300)
    check.text(errors, "region", data.get("region"), max_length=100)
    check.amount(errors, "creditLimit", data.get("credit_limit"))
    check.currency(errors, "creditCurrency", data.get("credit_currency"))
    if "roles" in data and not data["roles"]:
        errors.add("roles", "An organization holds at least one role.", ErrorCode.REQUIRED)
    addresses = data.get("addresses") or []
    seen = set()
    for i, address in enumerate(addresses):
        path = ("addresses", str(i))
        if address.kind in seen:
            errors.add((*path, "kind"), "Each kind of address at most once.", ErrorCode.DUPLICATE)
        seen.add(address.kind)
        check.text(errors, (*path, "line1"), address.line1, required=True)  # type: ignore[arg-type]
        if address.country is not None and (len(address.country) != 2 or not address.country.isalpha()):
            errors.add((*path, "country"), "A two-letter ISO 3166 country code.", ErrorCode.INVALID)


async def _unique_registration(uow: UnitOfWork, errors: ErrorCollector, number: str | None, own_id: int | None) -> None:
    if not number:
        return
    stmt = select(m.Organization.id).where(m.Organization.registration_number == number)
    found = (await uow.session.execute(stmt)).scalar()
    if found is not None and found != own_id:
        errors.add("registrationNumber", "Another organization has this registration number.", ErrorCode.DUPLICATE)


def _apply_roles(values: dict[str, Any], roles: list[m.OrganizationRole]) -> None:
    values["is_customer"] = m.OrganizationRole.CUSTOMER in roles
    values["is_supplier"] = m.OrganizationRole.SUPPLIER in roles
    values["is_distributor"] = m.OrganizationRole.DISTRIBUTOR in roles


async def _save_addresses(uow: UnitOfWork, org: m.Organization, addresses: list[Any]) -> None:
    existing = {
        a.kind: a
        for a in (await uow.session.execute(select(m.Address).where(m.Address.organization_id == org.id))).scalars()
    }
    for address in addresses:
        values = {
            "line1": address.line1,
            "line2": address.line2,
            "city": address.city,
            "province": address.province,
            "postal_code": address.postal_code,
            "country": address.country or "CN",
            "archived_at": None,
        }
        current = existing.get(address.kind)
        if current is None:
            await uow.create(m.Address(organization_id=org.id, kind=address.kind, **values))
        else:
            await uow.update(current, values)


async def create_organization(uow: UnitOfWork, data: dict[str, Any]) -> m.Organization:
    errors = ErrorCollector()
    _validate(errors, data, creating=True)
    if not data.get("roles"):
        errors.add("roles", "An organization holds at least one role.", ErrorCode.REQUIRED)
    await _unique_registration(uow, errors, data.get("registration_number"), None)
    errors.raise_if_any()
    values = {k: data[k] for k in _FIELDS if data.get(k) is not None}
    _apply_roles(values, data["roles"])
    org = await uow.create(m.Organization(**values))
    await _save_addresses(uow, org, data.get("addresses") or [])
    if org.tier is not None:
        await _record_tier(uow, org.id, None, org.tier, "Tier given when the organization was created.")
    return org


async def _record_tier(
    uow: UnitOfWork, org_id: int, before: m.CustomerTier | None, tier: m.CustomerTier, reason: str
) -> None:
    # Imported late: the CRM rules import the resolvers' helpers.
    from graph.crm.tiers import record_tier_change
    from graph.models.crm import TierChangeSource

    await record_tier_change(uow, org_id, before, tier, reason, TierChangeSource.MANUAL, utcnow())


async def update_organization(uow: UnitOfWork, org: m.Organization, data: dict[str, Any]) -> m.Organization:
    errors = ErrorCollector()
    _validate(errors, data, creating=False)
    if org.archived_at is not None:
        errors.add("id", "Archived organizations cannot be changed.", ErrorCode.ARCHIVED)
    if data.get("status") is m.OrganizationStatus.ARCHIVED:
        errors.add("status", "Use archiveOrganization to archive.", ErrorCode.INVALID)
    await _unique_registration(uow, errors, data.get("registration_number"), org.id)
    errors.raise_if_any()
    values = {k: data[k] for k in _FIELDS if k in data}
    if "roles" in data:
        _apply_roles(values, data["roles"])
    before = org.tier
    await uow.update(org, values)
    if org.tier is not None and org.tier is not before:
        # No reason field here: setCustomerTier is the way to give one.
        await _record_tier(uow, org.id, before, org.tier, "Set with updateOrganization (no reason given).")
    if data.get("addresses"):
        await _save_addresses(uow, org, data["addresses"])
    return org


async def archive_organization(uow: UnitOfWork, org: m.Organization) -> m.Organization:
    return await uow.archive(org, {"status": m.OrganizationStatus.ARCHIVED})


async def set_distributor_coverage(
    uow: UnitOfWork, distributor: m.Organization, customer: m.Organization, region: str | None, serves: bool
) -> m.DistributorCoverage | None:
    stmt = select(m.DistributorCoverage).where(
        m.DistributorCoverage.distributor_id == distributor.id, m.DistributorCoverage.customer_id == customer.id
    )
    link = (await uow.session.execute(stmt)).scalar_one_or_none()
    if serves:
        if link is None:
            return await uow.create(
                m.DistributorCoverage(
                    distributor_id=distributor.id, customer_id=customer.id, region=region, since=utcnow().date()
                )
            )
        return await uow.update(link, {"archived_at": None, "region": region})
    if link is not None and link.archived_at is None:
        await uow.archive(link)
    return link
