"""Products and supplier offers: filters, relations and writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from graph.errors import ErrorCode, ErrorCollector
from graph.ids import id_condition
from graph.loaders import Filter, Relation, cached_filter
from graph.models import organizations as om
from graph.models import products as m
from graph.pagination import contains
from graph.resolvers import validation as check
from graph.writes import UnitOfWork

PRODUCT = m.Product.__table__
SUPPLY = m.SupplierProduct.__table__

SUPPLIES_OF_PRODUCT = Relation(
    "supplies_of_product", m.SupplierProduct, SUPPLY.c.product_id, where=(SUPPLY.c.archived_at.is_(None),)
)
SUPPLIES_OF_SUPPLIER = Relation(
    "supplies_of_supplier", m.SupplierProduct, SUPPLY.c.supplier_id, where=(SUPPLY.c.archived_at.is_(None),)
)


@cached_filter
def product_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is None or not f.include_archived:
        conditions.append(PRODUCT.c.archived_at.is_(None))
    if f is not None:
        if f.search:
            conditions.append(contains(PRODUCT.c.name, f.search) | contains(PRODUCT.c.sku, f.search))
        if f.status:
            conditions.append(PRODUCT.c.status.in_(f.status))
        if f.supplier_id is not None:
            offered = select(SUPPLY.c.product_id).where(
                id_condition(SUPPLY.c.supplier_id, f.supplier_id, "Organization"), SUPPLY.c.archived_at.is_(None)
            )
            conditions.append(PRODUCT.c.id.in_(offered))
        if f.list_price is not None:
            if f.list_price.min is not None:
                conditions.append(PRODUCT.c.list_price >= f.list_price.min)
            if f.list_price.max is not None:
                conditions.append(PRODUCT.c.list_price <= f.list_price.max)
    return Filter(key=key, conditions=tuple(conditions))


_FIELDS = ("sku", "name", "description", "unit", "list_price", "cost", "currency", "status")


async def _validate(uow: UnitOfWork, errors: ErrorCollector, data: dict[str, Any], product: m.Product | None) -> None:
    creating = product is None
    check.text(errors, "sku", data.get("sku"), required=creating or "sku" in data, max_length=64)
    check.text(errors, "name", data.get("name"), required=creating or "name" in data)
    # An omitted unit takes the default (pcs) on create; a given one may not be blank or cleared.
    unit_given = data.get("unit") is not None or (not creating and "unit" in data)
    check.text(errors, "unit", data.get("unit"), required=unit_given, max_length=20)
    check.text(errors, "description", data.get("description"), max_length=10000)
    if creating and data.get("list_price") is None:
        errors.add("listPrice", "Required.", ErrorCode.REQUIRED)
    check.amount(errors, "listPrice", data.get("list_price"))
    check.amount(errors, "cost", data.get("cost"))
    check.currency(errors, "currency", data.get("currency"))
    if data.get("sku"):
        found = (await uow.session.execute(select(m.Product.id).where(m.Product.sku == data["sku"]))).scalar()
        if found is not None and (product is None or found != product.id):
            errors.add("sku", "Another product has this SKU.", ErrorCode.DUPLICATE)


async def create_product(uow: UnitOfWork, data: dict[str, Any]) -> m.Product:
    errors = ErrorCollector()
    await _validate(uow, errors, data, None)
    errors.raise_if_any()
    return await uow.create(m.Product(**{k: data[k] for k in _FIELDS if data.get(k) is not None}))


async def update_product(uow: UnitOfWork, product: m.Product, data: dict[str, Any]) -> m.Product:
    errors = ErrorCollector()
    await _validate(uow, errors, data, product)
    if product.archived_at is not None:
        errors.add("id", "Archived products cannot be changed.", ErrorCode.ARCHIVED)
    errors.raise_if_any()
    return await uow.update(product, {k: data[k] for k in _FIELDS if k in data})


async def archive_product(uow: UnitOfWork, product: m.Product) -> m.Product:
    return await uow.archive(product, {"status": m.ProductStatus.DISCONTINUED})


def _is_supplier(org: om.Organization) -> str | None:
    return None if org.is_supplier else "This organization does not hold the supplier role."


async def set_supplier_product(uow: UnitOfWork, data: dict[str, Any]) -> m.SupplierProduct:
    """Create or change a supplier's offer of a product (one offer per pair)."""
    errors = ErrorCollector()
    supplier = await check.reference(
        uow, errors, "supplierId", data.get("supplier_id"), om.Organization, "Organization", check=_is_supplier
    )
    product = await check.reference(uow, errors, "productId", data.get("product_id"), m.Product, "Product")
    check.amount(errors, "price", data.get("price"), positive=True)
    check.currency(errors, "currency", data.get("currency"))
    check.int_range(errors, "leadTimeDays", data.get("lead_time_days"), 0, 3650)
    check.text(errors, "supplierSku", data.get("supplier_sku"), max_length=64)
    if data.get("price") is None:
        errors.add("price", "Required.", ErrorCode.REQUIRED)
    if data.get("lead_time_days") is None:
        errors.add("leadTimeDays", "Required.", ErrorCode.REQUIRED)
    errors.raise_if_any()
    values = {
        "price": data["price"],
        "lead_time_days": data["lead_time_days"],
        "currency": data.get("currency") or product.currency,
        "supplier_sku": data.get("supplier_sku"),
        "is_preferred": bool(data.get("is_preferred")),
    }
    stmt = select(m.SupplierProduct).where(
        m.SupplierProduct.supplier_id == supplier.id, m.SupplierProduct.product_id == product.id
    )
    offer = (await uow.session.execute(stmt)).scalar_one_or_none()
    if offer is None:
        return await uow.create(m.SupplierProduct(supplier_id=supplier.id, product_id=product.id, **values))
    return await uow.update(offer, {**values, "archived_at": None})


async def archive_supplier_product(uow: UnitOfWork, offer: m.SupplierProduct) -> m.SupplierProduct:
    return await uow.archive(offer)
