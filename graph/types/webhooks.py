"""GraphQL types for webhooks: admins register partners' endpoints (the signing secret is
shown once), change, archive and list them, and inspect or redeliver deliveries.
Delivery itself is graph/webhooks.py."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from graph import webhooks
from graph.context import Info
from graph.errors import ErrorCode, FieldError, UserInputError
from graph.ids import decode_global_id
from graph.loaders import NO_FILTER, Filter
from graph.models import organizations as om
from graph.models import sync as m
from graph.models.base import utcnow
from graph.types.common import (
    After,
    Before,
    Connection,
    First,
    Last,
    SortDirection,
    UserError,
    allow,
    doc,
    list_connection,
    load_one,
    mutate,
)
from graph.types.refs import OrganizationRef


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(enum.Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for its (next) attempt.")
    DELIVERED = strawberry.enum_value("delivered", description="The endpoint answered 2xx.")
    FAILED = strawberry.enum_value("failed", description="Every attempt failed; redeliver to try again.")


@strawberry.type(description="A partner's URL that receives signed event notifications.")
class WebhookEndpoint(relay.Node):
    id: relay.NodeID[int]
    url: str = doc("Where events are POSTed.")
    kinds: list[str] = doc('Event kinds delivered, e.g. ["order.*", "shipment.updated"] ("*": all).')
    active: bool = doc("Whether events are delivered; an inactive endpoint keeps its place and catches up.")
    created_at: datetime = doc("When it was registered.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    organization_id: strawberry.Private[int]

    @strawberry.field(
        description="The partner organization the endpoint belongs to; it receives what it may see."
    )
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)


def build_endpoint(row) -> WebhookEndpoint:  # noqa: ANN001
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        kinds=list(row.kinds),
        active=row.active,
        created_at=row.created_at,
        archived_at=row.archived_at,
        organization_id=row.organization_id,
    )


@strawberry.type(description="One event on its way to one endpoint, with its attempts.")
class WebhookDelivery(relay.Node):
    id: relay.NodeID[int]
    event_id: str = doc("The event's id, as sent in the PartnerGraph-Event-Id header.")
    status: WebhookDeliveryStatus = doc("Pending, delivered or failed.")
    attempts: int = doc("Attempts made so far.")
    next_attempt_at: datetime = doc("When the next attempt is due (pending deliveries).")
    last_status_code: int | None = doc("HTTP status of the last attempt; null if there was no response.")
    last_error: str | None = doc("Why the last attempt failed.")
    delivered_at: datetime | None = doc("When the endpoint accepted it.")
    created_at: datetime = doc("When the event was queued for this endpoint.")
    endpoint_id: strawberry.Private[int]

    @strawberry.field(description="The endpoint it is for.")
    async def endpoint(self, info: Info) -> WebhookEndpoint | None:
        return await load_one(info, m.WebhookEndpoint, self.endpoint_id, build_endpoint)


def build_delivery(row) -> WebhookDelivery:  # noqa: ANN001
    return WebhookDelivery(
        id=row.id,
        event_id=str(row.event_id),
        status=WebhookDeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
        endpoint_id=row.endpoint_id,
    )


@strawberry.input(description="A new webhook endpoint.")
class RegisterWebhookInput:
    organization_id: strawberry.ID = doc("The partner organization; it receives only events it may see.")
    url: str = doc("https:// URL (plain http only to localhost or 127.0.0.1, for testing).")
    kinds: list[str] = doc('Event kinds, e.g. ["order.created", "shipment.*"]; "*" for all.')


@strawberry.input(description="Changes to a webhook endpoint; omitted fields stay as they are.")
class UpdateWebhookInput:
    id: strawberry.ID = doc("The endpoint.")
    url: str | None = doc("A new URL.", default=None)
    kinds: list[str] | None = doc("New event kinds.", default=None)
    active: bool | None = doc("Pause (false) or resume (true) delivery.", default=None)


@strawberry.input(description="Which deliveries to list.")
class WebhookDeliveryFilter:
    endpoint_id: strawberry.ID | None = doc("Only this endpoint's deliveries.", default=None)
    status: WebhookDeliveryStatus | None = doc("Only deliveries in this state.", default=None)


@strawberry.type(description="A registered endpoint and its signing secret, shown this once.")
class RegisterWebhookPayload:
    endpoint: WebhookEndpoint | None = doc("The endpoint.")
    secret: str | None = doc(
        "Signs every delivery (PartnerGraph-Signature). Store it now: it is not shown again."
    )
    errors: list[UserError] = doc("Why nothing was registered; empty on success.")


@strawberry.type(description="The result of changing or archiving an endpoint.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = doc("The endpoint as it is now.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a redelivery request.")
class RedeliverWebhookPayload:
    delivery: WebhookDelivery | None = doc("The delivery, pending again and due now.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


def _check(url: str | None, kinds: list[str] | None) -> None:
    errors = []
    if url is not None and (problem := webhooks.url_problem(url)):
        errors.append(FieldError(("url",), problem, ErrorCode.INVALID))
    if kinds is not None and (problem := webhooks.kinds_problem(kinds)):
        errors.append(FieldError(("kinds",), problem, ErrorCode.INVALID))
    if errors:
        raise UserInputError(errors)


def _delivery_filter(filter: WebhookDeliveryFilter | None) -> Filter:
    if filter is None:
        return NO_FILTER
    table = m.WebhookDelivery.__table__
    conditions = []
    if filter.endpoint_id is not None:
        decoded = decode_global_id(filter.endpoint_id, "WebhookEndpoint")
        conditions.append(table.c.endpoint_id == (decoded[1] if decoded else -1))
    if filter.status is not None:
        conditions.append(table.c.status == filter.status.value)
    return Filter(key=(filter.endpoint_id, filter.status), conditions=tuple(conditions))


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="Webhook endpoints, oldest first. Admins only.", permission_classes=[allow("admin")]
    )
    async def webhook_endpoints(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="Include archived endpoints.")
        ] = False,
    ) -> Connection[WebhookEndpoint]:
        conditions = () if include_archived else (m.WebhookEndpoint.__table__.c.archived_at.is_(None),)
        filter = Filter(key=("archived", include_archived), conditions=conditions)
        return await list_connection(
            info,
            m.WebhookEndpoint,
            build_endpoint,
            filter,
            "id",
            SortDirection.ASC,
            first,
            after,
            last,
            before,
        )

    @strawberry.field(
        description="Webhook deliveries, newest first. Admins only.", permission_classes=[allow("admin")]
    )
    async def webhook_deliveries(
        self,
        info: Info,
        filter: WebhookDeliveryFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookDelivery]:
        return await list_connection(
            info,
            m.WebhookDelivery,
            build_delivery,
            _delivery_filter(filter),
            "id",
            SortDirection.DESC,
            first,
            after,
            last,
            before,
        )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a partner's webhook endpoint; the signing secret is in the payload, once. "
        "It receives events from now on.",
        permission_classes=[allow("admin")],
    )
    async def register_webhook(self, info: Info, input: RegisterWebhookInput) -> RegisterWebhookPayload:
        secret = webhooks.new_secret()

        async def work(uow):  # noqa: ANN001, ANN202
            _check(input.url, input.kinds)
            organization = await uow.get(
                om.Organization, input.organization_id, "Organization", field_name="organizationId"
            )
            if organization.archived_at is not None:
                raise UserInputError.one(
                    "organizationId", "The organization is archived.", ErrorCode.ARCHIVED
                )
            if not om.roles_of(organization):
                raise UserInputError.one(
                    "organizationId",
                    "Only partners (customers, suppliers, distributors) receive webhooks.",
                    ErrorCode.INVALID,
                )
            endpoint = m.WebhookEndpoint(
                organization_id=organization.id,
                url=input.url,
                secret=secret,
                kinds=list(dict.fromkeys(input.kinds)),
                active=True,
                last_event_id=await webhooks.latest_event_id(uow.session),
                created_at=utcnow(),
            )
            created = await uow.create(endpoint)
            uow.changes[-1].fields.pop("secret", None)  # never copy the secret into the audit trail
            return created

        obj, errors = await mutate(info, work)
        return RegisterWebhookPayload(
            endpoint=build_endpoint(obj) if obj else None, secret=secret if obj else None, errors=errors
        )

    @strawberry.mutation(
        description="Change an endpoint's URL, kinds, or pause it.", permission_classes=[allow("admin")]
    )
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> WebhookEndpointPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            _check(input.url, input.kinds)
            endpoint = await uow.get(m.WebhookEndpoint, input.id, "WebhookEndpoint")
            if endpoint.archived_at is not None:
                raise UserInputError.one("id", "The endpoint is archived.", ErrorCode.ARCHIVED)
            values = {}
            if input.url is not None:
                values["url"] = input.url
            if input.kinds is not None:
                values["kinds"] = list(dict.fromkeys(input.kinds))
            if input.active is not None:
                values["active"] = input.active
            return await uow.update(endpoint, values)

        obj, errors = await mutate(info, work)
        return WebhookEndpointPayload(endpoint=build_endpoint(obj) if obj else None, errors=errors)

    @strawberry.mutation(
        description="Archive an endpoint: nothing more is delivered to it.",
        permission_classes=[allow("admin")],
    )
    async def archive_webhook(self, info: Info, id: strawberry.ID) -> WebhookEndpointPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            endpoint = await uow.get(m.WebhookEndpoint, id, "WebhookEndpoint")
            return await uow.archive(endpoint, {"active": False})

        obj, errors = await mutate(info, work)
        return WebhookEndpointPayload(endpoint=build_endpoint(obj) if obj else None, errors=errors)

    @strawberry.mutation(
        description="Send a delivery again: it becomes pending, due now, with a fresh set of attempts.",
        permission_classes=[allow("admin")],
    )
    async def redeliver_webhook(
        self,
        info: Info,
        delivery_id: Annotated[strawberry.ID, strawberry.argument(description="The delivery to send again.")],
    ) -> RedeliverWebhookPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            delivery = await uow.get(
                m.WebhookDelivery, delivery_id, "WebhookDelivery", field_name="deliveryId"
            )
            endpoint = await uow.find(m.WebhookEndpoint, delivery.endpoint_id)
            if endpoint is None or endpoint.archived_at is not None:
                raise UserInputError.one("deliveryId", "Its endpoint is archived.", ErrorCode.ARCHIVED)
            return await uow.update(
                delivery, {"status": webhooks.PENDING, "attempts": 0, "next_attempt_at": utcnow()}
            )

        obj, errors = await mutate(info, work)
        return RedeliverWebhookPayload(delivery=build_delivery(obj) if obj else None, errors=errors)
