"""Input checks shared by every mutation; each adds typed errors to an ErrorCollector."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from strawberry import UNSET

from graph.errors import ErrorCode, ErrorCollector
from graph.ids import decode_global_id
from graph.writes import UnitOfWork

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


_TOO_LARGE = Decimal(10) ** 13  # the smallest amount refused as too large (built once: it is asked per line)

def text(errors: ErrorCollector, field: str, value: Any, *, required: bool = False, max_length: int = 300) -> None:
    if value is None:
        if required:
            errors.add(field, "Required.", ErrorCode.REQUIRED)
        return
    if required and not value.strip():
        errors.add(field, "Must not be blank.", ErrorCode.REQUIRED)
    elif len(value) > max_length:
        errors.add(field, f"At most {max_length} characters.", ErrorCode.TOO_LONG)


def email(errors: ErrorCollector, field: str, value: str | None) -> None:
    if value is not None and (len(value) > 254 or not _EMAIL.match(value)):
        errors.add(field, "Not an email address.", ErrorCode.INVALID)


def currency(errors: ErrorCollector, field: str, value: str | None) -> None:
    if value is not None and not _CURRENCY.match(value):
        errors.add(field, "A three-letter ISO 4217 code in capitals, e.g. CNY.", ErrorCode.INVALID)


def amount(
    errors: ErrorCollector, field: str, value: Decimal | None, *, positive: bool = False, scale: int = 4
) -> None:
    if value is None:
        return
    try:
        finite = value.is_finite()
    except (AttributeError, InvalidOperation):
        finite = False
    if not finite:
        errors.add(field, "Not a finite number.", ErrorCode.INVALID)
        return
    if value < 0 or (positive and value == 0):
        errors.add(field, "Must be greater than zero." if positive else "Must not be negative.", ErrorCode.OUT_OF_RANGE)
    elif value.as_tuple().exponent < -scale:  # type: ignore[operator]
        errors.add(field, f"At most {scale} decimal places.", ErrorCode.INVALID)
    elif abs(value) >= _TOO_LARGE:
        errors.add(field, "Too large.", ErrorCode.OUT_OF_RANGE)


def date_order(errors: ErrorCollector, field: str, start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        errors.add(field, "Must not be before the start date.", ErrorCode.OUT_OF_RANGE)


def int_range(errors: ErrorCollector, field: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        errors.add(field, f"Must be between {low} and {high}.", ErrorCode.OUT_OF_RANGE)


async def reference(
    uow: UnitOfWork,
    errors: ErrorCollector,
    field: str | tuple[str, ...],
    global_id: str | None,
    model: type,
    type_names: str | tuple[str, ...],
    *,
    required: bool = True,
    check: Any = None,
) -> Any:
    """Resolve an input id to a record the caller may see; report it on `field` otherwise.

    `check(obj)` may return an error message (e.g. "is not a supplier")."""
    if global_id is None:
        if required:
            errors.add(field, "Required.", ErrorCode.REQUIRED)
        return None
    decoded = decode_global_id(global_id, type_names)
    if decoded is None:
        names = type_names if isinstance(type_names, str) else " or ".join(type_names)
        errors.add(field, f"Not the id of a {names}.", ErrorCode.INVALID)
        return None
    obj = await uow.find(model, decoded[1])
    if obj is None:
        errors.add(field, "No record with this id.", ErrorCode.NOT_FOUND)
        return None
    if getattr(obj, "archived_at", None) is not None:
        errors.add(field, "This record is archived.", ErrorCode.ARCHIVED)
        return None
    if check is not None:
        problem = check(obj)
        if problem:
            errors.add(field, problem, ErrorCode.INVALID)
            return None
    return obj



# -- input conversion -----------------------------------------------------------------------
#
# strawberry turns every input object of a mutation into its dataclass by walking the type
# annotations of each field for each value (resolving types, converting names); for a sync
# batch of 500 orders that was the largest cost of the request. Each input type gets a
# converter compiled once instead: the same dataclasses, the same values, the same UNSET and
# None handling (strawberry.types.arguments.convert_argument), through its `from_input` hook.


def compile_input_converters(schema: Any) -> None:
    """Install a precompiled converter on every input type of `schema` that strawberry
    would convert field by field (types with a `from_input` of their own or Maybe fields
    keep strawberry's conversion)."""
    from strawberry.types.base import StrawberryObjectDefinition

    registry, config = schema.schema_converter.scalar_registry, schema.config
    for concrete in list(schema.schema_converter.type_map.values()):
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and definition.is_input:
            _input_converter(definition, registry, config)


_UNCONVERTED = object()  # a leaf: graphql-core's coerced value is the Python value
UNCONVERTED = _UNCONVERTED


def _input_converter(definition: Any, registry: Any, config: Any) -> Any:
    """The converter of an input type (installed as its `from_input`), or None when the type
    must keep strawberry's own conversion."""
    from strawberry.types.base import StrawberryMaybe

    built = getattr(definition, "_compiled_converter", None)
    if built is not None:
        return built
    if definition.from_input is not None or any(isinstance(f.type, StrawberryMaybe) for f in definition.fields):
        return None
    cls = definition.origin
    defaults = {
        f.python_name: None
        for f in definition.fields
        if f.default_value is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    fields: list[tuple[str, str, Any]] = []

    def build(value: Any, into: type = cls) -> Any:
        kwargs = dict(defaults)
        for graphql_name, python_name, convert in fields:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = item if convert is _UNCONVERTED or item is None or item is UNSET else convert(item)
        return into(**kwargs)

    definition._compiled_converter = build  # before the fields: input types may nest themselves
    for f in definition.fields:
        convert = _value_converter(f.resolve_type(type_definition=definition), registry, config)
        fields.append((config.name_converter.from_field(f), f.python_name, convert))
    definition.from_input = lambda into, value, _context: build(value, into)
    return build


def argument_converter(type_: Any, registry: Any, config: Any) -> Any:
    """How to convert a non-null argument value of `type_` as strawberry would: UNCONVERTED for
    leaves, else a function; None when only strawberry's own conversion will do (it then needs
    the argument's path and the request's info, which the functions here do not take)."""
    return _value_converter(type_, registry, config, fallback=False)


def _value_converter(type_: Any, registry: Any, config: Any, fallback: bool = True) -> Any:
    """How to convert a non-null value of `type_` (None and UNSET pass through untouched)."""
    from strawberry.relay.types import GlobalID
    from strawberry.types.arguments import _is_leaf_type, convert_argument
    from strawberry.types.base import (
        StrawberryList,
        StrawberryMaybe,
        StrawberryOptional,
        has_object_definition,
    )
    from strawberry.types.enum import has_enum_definition
    from strawberry.types.lazy_type import LazyType

    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        return _value_converter(type_.of_type, registry, config, fallback)
    if isinstance(type_, LazyType):
        return _value_converter(type_.resolve_type(), registry, config, fallback)
    if type_ is not GlobalID and (_is_leaf_type(type_, registry) or has_enum_definition(type_)):
        return _UNCONVERTED
    if isinstance(type_, StrawberryList):
        item = _value_converter(type_.of_type, registry, config, fallback)
        if item is _UNCONVERTED:
            return list  # a copy: graphql-core shares defaults between requests
        if item is None:
            return None
        return lambda values: [v if v is None or v is UNSET else item(v) for v in values]
    if has_object_definition(type_) and type_.__strawberry_definition__.is_input:
        nested = _input_converter(type_.__strawberry_definition__, registry, config)
        if nested is not None:
            return nested
    if not fallback:
        return None
    return lambda value: convert_argument(value, type_, registry, config)
