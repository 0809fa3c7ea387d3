"""GraphQL types for API keys: admins create (the key is shown once), list and revoke them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from graph.auth import KNOWN_KEYS, create_api_key
from graph.context import Info
from graph.errors import ErrorCode, UserInputError
from graph.loaders import NO_FILTER
from graph.models import organizations as om
from graph.models import security as m
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
    row_builder,
)
from graph.types.refs import OrganizationRef


@strawberry.type(description="An API key. The key itself is shown once, when it is created, and never stored.")
class ApiKey(relay.Node):
    id: relay.NodeID[int]
    name: str = doc("What the key is for.")
    prefix: str = doc("The visible part of the key (pgk_<prefix>_…), to recognise it in logs and the audit trail.")
    role: str = doc("admin, sales, service, analyst, read_only, customer, supplier or distributor.")
    scopes: list[str] = doc("What the key may do (read, write).")
    created_at: datetime = doc("When it was created.")
    expires_at: datetime | None = doc("When it stops working, if ever.")
    revoked_at: datetime | None = doc("When it was revoked, if it was.")
    last_used_at: datetime | None = doc("Last time it authenticated a request (to the minute).")
    organization_id: strawberry.Private[int | None]

    @strawberry.field(description="The partner organization a partner key acts for.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)


build_api_key = row_builder(ApiKey)


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = doc("What the key is for.")
    role: str = doc("admin, sales, service, analyst, read_only, customer, supplier or distributor.")
    organization_id: strawberry.ID | None = doc("Partner keys: the organization they act for.", default=None)
    user_id: strawberry.ID | None = doc("Sales keys: the rep they act for.", default=None)
    expires_at: datetime | None = doc("When it stops working (default: never).", default=None)
    scopes: list[str] | None = doc(
        "read and/or write (default: both; read only for analyst and read_only keys).", default=None
    )


@strawberry.type(description="A new API key and its secret, shown this once.")
class CreateApiKeyPayload:
    api_key: ApiKey | None = doc("The stored key (without its secret).")
    key: str | None = doc("The full key. Store it now: it cannot be shown again.")
    errors: list[UserError] = doc("Why nothing was created; empty on success.")


@strawberry.type(description="The result of revoking a key.")
class RevokeApiKeyPayload:
    api_key: ApiKey | None = doc("The revoked key.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type
class SecurityQueries:
    @strawberry.field(description="API keys, newest first. Admins only.", permission_classes=[allow("admin")])
    async def api_keys(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[ApiKey]:
        return await list_connection(
            info, m.ApiKey, build_api_key, NO_FILTER, "created_at", SortDirection.DESC, first, after, last, before
        )


@strawberry.type
class SecurityMutations:
    @strawberry.mutation(description="Create an API key; the key is in the payload, once.", permission_classes=[allow("admin")])
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        created = []

        async def work(uow):  # noqa: ANN001, ANN202
            new = await create_api_key(
                uow.session, role=input.role, name=input.name, organization_id=input.organization_id,
                user_id=input.user_id, expires_at=input.expires_at, scopes=input.scopes,
            )
            created.append(new.key)
            return await uow.create(new.api_key)  # recorded in the audit trail (never the secret)

        obj, errors = await mutate(info, work)
        return CreateApiKeyPayload(
            api_key=build_api_key(obj) if obj else None, key=created[0] if obj else None, errors=errors
        )

    @strawberry.mutation(
        description="Revoke an API key. The server process that revokes it refuses it at once; every "
        "other process within the api_key_cache_seconds setting (5 s by default).",
        permission_classes=[allow("admin")],
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            key = await uow.get(m.ApiKey, id, "ApiKey")
            if key.revoked_at is not None:
                raise UserInputError.one("id", "Already revoked.", ErrorCode.ARCHIVED)
            KNOWN_KEYS.forget_at_commit(uow.session, key.prefix)
            return await uow.update(key, {"revoked_at": utcnow()}, operation="archive")

        obj, errors = await mutate(info, work)
        return RevokeApiKeyPayload(api_key=build_api_key(obj) if obj else None, errors=errors)
