"""The audit trail: filters over the append-only audit events (written by graph/writes.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false

from graph.audit import table_of_type
from graph.ids import decode_global_id, encode_global_id
from graph.loaders import Filter, cached_filter
from graph.models.security import AuditEvent

EVENT = AuditEvent.__table__


def node_condition(global_id: str) -> Any:
    """Events about one record; an id that is not a node of ours matches nothing.

    Filters on (table_name, record_id), the leading columns of ix_audit_events_node."""
    decoded = decode_global_id(global_id)
    table = table_of_type(decoded[0]) if decoded else None
    if table is None:
        return false()
    type_name, record_id = decoded
    return and_(
        EVENT.c.table_name == table,
        EVENT.c.record_id == record_id,
        # One table can hold several node types (service records): the id names just one.
        EVENT.c.node_id == encode_global_id(type_name, record_id),
    )


@cached_filter
def audit_event_filter(f: Any | None, key: Any) -> Filter:
    conditions = []
    if f is not None:
        if f.node_id is not None:
            conditions.append(node_condition(f.node_id))
        if f.principal_name is not None:
            conditions.append(EVENT.c.principal_name == f.principal_name)
        if f.operation is not None:
            conditions.append(EVENT.c.operation == f.operation)
        if f.request_id is not None:
            conditions.append(EVENT.c.request_id == f.request_id)
        if f.occurred is not None:
            if f.occurred.from_ is not None:
                conditions.append(EVENT.c.occurred_at >= f.occurred.from_)
            if f.occurred.to is not None:
                conditions.append(EVENT.c.occurred_at < f.occurred.to)
    return Filter(key=key, conditions=tuple(conditions))
