"""Argument values of a field written with literals only, coerced once per field of a document.

graphql-core coerces a field's arguments from the document on every call of its resolver:
`orders(first: 20, orderBy: { field: PLACED_AT, direction: DESC })` walks its input types each
time, and a connection nested in a list (`lines` of 20 orders) does it for every parent, even
with no arguments written, to apply the defaults. Arguments without variables come out the
same every time, so they are coerced once per field node (documents themselves are parsed
once, graph/documents.py) and the same values handed out again.

The values are shared between calls: graphql-core passes them to the resolver as keyword
arguments (a new dict each time), and strawberry builds new input objects from them.
"""

from __future__ import annotations

from typing import Any

from graphql.execution import executor, values
from graphql.language import ListValueNode, ObjectValueNode, ValueNode, VariableNode

_graphql_get_argument_values = values.get_argument_values

# id(field node) → (the node, its field definition, the values, or None when they depend on
# variables). Holding the node keeps its id from being reused while the entry lives.
_CACHE: dict[int, tuple[Any, Any, dict[str, Any] | None]] = {}
_CACHE_SIZE = 8192


def get_argument_values(
    type_def: Any,
    node: Any,
    variable_values: Any = None,
    fragment_variable_values: Any = None,
    hide_suggestions: bool = False,
) -> dict[str, Any]:
    """graphql-core's `get_argument_values`, remembered per field node when no argument uses a
    variable."""
    if fragment_variable_values is None:
        entry = _CACHE.get(id(node))
        if entry is None or entry[0] is not node or entry[1] is not type_def:
            entry = _remember(type_def, node, hide_suggestions)
        if entry[2] is not None:
            return entry[2]
    return _graphql_get_argument_values(type_def, node, variable_values, fragment_variable_values, hide_suggestions)


def _remember(type_def: Any, node: Any, hide_suggestions: bool) -> tuple[Any, Any, dict[str, Any] | None]:
    literal = not any(_uses_variables(argument.value) for argument in node.arguments or ())
    coerced = _graphql_get_argument_values(type_def, node, None, None, hide_suggestions) if literal else None
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    entry = _CACHE[id(node)] = (node, type_def, coerced)
    return entry


def _uses_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(field.value) for field in value.fields)
    return False


def install() -> None:
    """Make graphql-core's executor take field arguments from here (idempotent)."""
    executor.get_argument_values = get_argument_values  # type: ignore[assignment]
