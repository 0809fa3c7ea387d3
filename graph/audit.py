"""The audit trail: what a mutation's changes look like as append-only audit rows.

`UnitOfWork._before_commit` (graph/writes.py) turns the unit's recorded changes into rows
with `audit_rows()` and inserts them in the mutation's own transaction, so an event exists
exactly when its change was committed. Nothing here knows about GraphQL beyond the type
names that make up a record's global id.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from graph.ids import encode_global_id

if TYPE_CHECKING:
    from graph.access import Principal
    from graph.writes import Change

# Table → the GraphQL type its rows are exposed as (None: no node of its own).
# service_records are several types, one per kind: see `node_type_name`.
NODE_TYPE_NAMES: dict[str, str | None] = {
    "organizations": "Organization",
    "contacts": "Contact",
    "users": "User",
    "account_ownerships": "AccountOwnership",
    "contracts": "Contract",
    "products": "Product",
    "supplier_products": "Supply",
    "orders": "Order",
    "api_keys": "ApiKey",
    "order_lines": "OrderLine",
    "shipments": "Shipment",
    "interactions": "Interaction",
    "early_warnings": "EarlyWarning",
    "addresses": None,
    "distributor_coverage": None,
    "opportunities": "Opportunity",
    "survey_campaigns": "SurveyCampaign",
    "survey_campaign_targets": None,
    "crm_tier_rules": None,
    "crm_tier_reviews": "TierReview",
    "crm_tier_proposals": "TierProposal",
    "crm_tier_changes": "TierChange",
    "crm_lifecycle_changes": "LifecycleChange",
    "crm_visit_plans": "VisitPlan",
    "crm_sales_targets": "SalesTarget",
}
SERVICE_RECORDS = "service_records"

# Bookkeeping every change touches; it says nothing about what changed. `id` is the
# event's own record_id / node_id.
# Bookkeeping, and secrets that must never be copied into the trail.
_NOISE = frozenset({"id", "updated_at", "version", "secret_hash", "secret"})


def _service_type_names() -> dict[Any, str]:
    # Imported late: graph.resolvers.service imports graph.writes, which imports this module.
    from graph.resolvers.service import TYPE_NAMES

    return TYPE_NAMES


def node_type_name(obj: Any) -> str | None:
    """The GraphQL type name of a record, or None when it is not a node."""
    table = obj.__tablename__
    if table == SERVICE_RECORDS:
        return _service_type_names().get(obj.kind)
    return NODE_TYPE_NAMES.get(table)


def table_of_type(type_name: str) -> str | None:
    """The table behind a GraphQL node type (the inverse of `node_type_name`)."""
    if type_name in _service_type_names().values():
        return SERVICE_RECORDS
    for table, name in NODE_TYPE_NAMES.items():
        if name == type_name:
            return table
    return None


_AS_IS = frozenset({str, int, float, bool, type(None)})
_BY_TYPE = {Decimal: str, datetime: datetime.isoformat, date: date.isoformat, time: time.isoformat}


def json_safe(value: Any) -> Any:
    """A value as JSON can hold it: exact decimals as strings, times in ISO 8601, enums by value."""
    kind = type(value)  # exact types first: a sync batch converts tens of thousands of values
    if kind in _AS_IS:
        return value
    convert = _BY_TYPE.get(kind)
    if convert is not None:
        return convert(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


class Created(Mapping[str, tuple[None, Any]]):
    """The `fields` of a created record's `Change`: {column: (None, value)} over a dict of the
    values, without a pair per column (a sync batch records tens of thousands of creates).
    The audit trail and the outbox read `values` directly."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __getitem__(self, name: str) -> tuple[None, Any]:
        return None, self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def _created_fields(values: dict[str, Any]) -> dict[str, tuple[None, Any]]:
    """`changed_fields` of a `Created`: every value that is set, from nothing. The pairs are
    tuples, stored as the same JSON arrays; unlike lists, the garbage collector stops tracking
    them (a sync batch audits tens of thousands of columns)."""
    return {
        name: (None, after)
        for name, value in values.items()
        if value is not None
        and name not in _NOISE
        and (after := value if type(value) in _AS_IS else _BY_TYPE.get(type(value), json_safe)(value)) is not None
    }


def changed_fields(fields: Mapping[str, tuple[Any, Any]]) -> dict[str, Sequence[Any]]:
    """{field: [before, after]} for the fields that really changed, JSON-safe."""
    if type(fields) is Created:
        return _created_fields(fields.values)
    result = {}
    for name, (before, after) in fields.items():
        if name in _NOISE:
            continue
        if before is None:  # a create: every column from nothing (the bulk of a sync batch)
            if (
                after is not None
                and (after := after if type(after) in _AS_IS else json_safe(after)) is not None
            ):
                result[name] = [None, after]
            continue
        before, after = json_safe(before), json_safe(after)
        if before != after:  # a create lists the values it set, not every empty column
            result[name] = [before, after]
    return result


def audit_rows(
    changes: Iterable[Change],
    principal: Principal,
    operation: str,
    request_id: str | None,
    occurred_at: datetime,
) -> list[dict[str, Any]]:
    """One `audit_events` row per change, all stamped with the same instant."""
    who = {
        "principal_kind": principal.kind.value,
        "principal_name": principal.name,
        "role": getattr(principal, "role", None) or "unknown",
        "organization_id": getattr(principal, "organization_id", None),
        "key_prefix": getattr(principal, "key_prefix", None),
    }
    return [
        {
            **who,
            "occurred_at": occurred_at,
            "operation": operation,
            "action": change.operation,
            "table_name": change.table,
            "record_id": change.record_id,
            "node_id": encode_global_id(change.type_name, change.record_id) if change.type_name else None,
            "changes": changed_fields(change.fields),
            "request_id": request_id,
        }
        for change in changes
    ]
