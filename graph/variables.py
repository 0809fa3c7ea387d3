"""Request variables coerced by functions built once per input type.

graphql-core coerces a variable by walking its type at every value: `coerce_input_value` asks
whether each type is non-null, a list, an input object or a leaf, for every value, and first
walks the whole value once more to see that it is not nested too deeply. A 500-order
`syncOrders` batch took 17 ms of CPU that way. Here the walk over the type is done once, into
a function per type, and a request only runs the functions.

They return exactly what `coerce_input_value` returns. For anything else they hand over to
graphql-core: a value they cannot coerce (graphql-core then reports the errors, with its
messages and paths), a variable with a default, and input types that contain themselves (the
only ones whose values can be nested deeper than their type, which graphql-core guards against).
tests/test_variables.py compares the two on every input type of the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLSchema,
    is_input_object_type,
    is_input_type,
    is_list_type,
    is_non_null_type,
    is_required_input_field,
)
from graphql.execution import executor, values
from graphql.execution.get_variable_signature import GraphQLVariableSignature
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.language import ListTypeNode, NonNullTypeNode, TypeNode
from graphql.pyutils import Undefined, is_iterable
from graphql.utilities import type_from_ast
from graphql.utilities.coerce_input_value import coerce_default_value

Coerce = Callable[[Any], Any]
_UNHANDLED = object()  # a variable type these functions leave to graphql-core


class Coercers:
    """Each variable type (by its name in the document, such as `[OrderStatus!]`) of one schema,
    with its coercing function."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._by_type_name: dict[str, Any] = {}

    def for_type_node(self, node: TypeNode) -> Any:
        key = _type_key(node)
        found = self._by_type_name.get(key)
        if found is None:
            found = self._by_type_name[key] = self._build(node)
        return found

    def _build(self, node: TypeNode) -> Any:
        type_ = type_from_ast(self.schema, node)
        if not is_input_type(type_) or _contains_itself(type_):
            return _UNHANDLED
        return type_, _of_type(type_, {})


def _type_key(node: TypeNode) -> str:
    if isinstance(node, NonNullTypeNode):
        return _type_key(node.type) + "!"
    if isinstance(node, ListTypeNode):
        return "[" + _type_key(node.type) + "]"
    return node.name.value  # type: ignore[attr-defined]


def _contains_itself(type_: Any) -> bool:
    """Whether an input object type reaches itself through its fields."""
    seen: set[str] = set()

    def reaches(current: Any, path: frozenset[str]) -> bool:
        while is_non_null_type(current) or is_list_type(current):
            current = current.of_type
        if not is_input_object_type(current):
            return False
        if current.name in path:
            return True
        if current.name in seen:
            return False
        seen.add(current.name)
        return any(reaches(field.type, path | {current.name}) for field in current.fields.values())

    return reaches(type_, frozenset())


def _of_type(type_: GraphQLInputType, built: dict[str, Coerce]) -> Coerce:
    if is_non_null_type(type_):
        return _non_null(_of_type(type_.of_type, built))
    if is_list_type(type_):
        return _nullable(_list(_of_type(type_.of_type, built)))
    return _nullable(_named(type_, built))


def _named(type_: Any, built: dict[str, Coerce]) -> Coerce:
    found = built.get(type_.name)
    if found is None:
        found = built[type_.name] = _input_object(type_, built) if is_input_object_type(type_) else _leaf(type_)
    return found


def _given(inner: Coerce, missing: Any) -> Coerce:
    """`inner` for a value; `missing` for null or no value."""

    def coerce(value: Any) -> Any:
        if value is None or value is Undefined:
            return missing
        return inner(value)

    return coerce


def _non_null(inner: Coerce) -> Coerce:
    return _given(inner, Undefined)  # refused: graphql-core reports it


def _nullable(inner: Coerce) -> Coerce:
    return _given(inner, None)


def _list(item: Coerce) -> Coerce:
    def coerce(value: Any) -> Any:
        if not is_iterable(value):  # a single value is a list of one
            coerced = item(value)
            return Undefined if coerced is Undefined else [coerced]
        coerced_list = []
        append = coerced_list.append
        for each in value:
            coerced = item(each)
            if coerced is Undefined:
                return Undefined
            append(coerced)
        return coerced_list

    return coerce


def _leaf(type_: Any) -> Coerce:
    parse = type_.coerce_input_value

    def coerce(value: Any) -> Any:
        try:
            return parse(value)
        except Exception:  # noqa: BLE001 - as graphql-core: an invalid value, reported by it
            return Undefined

    return coerce


def _input_object(type_: GraphQLInputObjectType, built: dict[str, Coerce]) -> Coerce:
    fields = type_.fields
    names = fields.keys()
    # Per field, in the type's order: its name, its key in the result, its function (set below),
    # whether it is required, and the field when it may have a default (else None).
    plan: list[list[Any]] = [
        [
            name,
            field.out_name or name,
            None,
            is_required_input_field(field),
            field if field.default is not None or field.default_value is not Undefined else None,
        ]
        for name, field in fields.items()
    ]
    out_type = type_.out_type
    one_of = type_.is_one_of

    def coerce(value: Any) -> Any:
        if not isinstance(value, dict):
            return Undefined
        if not value.keys() <= names and any(value[name] is not Undefined for name in value.keys() - names):
            return Undefined  # a field the type does not have
        coerced: dict[str, Any] = {}
        for name, out_name, coerce_field, required, defaulted in plan:
            field_value = value.get(name, Undefined)
            if field_value is Undefined:
                if required:
                    return Undefined
                if defaulted is not None:
                    default = coerce_default_value(defaulted)
                    if default is not Undefined:
                        coerced[out_name] = default
                continue
            coerced_field = coerce_field(field_value)
            if coerced_field is Undefined:
                return Undefined
            coerced[out_name] = coerced_field
        if one_of:
            defined = sum(1 for v in value.values() if v is not Undefined)
            keys = list(coerced)
            if defined != 1 or len(keys) != 1 or coerced[keys[0]] is None:
                return Undefined
        return out_type(coerced)

    built[type_.name] = coerce  # before its fields: two fields may share a type
    for entry in plan:
        entry[2] = _of_type(fields[entry[0]].type, built)
    return coerce


_COERCERS: dict[int, tuple[GraphQLSchema, Coercers]] = {}
_graphql_get_variable_values = values.get_variable_values


def get_variable_values(
    schema: GraphQLSchema,
    var_def_nodes: Any,
    inputs: dict[str, Any],
    max_errors: int | None = None,
    hide_suggestions: bool = False,
) -> VariableValues | list[GraphQLError]:
    """graphql-core's `get_variable_values`, with each variable run through its type's function;
    graphql-core's own for any variable they leave to it, and for all errors."""
    entry = _COERCERS.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = _COERCERS[id(schema)] = (schema, Coercers(schema))
    coercers = entry[1]
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for node in var_def_nodes:
        found = coercers.for_type_node(node.type)
        name = node.variable.name.value
        value = inputs.get(name, Undefined)
        if found is _UNHANDLED or node.default_value is not None:
            return _graphql_get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        type_, coerce = found
        signature = GraphQLVariableSignature(name=name, type=type_, default=None)  # graphql-core's, no default
        if value is Undefined:
            if isinstance(node.type, NonNullTypeNode):
                return _graphql_get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
            sources[name] = VariableValueSource(signature)
            continue
        result = coerce(value)
        if result is Undefined:
            return _graphql_get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        sources[name] = VariableValueSource(signature, value)
        coerced[name] = result
    return VariableValues(sources, coerced)


def install() -> None:
    """Make graphql-core's executor coerce variables here (idempotent)."""
    executor.get_variable_values = get_variable_values  # type: ignore[assignment]
