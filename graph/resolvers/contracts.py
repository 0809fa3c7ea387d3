"""Contracts: filters and writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from graph.errors import ErrorCode, ErrorCollector
from graph.loaders import Filter, Relation, cached_filter
from graph.models import contracts as m
from graph.models import organizations as om
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

CONTRACT = m.Contract.__table__
CONTRACTS_OF_ORGANIZATION = Relation("contracts_of_org", m.Contract, CONTRACT.c.organization_id)


@cached_filter
def contract_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(CONTRACT.c.archived_at.is_(None))
    if f is not None:
        if f.search:
            conditions.append(contains(CONTRACT.c.title, f.search) | contains(CONTRACT.c.number, f.search))
        if f.status:
            conditions.append(CONTRACT.c.status.in_(f.status))
        if f.kinds:
            conditions.append(CONTRACT.c.kind.in_(f.kinds))
        if f.valid_on is not None:
            conditions.append(CONTRACT.c.valid_from <= f.valid_on)
            conditions.append(or_(CONTRACT.c.valid_to.is_(None), CONTRACT.c.valid_to >= f.valid_on))
    return Filter(key=key, conditions=tuple(conditions))


_FIELDS = (
    "number", "title", "kind", "status", "valid_from", "valid_to", "value", "currency",
    "price_terms", "payment_terms", "service_terms",
)


async def _validate(uow: UnitOfWork, errors: ErrorCollector, data: dict[str, Any], contract: m.Contract | None) -> None:
    creating = contract is None
    check.text(errors, "number", data.get("number"), required=creating or "number" in data, max_length=64)
    check.text(errors, "title", data.get("title"), required=creating or "title" in data)
    if creating and data.get("kind") is None:
        errors.add("kind", "Required.", ErrorCode.REQUIRED)
    if creating and data.get("valid_from") is None:
        errors.add("validFrom", "Required.", ErrorCode.REQUIRED)
    check.amount(errors, "value", data.get("value"))
    check.currency(errors, "currency", data.get("currency"))
    for name, label in (("price_terms", "priceTerms"), ("payment_terms", "paymentTerms"), ("service_terms", "serviceTerms")):
        check.text(errors, label, data.get(name), max_length=10000)
    start = data.get("valid_from", contract.valid_from if contract else None)
    end = data.get("valid_to", contract.valid_to if contract else None)
    check.date_order(errors, "validTo", start, end)
    if data.get("number"):
        found = (await uow.session.execute(select(m.Contract.id).where(m.Contract.number == data["number"]))).scalar()
        if found is not None and (contract is None or found != contract.id):
            errors.add("number", "Another contract has this number.", ErrorCode.DUPLICATE)


async def create_contract(uow: UnitOfWork, data: dict[str, Any]) -> m.Contract:
    errors = ErrorCollector()
    await _validate(uow, errors, data, None)
    org = await check.reference(uow, errors, "organizationId", data.get("organization_id"), om.Organization, "Organization")
    errors.raise_if_any()
    values = {k: data[k] for k in _FIELDS if data.get(k) is not None}
    return await uow.create(m.Contract(organization_id=org.id, **values))


async def update_contract(uow: UnitOfWork, contract: m.Contract, data: dict[str, Any]) -> m.Contract:
    errors = ErrorCollector()
    await _validate(uow, errors, data, contract)
    if contract.archived_at is not None:
        errors.add("id", "Archived contracts cannot be changed.", ErrorCode.ARCHIVED)
    errors.raise_if_any()
    return await uow.update(contract, {k: data[k] for k in _FIELDS if k in data})


async def archive_contract(uow: UnitOfWork, contract: m.Contract) -> m.Contract:
    return await uow.archive(contract)
