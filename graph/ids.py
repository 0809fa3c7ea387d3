"""Opaque global ids (Relay): base64 of "TypeName:id"."""

from __future__ import annotations

import base64


def encode_global_id(type_name: str, record_id: int) -> str:
    # What str(relay.GlobalID(...)) gives, without building one (hot in audit and outbox rows).
    return base64.b64encode(f"{type_name}:{record_id}".encode()).decode()


def decode_global_id(value: str, expected: str | tuple[str, ...] | None = None) -> tuple[str, int] | None:
    """(type name, integer id) of a global id, or None when it is not one of ours."""
    try:  # relay.GlobalID.from_id's parsing, without building one (hot in sync batches)
        type_name, node_id = base64.b64decode(value.encode()).decode().split(":", 1)
    except Exception:  # noqa: BLE001 - any malformed id is simply "not an id of ours"
        return None
    if not node_id.isdigit() or len(node_id) > 18:
        return None
    if expected is not None:
        names = (expected,) if isinstance(expected, str) else expected
        if type_name not in names:
            return None
    return type_name, int(node_id)


def id_condition(column, global_id: str, type_names: str | tuple[str, ...]):  # noqa: ANN001, ANN201
    """`column = <id>` for a filter on a global id; an id of the wrong kind matches nothing."""
    from sqlalchemy import false

    decoded = decode_global_id(global_id, type_names)
    return false() if decoded is None else column == decoded[1]
