"""GraphQL types for interactions: the contact-centre record of every call and meeting."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from graph.context import Info
from graph.models import interactions as m
from graph.models import organizations as om
from graph.models import people as pm
from graph.resolvers import interactions as r
from graph.types.common import (
    After,
    Before,
    Connection,
    DateTimeRange,
    First,
    Last,
    SortDirection,
    UserError,
    allow,
    doc,
    freeze,
    input_values,
    list_connection,
    load_one,
    payload_runner,
    row_builder,
    updating,
)
from graph.types.refs import ContactRef, OrganizationRef, UserRef

InteractionChannel = strawberry.enum(m.InteractionChannel, description="How we were in touch.")
InteractionDirection = strawberry.enum(m.InteractionDirection, description="Who reached out.")


@strawberry.type(description="A call, email, fax, message or meeting with a partner.")
class Interaction(relay.Node):
    id: relay.NodeID[int]
    channel: InteractionChannel = doc("Call, email, fax, message or meeting.")
    direction: InteractionDirection = doc("Inbound (they reached us) or outbound.")
    summary: str = doc("What was said or agreed.")
    occurred_at: datetime = doc("When it happened.")
    created_at: datetime = doc("When it was logged.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    organization_id: strawberry.Private[int]
    contact_id: strawberry.Private[int | None]
    user_id: strawberry.Private[int | None]

    @strawberry.field(description="The organization.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)

    @strawberry.field(description="The contact spoken with.")
    async def contact(self, info: Info) -> ContactRef | None:
        from graph.types.people import build_contact

        return await load_one(info, pm.Contact, self.contact_id, build_contact)

    @strawberry.field(description="Our staff member involved.")
    async def user(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, pm.User, self.user_id, build_user)


build_interaction = row_builder(Interaction)


@strawberry.input(description="Conditions on interactions.")
class InteractionFilter:
    channels: list[InteractionChannel] | None = doc("Any of these channels.", default=None)
    direction: InteractionDirection | None = doc("Only this direction.", default=None)
    search: str | None = doc("Text in the summary.", default=None)
    organization_id: strawberry.ID | None = doc("With this organization.", default=None)
    user_id: strawberry.ID | None = doc("Involving this user.", default=None)
    occurred: DateTimeRange | None = doc("Happened in this range.", default=None)
    include_archived: bool = doc("Include archived interactions.", default=False)


@strawberry.input(description="An interaction to log.")
class LogInteractionInput:
    organization_id: strawberry.ID = doc("The organization.")
    channel: InteractionChannel = doc("Channel.")
    direction: InteractionDirection = doc("Direction.")
    summary: str = doc("What was said or agreed.")
    occurred_at: datetime | None = doc("When (default: now; never in the future).", default=None)
    contact_id: strawberry.ID | None = doc("The contact.", default=None)
    user_id: strawberry.ID | None = doc("Our staff member.", default=None)


@strawberry.input(description="Changes to an interaction; omitted fields stay as they are.")
class UpdateInteractionInput:
    channel: InteractionChannel | None = doc("Channel.", default=strawberry.UNSET)
    direction: InteractionDirection | None = doc("Direction.", default=strawberry.UNSET)
    summary: str | None = doc("Summary.", default=strawberry.UNSET)
    occurred_at: datetime | None = doc("When.", default=strawberry.UNSET)
    contact_id: strawberry.ID | None = doc("Contact.", default=strawberry.UNSET)
    user_id: strawberry.ID | None = doc("Staff member.", default=strawberry.UNSET)


@strawberry.type(description="The result of an interaction mutation.")
class InteractionPayload:
    interaction: Interaction | None = doc("The interaction, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


_interaction = payload_runner(InteractionPayload, "interaction", build_interaction)


@strawberry.type
class InteractionQueries:
    @strawberry.field(description="Interactions with all organizations, newest first.")
    async def interactions(
        self, info: Info,
        filter: InteractionFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Interaction]:
        return await list_connection(
            info, m.Interaction, build_interaction, r.interaction_filter(filter, freeze(filter)), "occurred_at",
            SortDirection.DESC, first, after, last, before,
        )


@strawberry.type
class InteractionMutations:
    @strawberry.mutation(description="Log a call, email, fax, message or meeting.", permission_classes=[allow("interactions")])
    async def log_interaction(self, info: Info, input: LogInteractionInput) -> InteractionPayload:
        return await _interaction(info, lambda uow: r.log_interaction(uow, input_values(input)))

    @strawberry.mutation(description="Correct a logged interaction.", permission_classes=[allow("interactions")])
    async def update_interaction(
        self, info: Info, id: strawberry.ID, input: UpdateInteractionInput
    ) -> InteractionPayload:
        return await _interaction(
            info, updating(m.Interaction, "Interaction", r.update_interaction, id, input_values(input))
        )

    @strawberry.mutation(description="Archive an interaction (history is kept).", permission_classes=[allow("interactions")])
    async def archive_interaction(self, info: Info, id: strawberry.ID) -> InteractionPayload:
        return await _interaction(info, updating(m.Interaction, "Interaction", r.archive_interaction, id))
