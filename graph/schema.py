"""The schema: domain queries and mutations merged, plus Relay's node(id:) and nodes(ids:)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import strawberry
from strawberry import relay
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types.graphql import OperationType

from graph import extension_hooks
from graph.context import Info
from graph.documents import Documents
from graph.errors import BadInput, RequestRefused
from graph.execution import ExecutionContext, thin_resolvers
from graph.ids import decode_global_id
from graph.limits import request_limits
from graph.models import (
    contracts,
    early_warnings,
    interactions,
    orders,
    organizations,
    people,
    products,
    relationship,
    security,
    service,
    sync,
)
from graph.pagination import Include
from graph.resolvers.service import TYPE_NAMES as SERVICE_TYPE_NAMES
from graph.resolvers.validation import compile_input_converters
from graph.types import audit as audit_types
from graph.types import changes as change_types
from graph.types import contracts as contract_types
from graph.types import crm as crm_types
from graph.types import early_warnings as warning_types
from graph.types import interactions as interaction_types
from graph.types import orders as order_types
from graph.types import organizations as organization_types
from graph.types import people as people_types
from graph.types import products as product_types
from graph.types import relationship as relationship_types
from graph.types import reports as report_types
from graph.types import security as security_types
from graph.types import service as service_types
from graph.types import sync as sync_types
from graph.types import webhooks as webhook_types
from graph.types.common import selected_fields


def _kind(kind: service.ServiceRecordKind):  # noqa: ANN202
    return lambda row: row.kind is kind


# GraphQL type name → (table, builder, extra check on the row). node(id:) resolves through
# the same batched, scoped loaders as every other read.
NODE_TYPES: dict[str, tuple[type, Any, Any]] = {
    "Organization": (organizations.Organization, organization_types.build_organization, None),
    "Contact": (people.Contact, people_types.build_contact, None),
    "User": (people.User, people_types.build_user, None),
    "AccountOwnership": (people.AccountOwnership, people_types.build_ownership, None),
    "Contract": (contracts.Contract, contract_types.build_contract, None),
    "Product": (products.Product, product_types.build_product, None),
    "Supply": (products.SupplierProduct, product_types.build_supply, None),
    "Order": (orders.Order, order_types.build_order, None),
    "OrderLine": (orders.OrderLine, order_types.build_line, None),
    "Shipment": (orders.Shipment, order_types.build_shipment, None),
    "Interaction": (interactions.Interaction, interaction_types.build_interaction, None),
    "StatusChange": (sync.StatusTransition, order_types.build_status_change, None),
    **{
        name: (service.ServiceRecord, service_types.build_service_record, _kind(kind))
        for kind, name in SERVICE_TYPE_NAMES.items()
    },
    "AuditEvent": (security.AuditEvent, audit_types.build_audit_event, None),
    "ApiKey": (security.ApiKey, security_types.build_api_key, None),
    "ChangeEvent": (sync.OutboxEvent, change_types.build_change_event, None),
    "EarlyWarning": (early_warnings.EarlyWarning, warning_types.build_warning, None),
    "SurveyCampaign": (relationship.SurveyCampaign, relationship_types.build_campaign, None),
    "Opportunity": (relationship.Opportunity, relationship_types.build_opportunity, None),
    **{name: (model, builder, None) for name, (model, builder) in crm_types.NODES.items()},
}


# To-one records a node's own statement joins in when the client selects them, as lists do.
NODE_INCLUDES: dict[type, tuple[Include, ...]] = {
    orders.Order: order_types.ORDER_INCLUDES,
    orders.OrderLine: order_types.LINE_INCLUDES,
}


async def _resolve_nodes(info: Info, ids: list[str]) -> list[relay.Node | None]:
    """Resolve global ids in one statement per table; unknown, malformed or unseen ids are null."""
    wanted: dict[type, list[int]] = defaultdict(list)
    decoded = []
    for value in ids:
        parsed = decode_global_id(value)
        entry = NODE_TYPES.get(parsed[0]) if parsed else None
        decoded.append((parsed, entry))
        if entry is not None:
            wanted[entry[0]].append(parsed[1])
    loaded = {}
    selected = selected_fields(info) if any(model in NODE_INCLUDES for model in wanted) else frozenset()
    for model, record_ids in wanted.items():
        include = tuple(item for item in NODE_INCLUDES.get(model, ()) if item.name in selected)
        rows = await info.context.loaders.by_id(model, include).load_many(record_ids)
        loaded.update({(model, i): row for i, row in zip(record_ids, rows, strict=True)})
    results: list[relay.Node | None] = []
    for parsed, entry in decoded:
        row = loaded.get((entry[0], parsed[1])) if entry else None
        if row is None or (entry[2] is not None and not entry[2](row)):
            results.append(None)
        else:
            results.append(entry[1](row))
    return results


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Fetch any object by its global id; null if it does not exist or is not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return (await _resolve_nodes(info, [id]))[0]

    @strawberry.field(description="Fetch objects by global id, in order; null for each that does not exist or is not yours.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        limit = info.context.settings.max_batch_ids
        if len(ids) > limit:
            raise BadInput(f"`ids` may hold at most {limit} ids; got {len(ids)}.")
        return await _resolve_nodes(info, ids)


Query = merge_types(
    "Query",
    (
        NodeQueries,
        organization_types.OrganizationQueries,
        people_types.PeopleQueries,
        contract_types.ContractQueries,
        product_types.ProductQueries,
        order_types.OrderQueries,
        service_types.ServiceQueries,
        interaction_types.InteractionQueries,
        audit_types.AuditQueries,
        security_types.SecurityQueries,
        webhook_types.WebhookQueries,
        change_types.ChangeQueries,
        warning_types.EarlyWarningQueries,
        relationship_types.RelationshipQueries,
        crm_types.CrmQueries,
        report_types.ReportQueries,
    ),
)

Mutation = merge_types(
    "Mutation",
    (
        organization_types.OrganizationMutations,
        people_types.PeopleMutations,
        contract_types.ContractMutations,
        product_types.ProductMutations,
        order_types.OrderMutations,
        service_types.ServiceMutations,
        interaction_types.InteractionMutations,
        security_types.SecurityMutations,
        webhook_types.WebhookMutations,
        sync_types.SyncMutations,
        warning_types.EarlyWarningMutations,
        relationship_types.RelationshipMutations,
        crm_types.CrmMutations,
    ),
)

# Connections spend two levels (edges, node) per relationship: 15 allows six relationships deep.
Query.__strawberry_definition__.description = (
    "Read the supply-chain graph: start from a list or from any node by its global id."
)
Mutation.__strawberry_definition__.description = (
    "Change records. Every mutation runs in one transaction and returns typed user errors; "
    "invalid input changes nothing."
)

Subscription = merge_types("Subscription", (change_types.ChangeSubscriptions,))
Subscription.__strawberry_definition__.description = (
    "Live events over WebSocket (graphql-transport-ws at /graphql; authenticate in connection_init)."
)

MAX_DEPTH = 15

# QueryDepthLimiter(max_depth=MAX_DEPTH) and MaxAliasesLimiter(max_alias_count=30), with their
# rule classes built once: the extensions build new classes per request, and new rules make
# every request a validation-cache miss (the document was validated again each time).
_LIMIT_RULES = (depth_rule(MAX_DEPTH, None, None), aliases_rule(30))


SUBSCRIPTIONS_OVER_WEBSOCKET = (
    "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, not over a plain HTTP request."
)


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors are the client's business; unexpected ones are logged by the
        error-masking extension with the request id."""

    async def execute(self, *args: Any, allowed_operation_types: Any = None, **kwargs: Any) -> Any:
        """A single answer, as over plain HTTP: no subscriptions. strawberry's view allows them
        on every POST and GET, and without a streaming protocol ran one as a query, which failed
        inside its resolver; strawberry's own operation-type check now refuses it."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES) - {OperationType.SUBSCRIPTION}
        try:
            return await super().execute(*args, allowed_operation_types=allowed, **kwargs)
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise RequestRefused("BAD_REQUEST", SUBSCRIPTIONS_OVER_WEBSOCKET) from None
            raise


def build_schema(extra_extensions: list[Any] = (), budget_stores: Any = None) -> strawberry.Schema:
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*service_types.CONCRETE_TYPES],
        extensions=[
            lambda: Documents(_LIMIT_RULES, max_tokens=5000),  # parse and validate once; depth and aliases
            *extra_extensions,
            *request_limits(budget_stores),
        ],
    )
    extension_hooks.install()  # extension hooks wrapped once per class, not per request
    compile_input_converters(schema)  # mutation inputs: a compiled converter per input type
    thin_resolvers(schema)  # resolvers called directly where strawberry's wrapper would only pass through
    schema.execution_context_class = ExecutionContext.for_schema(schema._schema)  # plain leaves read in one step
    return schema


schema = build_schema()
