"""GraphQL types for people: contacts at organizations, our users, account ownership."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from graph.context import Info
from graph.loaders import NO_FILTER as _NO_FILTER
from graph.models import organizations as om
from graph.models import people as m
from graph.resolvers import interactions as ir
from graph.resolvers import people as r
from graph.resolvers import service as sr
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
    freeze,
    input_values,
    internal,
    list_connection,
    load_one,
    nested_connection,
    payload_runner,
    row_builder,
    updating,
)
from graph.types.refs import InteractionRef, OrganizationRef, ServiceRecordRef

UserRole = strawberry.enum(m.UserRole, description="What an internal user does, and so may do.")


@strawberry.type(description="A person we talk to at an organization.")
class Contact(relay.Node):
    id: relay.NodeID[int]
    name: str = doc("Full name.")
    title: str | None = doc("Job title or role at the organization.")
    email: str | None = doc("Email address.")
    phone: str | None = doc("Phone number.")
    is_primary: bool = doc("The organization's primary contact (one per organization).")
    notes: str | None = internal("Notes for our staff. Internal only.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    organization_id: strawberry.Private[int]

    @strawberry.field(description="The organization this person works for.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)

    @strawberry.field(description="Interactions with this contact, newest first.")
    async def interactions(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[InteractionRef]:
        from graph.types.interactions import build_interaction

        return await nested_connection(
            info, ir.INTERACTIONS_OF_CONTACT, self.id, build_interaction, ir.interaction_filter(None, None),
            "occurred_at", SortDirection.DESC, first, after, None, None,
        )


build_contact = row_builder(Contact)


@strawberry.type(description="One of our staff: sales rep, service agent, analyst or admin.")
class User(relay.Node):
    id: relay.NodeID[int]
    name: str = doc("Full name.")
    email: str = doc("Work email (unique).")
    role: UserRole = doc("Role.")
    region: str | None = doc("Region the user works in.")
    active: bool = doc("False once the user has left.")
    created_at: datetime = doc("When the record was created.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")

    @strawberry.field(description="Customer accounts this user owns now.")
    async def accounts(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[OrganizationRef]:
        from graph.types.organizations import build_organization

        return await nested_connection(
            info, r.ACCOUNTS_OF_USER, self.id, build_organization, _NO_FILTER,
            "name", SortDirection.ASC, first, after, None, None,
        )

    @strawberry.field(description="Service records assigned to this user, newest first.")
    async def assigned_service_records(
        self, info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[ServiceRecordRef]:
        from graph.types.service import build_service_record

        return await nested_connection(
            info, sr.RECORDS_OF_ASSIGNEE, self.id, build_service_record, sr.service_record_filter(None, None),
            "opened_at", SortDirection.DESC, first, after, None, None,
        )


build_user = row_builder(User)


@strawberry.type(description="A period during which a sales rep owned a customer account.")
class AccountOwnership(relay.Node):
    id: relay.NodeID[int]
    started_at: datetime = doc("When the rep took the account.")
    ended_at: datetime | None = doc("When the rep handed it on; null while current.")
    reason: str | None = doc("Why ownership changed.")
    organization_id: strawberry.Private[int]
    user_id: strawberry.Private[int]

    @strawberry.field(description="The account.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)

    @strawberry.field(description="The rep.")
    async def user(self, info: Info) -> User | None:
        return await load_one(info, m.User, self.user_id, build_user)


build_ownership = row_builder(AccountOwnership)


@strawberry.input(description="Conditions on contacts.")
class ContactFilter:
    search: str | None = doc("Text in the name or email.", default=None)
    is_primary: bool | None = doc("Only primary (true) or non-primary (false) contacts.", default=None)
    include_archived: bool = doc("Include archived contacts.", default=False)


@strawberry.input(description="Conditions on users.")
class UserFilter:
    search: str | None = doc("Text in the name or email.", default=None)
    roles: list[UserRole] | None = doc("Any of these roles.", default=None)
    active: bool | None = doc("Only active (true) or departed (false) users.", default=None)
    include_archived: bool = doc("Include archived users.", default=False)


@strawberry.input(description="A new contact.")
class CreateContactInput:
    organization_id: strawberry.ID = doc("The organization the person works for.")
    name: str = doc("Full name.")
    title: str | None = doc("Job title.", default=None)
    email: str | None = doc("Email.", default=None)
    phone: str | None = doc("Phone.", default=None)
    is_primary: bool | None = doc("Make this the primary contact (demotes the current one).", default=None)
    notes: str | None = doc("Internal notes.", default=None)


@strawberry.input(description="Changes to a contact; omitted fields stay as they are.")
class UpdateContactInput:
    name: str | None = doc("Full name.", default=strawberry.UNSET)
    title: str | None = doc("Job title.", default=strawberry.UNSET)
    email: str | None = doc("Email.", default=strawberry.UNSET)
    phone: str | None = doc("Phone.", default=strawberry.UNSET)
    is_primary: bool | None = doc("Primary contact flag.", default=strawberry.UNSET)
    notes: str | None = doc("Internal notes.", default=strawberry.UNSET)


@strawberry.input(description="A new internal user.")
class CreateUserInput:
    name: str = doc("Full name.")
    email: str = doc("Work email (unique).")
    role: UserRole = doc("Role.")
    region: str | None = doc("Region.", default=None)


@strawberry.input(description="Changes to a user; omitted fields stay as they are.")
class UpdateUserInput:
    name: str | None = doc("Full name.", default=strawberry.UNSET)
    email: str | None = doc("Work email.", default=strawberry.UNSET)
    role: UserRole | None = doc("Role.", default=strawberry.UNSET)
    region: str | None = doc("Region.", default=strawberry.UNSET)
    active: bool | None = doc("Active flag.", default=strawberry.UNSET)


@strawberry.input(description="Hand a customer account to a sales rep.")
class AssignAccountOwnerInput:
    organization_id: strawberry.ID = doc("The customer account.")
    user_id: strawberry.ID = doc("The new owner.")
    reason: str | None = doc("Why (kept in the history).", default=None)


@strawberry.type(description="The result of a contact mutation.")
class ContactPayload:
    contact: Contact | None = doc("The contact, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a user mutation.")
class UserPayload:
    user: User | None = doc("The user, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of assigning an account owner.")
class AccountOwnershipPayload:
    ownership: AccountOwnership | None = doc("The new ownership period.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


_contact = payload_runner(ContactPayload, "contact", build_contact)
_user = payload_runner(UserPayload, "user", build_user)
_ownership = payload_runner(AccountOwnershipPayload, "ownership", build_ownership)


@strawberry.type
class PeopleQueries:
    @strawberry.field(description="Contacts at all organizations, by name.")
    async def contacts(
        self, info: Info,
        filter: ContactFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Contact]:
        return await list_connection(
            info, m.Contact, build_contact, r.contact_filter(filter, freeze(filter)), "name", SortDirection.ASC,
            first, after, last, before,
        )

    @strawberry.field(description="Our staff, by name.")
    async def users(
        self, info: Info,
        filter: UserFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[User]:
        return await list_connection(
            info, m.User, build_user, r.user_filter(filter, freeze(filter)), "name", SortDirection.ASC,
            first, after, last, before,
        )


@strawberry.type
class PeopleMutations:
    @strawberry.mutation(description="Add a contact person to an organization.", permission_classes=[allow("records")])
    async def create_contact(self, info: Info, input: CreateContactInput) -> ContactPayload:
        return await _contact(info, lambda uow: r.create_contact(uow, input_values(input)))

    @strawberry.mutation(description="Change a contact.", permission_classes=[allow("records")])
    async def update_contact(self, info: Info, id: strawberry.ID, input: UpdateContactInput) -> ContactPayload:
        return await _contact(info, updating(m.Contact, "Contact", r.update_contact, id, input_values(input)))

    @strawberry.mutation(description="Archive a contact (history is kept).", permission_classes=[allow("records")])
    async def archive_contact(self, info: Info, id: strawberry.ID) -> ContactPayload:
        return await _contact(info, updating(m.Contact, "Contact", r.archive_contact, id))

    @strawberry.mutation(description="Add an internal user.", permission_classes=[allow("admin")])
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        return await _user(info, lambda uow: r.create_user(uow, input_values(input)))

    @strawberry.mutation(description="Change an internal user.", permission_classes=[allow("admin")])
    async def update_user(self, info: Info, id: strawberry.ID, input: UpdateUserInput) -> UserPayload:
        return await _user(info, updating(m.User, "User", r.update_user, id, input_values(input)))

    @strawberry.mutation(description="Archive (deactivate) an internal user.", permission_classes=[allow("admin")])
    async def archive_user(self, info: Info, id: strawberry.ID) -> UserPayload:
        return await _user(info, updating(m.User, "User", r.archive_user, id))

    @strawberry.mutation(description="Hand a customer account to a sales rep, closing the previous ownership.", permission_classes=[allow("records")])
    async def assign_account_owner(self, info: Info, input: AssignAccountOwnerInput) -> AccountOwnershipPayload:
        return await _ownership(info, lambda uow: r.assign_account_owner(uow, input_values(input)))



