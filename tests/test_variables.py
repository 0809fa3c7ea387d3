"""Variables coerced by graph/variables.py come out exactly as graphql-core's coercion makes them,
for every input type of the schema, valid or not; anything unusual is left to graphql-core."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    is_enum_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    is_required_input_field,
    parse,
)
from graphql.execution import executor
from graphql.execution.values import get_variable_values as graphql_core_values

import graph.variables as variables
from graph.schema import schema

SCHEMA = schema._schema
SCALARS = {
    "ID": "T3JkZXI6MQ==",
    "String": "text",
    "Int": 7,
    "Float": 1.5,
    "Boolean": True,
    "Decimal": "12.50",
    "DateTime": "2026-11-25T09:00:00+00:00",
    "Date": "2026-11-25",
    "JSON": {"nested": [1, "two"]},
}
INPUT_TYPES = sorted(name for name, type_ in SCHEMA.type_map.items() if is_input_object_type(type_))


def _sample(type_: Any, full: bool) -> Any:
    """A valid value of `type_`: every field (`full`), or only the required ones."""
    if is_non_null_type(type_):
        return _sample(type_.of_type, full)
    if is_list_type(type_):
        return [_sample(type_.of_type, full), _sample(type_.of_type, full)]
    if is_enum_type(type_):
        return next(iter(type_.values))
    if is_input_object_type(type_):
        return {
            name: _sample(field.type, full)
            for name, field in type_.fields.items()
            if full or is_required_input_field(field)
        }
    return SCALARS[type_.name]


def _same(schema_: GraphQLSchema, definition: str, inputs: dict[str, Any]) -> Any:
    """Both coercions of `inputs` for the variables of `query(<definition>)`: equal, or an
    AssertionError saying how they differ."""
    nodes = parse(f"query({definition}) {{ __typename }}").definitions[0].variable_definitions
    expected = graphql_core_values(schema_, nodes, inputs)
    found = variables.get_variable_values(schema_, nodes, inputs)
    if isinstance(expected, list):
        assert isinstance(found, list), found
        assert [e.message for e in found] == [e.message for e in expected]
        return found
    assert found.coerced == expected.coerced
    assert {n: (s.signature.name, str(s.signature.type), s.value) for n, s in found.sources.items()} == {
        n: (s.signature.name, str(s.signature.type), s.value) for n, s in expected.sources.items()
    }
    return found


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the coercion was left to graphql-core."""
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return graphql_core_values(*args, **kwargs)

    monkeypatch.setattr(variables, "_graphql_get_variable_values", counted)
    return calls


def test_the_executor_uses_it() -> None:
    assert executor.get_variable_values is variables.get_variable_values


@pytest.mark.parametrize("name", INPUT_TYPES)
def test_valid_values_of_every_input_type(name: str, fallbacks: list[int]) -> None:
    type_ = SCHEMA.type_map[name]
    full, required = _sample(type_, True), _sample(type_, False)
    _same(SCHEMA, f"$v: {name}!", {"v": full})
    _same(SCHEMA, f"$v: {name}", {"v": required})  # defaults filled in
    _same(SCHEMA, f"$v: [{name}!]", {"v": full})  # a single value is a list of one
    _same(SCHEMA, f"$v: [{name}]", {"v": [full, None]})
    _same(SCHEMA, f"$v: {name}", {"v": None})
    _same(SCHEMA, f"$v: {name}", {})
    assert fallbacks == []


@pytest.mark.parametrize("name", INPUT_TYPES)
def test_invalid_values_of_every_input_type_get_graphql_cores_errors(name: str, fallbacks: list[int]) -> None:
    type_ = SCHEMA.type_map[name]
    full = _sample(type_, True)
    cases = [
        {**full, "noSuchField": 1},
        "not an object",
        {name: {"an": "object"} for name in full},  # every field of the wrong kind
    ]
    required = [f for f, field in type_.fields.items() if is_required_input_field(field)]
    if required:
        cases.append({f: v for f, v in full.items() if f != required[0]})
    for case in cases:
        _same(SCHEMA, f"$v: {name}!", {"v": case})
    _same(SCHEMA, f"$v: {name}!", {})
    _same(SCHEMA, f"$v: {name}!", {"v": None})
    assert len(fallbacks) == len(cases) + 2


def test_leaves_lists_and_enums() -> None:
    _same(SCHEMA, "$a: Int, $b: [String!]!, $c: ID", {"a": 3, "b": "one", "c": 5})
    _same(SCHEMA, "$a: Int!", {"a": "3"})  # not an Int
    _same(SCHEMA, "$s: [OrderStatus!]", {"s": ["SUBMITTED", "CONFIRMED"]})
    _same(SCHEMA, "$s: [OrderStatus!]", {"s": ["NOT_A_STATUS"]})
    _same(SCHEMA, "$d: Decimal", {"d": "not a number"})


def test_defaults_and_unknown_types_are_left_to_graphql_core(fallbacks: list[int]) -> None:
    _same(SCHEMA, "$a: Int = 3", {})
    _same(SCHEMA, "$a: Int = 3", {"a": 4})
    _same(SCHEMA, "$a: NoSuchType", {"a": 1})
    _same(SCHEMA, "$a: Order", {"a": {}})  # an output type
    assert len(fallbacks) == 4


def test_input_types_that_contain_themselves_are_left_to_graphql_core(fallbacks: list[int]) -> None:
    # Only these can be nested deeper than their type; graphql-core guards against that.
    tree = GraphQLInputObjectType(
        "Tree", lambda: {"label": GraphQLInputField(GraphQLString), "children": GraphQLInputField(GraphQLList(tree))}
    )
    toy = GraphQLSchema(
        GraphQLObjectType("Query", {"f": GraphQLField(GraphQLInt, args={"t": GraphQLArgument(tree)})})
    )
    value: dict[str, Any] = {"label": "leaf"}
    for _ in range(3):
        value = {"label": "node", "children": [value]}
    _same(toy, "$t: Tree", {"t": value})
    assert fallbacks == [1]
