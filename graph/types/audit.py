"""GraphQL types for the audit trail: who changed what, when. Admins only, read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from graph.context import Info
from graph.ids import encode_global_id
from graph.models import security as m
from graph.resolvers import audit as r
from graph.types.common import (
    AdminOnly,
    After,
    Before,
    Connection,
    DateTimeRange,
    First,
    Last,
    SortDirection,
    doc,
    freeze,
    list_connection,
)


@strawberry.type(
    description="One record created, changed or archived by a mutation. Events are append-only: "
    "written in the mutation's own transaction and never changed afterwards."
)
class AuditEvent(relay.Node):
    id: relay.NodeID[int]
    occurred_at: datetime = doc("When the mutation committed (every event of one mutation has the same time).")
    principal_kind: str = doc("Who ran it: internal, customer, supplier or distributor.")
    principal_name: str = doc("The name of the user or API key that ran it.")
    role: str = doc("The caller's role at the time, e.g. admin or sales.")
    organization_id: strawberry.ID | None = doc("The partner organization the caller was bound to, if any.")
    key_prefix: str | None = doc("The visible prefix of the API key used, if any.")
    operation: str = doc("The mutation that was run, e.g. createOrder.")
    action: str = doc("What happened to the record: create, update or archive.")
    node_id: strawberry.ID | None = doc("The global id of the record (null for records that are not nodes).")
    changes: JSON = doc("The fields that changed: {field: [before, after]}; a create has null befores.")
    request_id: str | None = doc("The id of the HTTP request, to match the server's logs.")


def build_audit_event(row: Any) -> AuditEvent:
    org_id = row.organization_id
    return AuditEvent(
        id=row.id,
        occurred_at=row.occurred_at,
        principal_kind=row.principal_kind,
        principal_name=row.principal_name,
        role=row.role,
        organization_id=None if org_id is None else strawberry.ID(encode_global_id("Organization", org_id)),
        key_prefix=row.key_prefix,
        operation=row.operation,
        action=row.action,
        node_id=None if row.node_id is None else strawberry.ID(row.node_id),
        changes=row.changes,
        request_id=row.request_id,
    )


@strawberry.input(description="Conditions on audit events.")
class AuditEventFilter:
    node_id: strawberry.ID | None = doc("Only events about this record.", default=None)
    principal_name: str | None = doc("Only events caused by this user or API key (exact name).", default=None)
    operation: str | None = doc("Only events of this mutation, e.g. updateOrganization.", default=None)
    request_id: str | None = doc("Only events of the request with this id (its x-request-id).", default=None)
    occurred: DateTimeRange | None = doc("Only events in this range.", default=None)


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="The audit trail, newest first. Admins only.", permission_classes=[AdminOnly]
    )
    async def audit_events(
        self, info: Info,
        filter: AuditEventFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEvent]:
        return await list_connection(
            info, m.AuditEvent, build_audit_event, r.audit_event_filter(filter, freeze(filter)), "occurred_at",
            SortDirection.DESC, first, after, last, before,
        )
