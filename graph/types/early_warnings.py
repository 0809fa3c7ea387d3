"""GraphQL types for early warnings: the node, its filter, the top-level list and the
mutations that walk its state machine (graph/resolvers/early_warnings.py).

Internal only: partners never see a warning (no row is visible to them), and a sales rep
sees those of the customers it owns (graph/access.py)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.models import early_warnings as m
from graph.models import orders as om
from graph.models import organizations as orgm
from graph.models import people as pm
from graph.models import products as prm
from graph.resolvers import early_warnings as r
from graph.types.common import (
    After,
    Before,
    Connection,
    DateTimeRange,
    ExpectedVersion,
    First,
    Last,
    SortDirection,
    UserError,
    allow,
    doc,
    freeze,
    list_connection,
    load_one,
    nested_connection,
    payload_runner,
    row_builder,
    updating_version,
)
from graph.types.organizations import CustomerTier
from graph.types.refs import OrderRef, OrganizationRef, ProductRef, ShipmentRef, UserRef

WarningKind = strawberry.enum(m.WarningKind, description="What an early warning is about.")
WarningLevel = strawberry.enum(m.WarningLevel, description="How grave a warning is: yellow, orange, red.")
WarningStatus = strawberry.enum(
    m.WarningStatus,
    description="Where a warning stands: OPEN → ACKNOWLEDGED → RESOLVING → VERIFIED (a resolution check "
    "found it resolved) → CLOSED.",
)
WarningTrend = strawberry.enum(m.WarningTrend, description="Where the warning's measure is heading.")
CheckOutcome = strawberry.enum(m.CheckOutcome, description="What a resolution check found.")


@strawberry.enum(description="Which part an organization plays in the warnings listed under it.")
class WarningParty(enum.Enum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"


@strawberry.type(
    description="The check that a warning's cause was resolved: who verified it, when, and the outcome."
)
class ResolutionCheck:
    outcome: CheckOutcome = doc("Resolved, or not resolved.")
    checked_at: datetime = doc("When the check was recorded.")
    checked_by: str = doc("The user or API key that recorded it.")
    notes: str | None = doc("What was checked.")
    condition_held: bool = doc(
        "Whether the warning's rule still found its condition when the check was recorded."
    )
    checked_by_user_id: strawberry.Private[int | None]

    @strawberry.field(description="The internal user who recorded it, when known.")
    async def checked_by_user(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, pm.User, self.checked_by_user_id, build_user)


@strawberry.type(
    description="An early warning about a customer relationship, raised and escalated by a rule "
    '(see README "Early warnings"). Internal only.'
)
class EarlyWarning(relay.Node):
    id: relay.NodeID[int]
    kind: WarningKind = doc("Order fulfilment, product quality, logistics or complaints.")
    level: WarningLevel = doc("Yellow, orange or red; rises as the measure worsens, never falls by itself.")
    status: WarningStatus = doc("Where it stands in its handling.")
    rule: str = doc("The rule that raised it, e.g. order_overdue.")
    description: str = doc("The risk, in words.")
    cause: str = doc("Why the rule raised it.")
    measure: int = doc("The rule's measure now (days overdue or late, objections, complaints).")
    previous_measure: int = doc("The same measure a week earlier (warning_trend_days).")
    trend: WarningTrend = doc("Rising, steady or falling: the measure against a week earlier.")
    tier_at_raise: CustomerTier | None = doc("The customer's tier when the warning was raised.")
    raised_at: datetime = doc("When it was raised (the instant the rules were evaluated at).")
    escalated_at: datetime | None = doc("When its level last rose.")
    evaluated_at: datetime = doc("When an evaluation last changed it.")
    condition_holds: bool = doc("Whether its rule found the condition at the last evaluation.")
    condition_cleared_at: datetime | None = doc("When the rule stopped finding the condition.")
    acknowledged_at: datetime | None = doc("When it was acknowledged.")
    acknowledged_by: str | None = doc("Who acknowledged it.")
    closed_at: datetime | None = doc("When it was closed.")
    closed_by: str | None = doc("Who closed it.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    version: int = doc("Incremented on every change.")
    customer_id: strawberry.Private[int]
    order_id: strawberry.Private[int | None]
    shipment_id: strawberry.Private[int | None]
    product_id: strawberry.Private[int | None]
    supplier_id: strawberry.Private[int | None]
    assignee_id: strawberry.Private[int | None]
    check_outcome: strawberry.Private[m.CheckOutcome | None]
    checked_at: strawberry.Private[datetime | None]
    checked_by: strawberry.Private[str | None]
    checked_by_user_id: strawberry.Private[int | None]
    check_notes: strawberry.Private[str | None]
    check_condition_held: strawberry.Private[bool | None]

    @strawberry.field(description="The customer concerned.")
    async def customer(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, orgm.Organization, self.customer_id, build_organization)

    @strawberry.field(
        description="The customer's tier now (it may have changed since the warning was raised)."
    )
    async def current_tier(self, info: Info) -> CustomerTier | None:
        row = await info.context.loaders.by_id(orgm.Organization).load(self.customer_id)
        return None if row is None else row.tier

    @strawberry.field(description="The order concerned (order fulfilment, logistics).")
    async def order(self, info: Info) -> OrderRef | None:
        from graph.types.orders import build_order

        return await load_one(info, om.Order, self.order_id, build_order)

    @strawberry.field(description="The shipment concerned (logistics).")
    async def shipment(self, info: Info) -> ShipmentRef | None:
        from graph.types.orders import build_shipment

        return await load_one(info, om.Shipment, self.shipment_id, build_shipment)

    @strawberry.field(description="The product concerned (product quality).")
    async def product(self, info: Info) -> ProductRef | None:
        from graph.types.products import build_product

        return await load_one(info, prm.Product, self.product_id, build_product)

    @strawberry.field(
        description="The supplier concerned (product quality: who supplied the objected lines)."
    )
    async def supplier(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, orgm.Organization, self.supplier_id, build_organization)

    @strawberry.field(description="Who is resolving it.")
    async def assignee(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, pm.User, self.assignee_id, build_user)

    @strawberry.field(
        description="The latest resolution check; a warning closes only after one found it resolved."
    )
    def resolution_check(self) -> ResolutionCheck | None:
        if self.check_outcome is None or self.checked_at is None:
            return None
        return ResolutionCheck(
            outcome=self.check_outcome,
            checked_at=self.checked_at,
            checked_by=self.checked_by or "",
            notes=self.check_notes,
            condition_held=bool(self.check_condition_held),
            checked_by_user_id=self.checked_by_user_id,
        )


build_warning = row_builder(EarlyWarning)


@strawberry.input(description="Conditions on early warnings; all given conditions must hold.")
class WarningFilter:
    kinds: list[WarningKind] | None = doc("Any of these kinds.", default=None)
    levels: list[WarningLevel] | None = doc("Any of these levels.", default=None)
    statuses: list[WarningStatus] | None = doc("Any of these statuses.", default=None)
    open: bool | None = doc("Only warnings not yet closed (true) or only closed ones (false).", default=None)
    customer_id: strawberry.ID | None = doc("About this customer.", default=None)
    supplier_id: strawberry.ID | None = doc("Naming this supplier.", default=None)
    order_id: strawberry.ID | None = doc("About this order.", default=None)
    product_id: strawberry.ID | None = doc("About this product.", default=None)
    assignee_id: strawberry.ID | None = doc("Assigned to this user.", default=None)
    raised: DateTimeRange | None = doc("Raised in this range.", default=None)
    include_archived: bool = doc("Include archived warnings.", default=False)


WarningFilterArg = Annotated[WarningFilter | None, strawberry.argument(description="Which warnings.")]


async def warnings_connection(
    info: Info,
    relation,
    parent_id: int,
    filter: WarningFilter | None,
    first: int | None,
    after: str | None,  # noqa: ANN001
) -> Connection[EarlyWarning]:
    """The warnings under a customer, supplier, order or product, newest first (batched)."""
    return await nested_connection(
        info,
        relation,
        parent_id,
        build_warning,
        r.warning_filter(filter, freeze(filter)),
        "raised_at",
        SortDirection.DESC,
        first,
        after,
        None,
        None,
    )


@strawberry.type(description="The result of an early-warning mutation.")
class WarningPayload:
    warning: EarlyWarning | None = doc("The warning, when the mutation succeeded.")
    errors: list[UserError] = doc(
        "Why nothing changed; empty on success (e.g. an illegal status transition)."
    )


_warning = payload_runner(WarningPayload, "warning", build_warning)


@strawberry.type
class EarlyWarningQueries:
    @strawberry.field(
        description="Early warnings, newest first. Internal only; sales reps see their own customers'."
    )
    async def warnings(
        self,
        info: Info,
        filter: WarningFilterArg = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[EarlyWarning]:
        return await list_connection(
            info,
            m.EarlyWarning,
            build_warning,
            r.warning_filter(filter, freeze(filter)),
            "raised_at",
            SortDirection.DESC,
            first,
            after,
            last,
            before,
        )


@strawberry.type
class EarlyWarningMutations:
    @strawberry.mutation(description="Acknowledge an OPEN warning.", permission_classes=[allow("warnings")])
    async def acknowledge_warning(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> WarningPayload:
        return await _warning(
            info, updating_version(m.EarlyWarning, "EarlyWarning", r.acknowledge, id, expected_version)
        )

    @strawberry.mutation(
        description="Assign a warning to a user; an OPEN or ACKNOWLEDGED warning moves to RESOLVING.",
        permission_classes=[allow("warnings")],
    )
    async def assign_warning(
        self,
        info: Info,
        id: strawberry.ID,
        assignee_id: Annotated[
            strawberry.ID, strawberry.argument(description="The user who will resolve it.")
        ],
        expected_version: ExpectedVersion = None,
    ) -> WarningPayload:
        return await _warning(
            info,
            updating_version(m.EarlyWarning, "EarlyWarning", r.assign, id, expected_version, assignee_id),
        )

    @strawberry.mutation(
        description="Record a check of the warning's resolution. RESOLVED re-evaluates its rule and is refused "
        "(CONFLICT) while the condition still holds; it moves the warning to VERIFIED, NOT_RESOLVED to RESOLVING.",
        permission_classes=[allow("warnings")],
    )
    async def record_warning_resolution_check(
        self,
        info: Info,
        id: strawberry.ID,
        outcome: Annotated[CheckOutcome, strawberry.argument(description="What the check found.")],
        notes: Annotated[str | None, strawberry.argument(description="What was checked, and how.")] = None,
        expected_version: ExpectedVersion = None,
    ) -> WarningPayload:
        return await _warning(
            info,
            updating_version(
                m.EarlyWarning,
                "EarlyWarning",
                r.record_resolution_check,
                id,
                expected_version,
                outcome,
                notes,
            ),
        )

    @strawberry.mutation(
        description="Close a VERIFIED warning. Its rule is re-evaluated: a condition that holds again is refused.",
        permission_classes=[allow("warnings")],
    )
    async def close_warning(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> WarningPayload:
        return await _warning(
            info, updating_version(m.EarlyWarning, "EarlyWarning", r.close, id, expected_version)
        )
