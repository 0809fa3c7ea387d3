"""GraphQL types for order sync: the batch input, per-item results, and the mutation."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from graph.context import Info
from graph.errors import UserInputError
from graph.models import orders as m
from graph.resolvers import sync as r
from graph.types.common import allow, doc, input_values
from graph.types.orders import Order, OrderStatus, build_order
from graph.writes import transaction

SyncStatus = strawberry.enum(r.SyncStatus, description="What a sync did with one order.")
SyncErrorCode = strawberry.enum(r.SyncErrorCode, description="Why a synced order or a whole batch was refused.")


@strawberry.input(description="A line of a synced order; the item's lines replace the order's lines.")
class SyncOrderLineInput:
    line_number: int = doc("The line's number in the source system (>= 1, unique within the order).")
    quantity: Decimal = doc("Quantity (> 0, up to 3 decimals).")
    product_id: strawberry.ID | None = doc("The product (or give productSku).", default=None)
    product_sku: str | None = doc("The product's sku (when productId is not given).", default=None)
    unit_price: Decimal | None = doc("Price per unit (default: the product's list price).", default=None)
    supplier_id: strawberry.ID | None = doc("The supplier to fulfil it.", default=None)


@strawberry.input(description="One order as the source system holds it.")
class SyncOrderInput:
    external_reference: str = doc("The order's key in the source system (unique per source organization).")
    source_version: int = doc(
        "The source system's version or modification counter: a lower one than we hold is STALE, "
        "an equal one must carry identical content."
    )
    customer_id: strawberry.ID = doc("The customer placing it.")
    lines: list[SyncOrderLineInput] = doc("The order's lines (at least one, at most 500).")
    distributor_id: strawberry.ID | None = doc(
        "The distributor delivering it (a distributor's own organization when it syncs).", default=None
    )
    status: OrderStatus | None = doc(
        "Status (new orders: default DRAFT; existing: only legal transitions, default unchanged).", default=None
    )
    requested_date: date | None = doc("Requested delivery date.", default=None)
    promised_date: date | None = doc("Promised delivery date.", default=None)
    currency: str | None = doc("Currency (default CNY).", default=None)
    notes: str | None = doc("Notes.", default=None)


@strawberry.input(description=f"A batch of synced orders (at most {r.MAX_SYNC_ITEMS}).")
class SyncOrdersInput:
    orders: list[SyncOrderInput] = doc(f"The orders, at most {r.MAX_SYNC_ITEMS}; more refuses the batch.")
    idempotency_key: str | None = doc(
        "Makes a retry safe: the same key and payload within 24 h return the stored result "
        "without applying anything; the same key with another payload is refused.",
        default=None,
    )
    source_organization_id: strawberry.ID | None = doc(
        "The partner system the orders come from (internal callers only; partners sync as their own organization).",
        default=None,
    )


@strawberry.type(description="One problem with a synced order (field path inside the item) or with the batch.")
class SyncError:
    field: list[str] = doc('Path to the offending input field, e.g. ["lines", "2", "quantity"].')
    message: str = doc("What is wrong.")
    code: SyncErrorCode = doc("Machine-readable reason.")


@strawberry.type(description="What happened to one item of a batch.")
class SyncOrderResult:
    index: int = doc("The item's position in the batch, from 0.")
    external_reference: str | None = doc("The item's external reference.")
    status: SyncStatus = doc("CREATED, UPDATED, UNCHANGED, STALE or REJECTED.")
    errors: list[SyncError] = doc("Why the item was rejected; empty otherwise.")
    order_id: strawberry.Private[int | None]

    @strawberry.field(description="The order (as it is now), unless the item was rejected before matching one.")
    async def order(self, info: Info) -> Order | None:
        if self.order_id is None:
            return None
        row = await info.context.loaders.by_id(m.Order).load(self.order_id)
        return None if row is None else build_order(row)


@strawberry.type(description="The result of a sync batch.")
class SyncOrdersPayload:
    results: list[SyncOrderResult] = doc("One result per item, in input order.")
    errors: list[SyncError] = doc("Why the whole batch was refused (nothing applied); empty otherwise.")
    replayed: bool = doc("Whether this is the stored result of an earlier request with the same idempotency key.")


_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(SyncOrderLineInput))


def _line_values(line: SyncOrderLineInput) -> dict[str, Any]:
    """`input_values` of a line in one pass (a batch converts thousands)."""
    return {name: value for name in _LINE_FIELDS if (value := getattr(line, name)) is not strawberry.UNSET}


def _error(e: r.SyncError) -> SyncError:
    return SyncError(field=e.field, message=e.message, code=e.code)


def _payload(outcome: r.SyncOutcome) -> SyncOrdersPayload:
    return SyncOrdersPayload(
        results=[
            SyncOrderResult(
                index=x.index, external_reference=x.external_reference, status=x.status,
                errors=[_error(e) for e in x.errors], order_id=x.order_id,
            )
            for x in outcome.results
        ],
        errors=[_error(e) for e in outcome.errors],
        replayed=outcome.replayed,
    )


@strawberry.type
class SyncMutations:
    @strawberry.mutation(
        description=(
            f"Create or update up to {r.MAX_SYNC_ITEMS} orders from a partner system, keyed by their external "
            "reference and versioned by sourceVersion. Each item is applied whole or not at all and reported as "
            "CREATED, UPDATED, UNCHANGED, STALE or REJECTED; one bad item does not stop the others."
        ),
        permission_classes=[allow("sync")],
    )
    async def sync_orders(self, info: Info, input: SyncOrdersInput) -> SyncOrdersPayload:
        if len(input.orders) > r.MAX_SYNC_ITEMS:
            error = r.SyncError(
                ["orders"], f"At most {r.MAX_SYNC_ITEMS} orders per batch; got {len(input.orders)}.",
                r.SyncErrorCode.TOO_MANY_ITEMS,
            )
            return _payload(r.SyncOutcome(errors=[error]))
        data = input_values(input)
        data["orders"] = [
            {**input_values(item), "lines": [_line_values(line) for line in item.lines]} for item in input.orders
        ]
        context = info.context
        request_id = context.statements.request_id if context.statements is not None else None
        try:
            async with transaction(context.session_factory, context.principal, info.field_name, request_id) as uow:
                outcome = await r.sync_orders(uow, data, context.settings.idempotency_ttl_hours)
        except r.SyncBatchError as exc:
            return _payload(r.SyncOutcome(errors=[exc.error]))
        except UserInputError:
            # A unique constraint met at commit: a race the locks did not foresee. Nothing was
            # applied; the same batch with the same idempotency key is safe to send again.
            conflict = r.SyncError(
                [], "The batch met a concurrent change and was not applied; retry it unchanged.",
                r.SyncErrorCode.CONFLICT,
            )
            return _payload(r.SyncOutcome(errors=[conflict]))
        return _payload(outcome)
