"""How queries execute: graphql-core's executor, with plain leaf fields read in one step and
resolvers called without strawberry's per-call wrapping where it would do nothing.

Most fields of an answer are leaves read straight off an attribute (`number`, `status`,
`placedAt`...). graphql-core spends on each one what it spends on a resolver with arguments:
a path, a resolve-info object, strawberry's wrapper, an awaitable check and three completion
calls. For a field that strawberry itself treats as basic (no resolver, no extension, no
permission) and whose type is a scalar or an enum, the answer is `coerce(getattr(source,
attribute))`; this executor computes exactly that, and raises the same errors graphql-core
would (null in a non-null field, a value the scalar refuses). Plain fields of an object type,
or a list of one (a connection's `edges`, an edge's `node`), are read the same way and their
sub-selections executed at once, without the resolve-info object and resolver call graphql-core
would make for each. Everything else takes graphql-core's own path.

Which field is which is decided once, not per object: the first object of a field in a request
(the first of 20 orders) has its sub-selection collected and sorted into steps, and every other
object runs those steps. A document without directives collects the same sub-fields every
time, so those are kept across requests. Each output type's shape (non-null, a list, which
object type) is worked out with the schema, and an interface's value of a strawberry type
completes as that type, looked up once per class.

A field with a resolver goes, on every call, through strawberry's argument conversion and
extension chain, even when its only extension is a permission check. `thin_resolvers` gives
such fields a resolver that does the same work directly: the arguments under their Python
names, input objects built by the converters compiled per input type (as strawberry's
conversion calls them); the permission checks, in order, with strawberry's errors; the
resolver called with `self`, `info` and the arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.executor import Path, invalid_return_type_error
from graphql.pyutils import Undefined, gather_with_cancel, inspect, is_iterable
from strawberry import UNSET
from strawberry.permission import PermissionExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from graph import arguments, variables


class PlainLeaf(NamedTuple):
    attribute: str
    coerce: Any  # the scalar's or enum's coerce_output_value
    non_null: bool


def _basic(field: Any) -> Any:
    """strawberry's definition of a field it reads with getattr (its own shortcut for basic
    fields: no resolver, extension or permission), else None."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        definition is None
        or not definition.is_basic_field
        or field.resolve.__name__ != "_get_basic_result"
        or definition.default_resolver is not getattr
    ):
        return None
    return definition


def _object_fields(schema: GraphQLSchema) -> Iterator[tuple[str, str, Any]]:
    """(type name, field name, field) of every field of the schema's own object types."""
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType) and not named.name.startswith("__"):
            for name, field in named.fields.items():
                yield named.name, name, field


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf]:
    """(type name, field name) → how to read it, for every basic scalar or enum field."""
    leaves = {}
    for type_name, name, field in _object_fields(schema):
        definition = _basic(field)
        non_null = is_non_null_type(field.type)
        inner = field.type.of_type if non_null else field.type
        if definition is not None and is_leaf_type(inner):
            leaves[type_name, name] = PlainLeaf(definition.python_name, inner.coerce_output_value, non_null)
    return leaves


class Shape(NamedTuple):
    """An output type completed in one step: an object type or a list of one, maybe non-null."""

    non_null: bool
    object_type: Any  # the object type (of the items, for a list)
    item_type: Any  # for a list, its item type (maybe non-null); else None
    item_non_null: bool


class PlainObject(NamedTuple):
    attribute: str
    type: Any  # the field's output type: an object type, or a list of one, maybe non-null
    shape: Shape | None


def _unwrapped(type_: Any) -> Any:
    return type_.of_type if is_non_null_type(type_) else type_


def _shape(type_: Any) -> Shape | None:
    """How `type_` completes, when it is an object type (with strawberry's is_type_of, if any)
    or a list of one; None for anything else (lists of lists, interfaces, unions, leaves)."""
    inner = _unwrapped(type_)
    if is_list_type(inner):
        item = inner.of_type
        object_type = _unwrapped(item)
        return Shape(is_non_null_type(type_), object_type, item, is_non_null_type(item)) if _plain_object_type(object_type) else None
    return Shape(is_non_null_type(type_), inner, None, False) if _plain_object_type(inner) else None


def _plain_object_type(type_: Any) -> bool:
    """An object type whose is_type_of, if any, is strawberry's (which ignores its info)."""
    check = getattr(type_, "is_type_of", None)
    return is_object_type(type_) and (check is None or "_get_is_type_of" in check.__qualname__)


def plain_objects(schema: GraphQLSchema) -> dict[tuple[str, str], PlainObject]:
    """(type name, field name) → how to read it, for every basic field without arguments whose
    type is an object type or a list of one: connections' `edges`, edges' `node`, `pageInfo`."""
    objects = {}
    for type_name, name, field in _object_fields(schema):
        definition = _basic(field)
        if definition is None or field.args:
            continue
        inner = _unwrapped(field.type)
        if is_list_type(inner):
            inner = _unwrapped(inner.of_type)
        if _plain_object_type(inner):
            objects[type_name, name] = PlainObject(definition.python_name, field.type, _shape(field.type))
    return objects


class ResolvedField(NamedTuple):
    field: Any  # the GraphQLField, with its resolver
    leaf: Any  # the return type when it is a leaf (maybe non-null), else None: an object or a list of one
    shape: Shape | None  # how an object or a list of one completes (None for leaves and nested lists)


def resolved_fields(schema: GraphQLSchema) -> dict[tuple[str, str], ResolvedField]:
    """(type name, field name) → the field, for every field with a resolver of its own whose
    type is a leaf, an object type or a list of one (no interfaces or unions: those need
    graphql-core's type resolution)."""
    fields = {}
    for type_name, name, field in _object_fields(schema):
        if field.resolve is None or _basic(field) is not None:
            continue
        inner = _unwrapped(field.type)
        if is_leaf_type(inner):
            fields[type_name, name] = ResolvedField(field, field.type, None)
            continue
        if is_list_type(inner):
            inner = _unwrapped(inner.of_type)
        if _plain_object_type(inner):
            fields[type_name, name] = ResolvedField(field, None, _shape(field.type))
    return fields


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context; `leaves` and `objects` are set on the subclass a schema
    builds (`for_schema`), so the tables are computed once per schema, not per request."""

    leaves: dict[tuple[str, str], PlainLeaf] = {}
    objects: dict[tuple[str, str], PlainObject] = {}
    resolved: dict[tuple[str, str], ResolvedField] = {}
    runtime_types: dict[tuple[str, type], Any] = {}  # complete_abstract_value: learnt per class

    @classmethod
    def for_schema(cls, schema: GraphQLSchema) -> type[ExecutionContext]:
        variables.install()  # variables coerced by functions built per type (graph/variables.py)
        arguments.install()  # literal arguments coerced once per field of a document (graph/arguments.py)
        tables = {
            "leaves": plain_leaves(schema),
            "objects": plain_objects(schema),
            "resolved": resolved_fields(schema),
            "runtime_types": {},
        }
        return type("ExecutionContext", (cls,), tables)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hooked = _has_middleware(self.middleware_manager)  # a per-field hook must see every field
        self._field_plans: dict[int, tuple[Any, list[Any]]] = {}  # id(field set) → (it, its steps)
        self._subplans: dict[tuple[Any, int], tuple[Any, ...]] = {}  # _subfields: per object type and field

    def build_response(self, data: Any) -> Any:
        response = super().build_response(data)
        # The resolvers' async helpers are bound methods of this context, which holds them: a
        # cycle that leaves the context and everything it reached to the cycle collector
        # (graph/context.py, `release`). Execution is over once nothing runs in the background.
        if not self.background_futures and not self.pending_incremental_futures:
            self.async_helpers = _FINISHED
        return response

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A plain object field (`objects`) is read and completed without a resolve-info object
        or a resolver call; a field with a resolver (`resolved`) is resolved and completed as
        graphql-core does, minus its dispatch on the return type and the wrapper that watches
        for an abort signal (there is none); anything unusual takes graphql-core's path.
        (`execute_fields` makes this choice once per field set; this is for the other callers:
        a mutation's root fields, executed one after another.)"""
        if not self._hooked:  # a per-field hook must see every field
            kind, spec = self._kind(parent_type.name, field_details_list[0].node.name.value)
            if kind is _OBJECT:
                return self._execute_plain(spec, parent_type, source, field_details_list, path, position_context)
            if kind is _RESOLVED and position_context is None and self.abort_signal is None:
                return self._resolve_field(spec, parent_type, source, field_details_list, path)
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _execute_plain(
        self, plain: PlainObject, parent_type: Any, source: Any, field_details_list: Any, path: Path, position_context: Any
    ) -> Any:
        return_type = plain.type
        try:
            value = getattr(source, plain.attribute)
            completed = self._complete_shaped(
                plain.shape, return_type, field_details_list, path, value, position_context, parent_type
            )
            if completed is _LONG_WAY:
                field_def = parent_type.fields[field_details_list[0].node.name.value]
                info = self.build_resolve_info(field_def, [d.node for d in field_details_list], parent_type, path)
                completed = self.complete_value(return_type, field_details_list, info, path, value, position_context)
            if self.is_awaitable(completed):
                return self._settled(completed, return_type, field_details_list, path)
            return completed
        except Exception as raw_error:  # noqa: BLE001 - located and handled as graphql-core would
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _resolve_field(
        self, resolved: ResolvedField, parent_type: Any, source: Any, field_details_list: Any, path: Path
    ) -> Any:
        field = resolved.field
        first = field_details_list[0]
        info = self.build_resolve_info(field, [details.node for details in field_details_list], parent_type, path)
        try:
            args = (
                arguments.get_argument_values(
                    field, first.node, self.variable_values, first.fragment_variable_values, self.hide_suggestions
                )
                if field.args or first.node.arguments
                else {}
            )
            result = field.resolve(source, info, **args)
            if self.is_awaitable(result):
                return self._completed_later(resolved, field_details_list, info, path, result, parent_type)
            completed = self._complete_resolved(resolved, field_details_list, info, path, result, parent_type)
            if self.is_awaitable(completed):
                return self._settled(completed, field.type, field_details_list, path)
            return completed
        except Exception as raw_error:  # noqa: BLE001 - located and handled as graphql-core would
            self.handle_field_error(raw_error, field.type, field_details_list, path)
            return None

    async def _completed_later(
        self, resolved: ResolvedField, field_details_list: Any, info: Any, path: Path, result: Any, parent_type: Any
    ) -> Any:
        try:
            completed = self._complete_resolved(resolved, field_details_list, info, path, await result, parent_type)
            if self.is_awaitable(completed):
                completed = await completed
            return completed
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core's complete_awaitable_value
            self.handle_field_error(raw_error, resolved.field.type, field_details_list, path)
            return None

    def _complete_resolved(
        self, resolved: ResolvedField, field_details_list: Any, info: Any, path: Path, value: Any, parent_type: Any
    ) -> Any:
        return_type = resolved.field.type
        leaf = resolved.leaf
        if leaf is None:
            completed = self._complete_shaped(resolved.shape, return_type, field_details_list, path, value, None, parent_type)
            if completed is _LONG_WAY:
                completed = self.complete_value(return_type, field_details_list, info, path, value, None)
            return completed
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            if is_non_null_type(leaf):
                raise TypeError(f"Cannot return null for non-nullable field {parent_type.name}.{info.field_name}.")
            return None
        return self.complete_leaf_value(_unwrapped(leaf), value)

    def _complete_shaped(
        self,
        shape: Shape | None,
        return_type: Any,
        field_details_list: Any,
        path: Path,
        value: Any,
        position_context: Any,
        parent_type: Any,
    ) -> Any:
        """`_complete_plain` for a type whose shape is known: an object, or a plain list of
        objects (items completed in one loop); other types and values go to `_complete_plain`."""
        if shape is None:
            return self._complete_plain(return_type, field_details_list, path, value, position_context, parent_type)
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            if shape.non_null:
                raise TypeError(_null_message(parent_type, field_details_list))
            return None
        item_type = shape.item_type
        object_type = shape.object_type
        is_type_of = object_type.is_type_of
        if item_type is None:
            if is_type_of is not None and not is_type_of(value, None):
                raise invalid_return_type_error(object_type, value, field_details_list)
            return self._subfields(object_type, field_details_list, path, value, position_context)
        is_awaitable = self.is_awaitable
        if not isinstance(value, list | tuple) or any(is_awaitable(item) for item in value):
            return self._complete_plain(return_type, field_details_list, path, value, position_context, parent_type)
        item_non_null = shape.item_non_null

        def complete_item(item: Any, item_path: Path) -> Any:
            if isinstance(item, Exception):
                raise item
            if item is None or item is Undefined:
                if item_non_null:
                    raise TypeError(_null_message(parent_type, field_details_list))
                return None
            if is_type_of is not None and not is_type_of(item, None):
                raise invalid_return_type_error(object_type, item, field_details_list)
            return self._subfields(object_type, field_details_list, item_path, item, position_context)

        return self._complete_each(value, item_type, field_details_list, path, complete_item)

    def _complete_plain(
        self, type_: Any, field_details_list: Any, path: Path, value: Any, position_context: Any, parent_type: Any
    ) -> Any:
        """graphql-core's complete_value for an object type or a list of one; _LONG_WAY for
        values it should see itself (async iterables, awaitable items)."""
        if isinstance(value, Exception):
            raise value
        if is_non_null_type(type_):
            completed = self._complete_plain(
                type_.of_type, field_details_list, path, value, position_context, parent_type
            )
            if completed is None:
                raise TypeError(_null_message(parent_type, field_details_list))
            return completed
        if value is None or value is Undefined:
            return None
        if is_list_type(type_):
            if self.is_async_iterable(value) or not isinstance(value, list | tuple):
                if not is_iterable(value) and not self.is_async_iterable(value):
                    field_name = field_details_list[0].node.name.value
                    raise GraphQLError(
                        f"Expected Iterable, but did not find one for field '{parent_type.name}.{field_name}'."
                    )
                return _LONG_WAY
            if any(self.is_awaitable(item) for item in value):
                return _LONG_WAY
            return self._complete_items(type_.of_type, field_details_list, path, value, position_context, parent_type)
        if type_.is_type_of is not None and not type_.is_type_of(value, None):
            raise invalid_return_type_error(type_, value, field_details_list)
        return self._subfields(type_, field_details_list, path, value, position_context)

    def _complete_items(
        self, item_type: Any, field_details_list: Any, path: Path, items: Any, position_context: Any, parent_type: Any
    ) -> Any:
        def complete_item(item: Any, item_path: Path) -> Any:
            return self._complete_plain(item_type, field_details_list, item_path, item, position_context, parent_type)

        return self._complete_each(items, item_type, field_details_list, path, complete_item)

    def _complete_each(
        self, items: Any, item_type: Any, field_details_list: Any, path: Path, complete_item: Any
    ) -> Any:
        """The items of a list, each completed by `complete_item(item, its path)`, with errors and
        awaitables handled as graphql-core's complete_iterable_value handles them."""
        completed: list[Any] = []
        waiting: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, item in enumerate(items):
                item_path = Path(path, index, None)
                try:
                    result = complete_item(item, item_path)
                    if is_awaitable(result):
                        result = self._settled(result, item_type, field_details_list, item_path)
                        waiting.append(index)
                    completed.append(result)
                except Exception as raw_error:  # noqa: BLE001 - as graphql-core's complete_list_item_value
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)  # raises if non-null
                    completed.append(None)
        except Exception:
            if waiting:  # the list failed: its items still running must settle, as graphql-core does
                self.settle_in_background([completed[index] for index in waiting])
            raise
        return self._gathered(completed, waiting) if waiting else completed

    async def _gathered(self, completed: list[Any], waiting: list[int]) -> list[Any]:
        """`completed` once its items at `waiting` (awaitables) have settled."""
        if len(waiting) == 1:
            completed[waiting[0]] = await completed[waiting[0]]
        else:
            for index, result in zip(waiting, await gather_with_cancel(*(completed[i] for i in waiting)), strict=True):
                completed[index] = result
        return completed

    async def _settled(self, completed: Any, return_type: Any, field_details_list: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core's await_completed
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def complete_abstract_value(
        self, return_type: Any, field_details_list: Any, info: Any, path: Path, result: Any, position_context: Any
    ) -> Any:
        """An interface's value whose class is a (non-generic) strawberry type implementing it
        completes as that type, as strawberry's resolve_type would decide, without asking it
        per value: `node(id:)` answers, search results."""
        key = (return_type.name, type(result))
        runtime_type = self.runtime_types.get(key)
        if runtime_type is None:
            runtime_type = self.runtime_types[key] = _runtime_type(self.schema, return_type, type(result))
        if runtime_type is False or getattr(result, TYPE_CAST_ATTRIBUTE, None) is not None:
            return super().complete_abstract_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self.complete_object_value(runtime_type, field_details_list, info, path, result, position_context)

    def collect_and_execute_subfields(
        self, return_type: Any, field_details_list: Any, path: Path, result: Any, position_context: Any
    ) -> Any:
        return self._subfields(return_type, field_details_list, path, result, position_context)

    def _subfields(
        self, object_type: Any, field_details_list: Any, path: Path, source: Any, position_context: Any
    ) -> Any:
        """graphql-core's collect_and_execute_subfields: the sub-selections (collected, and
        their steps planned, once per field of a request) executed on `source`, straight
        through the steps when nothing is deferred and no middleware watches each field."""
        planned = self._subplans.get((object_type, id(field_details_list)))
        if planned is None:
            grouped_field_set, new_defer_usages, _ = self._collected(object_type, field_details_list)
            steps = None if new_defer_usages or self._hooked else self._planned_steps(object_type, grouped_field_set)
            # The field details are kept with the plan, so their id is not reused while it lives.
            planned = (field_details_list, grouped_field_set, new_defer_usages, steps)
            self._subplans[object_type, id(field_details_list)] = planned
        steps = planned[3]
        if steps is not None and position_context is None:
            return self._run_steps(object_type, source, path, steps, None)
        return self.execute_collected_subfields(object_type, source, path, planned[1], planned[2], position_context)

    def _collected(self, object_type: Any, field_details_list: Any) -> Any:
        """graphql-core's collect_subfields, remembered across requests for the same fields of
        the same (cached, so identical) document, when nothing in it depends on variables:
        no directives (@skip, @include, @defer) and no fragment arguments."""
        if not _fixed_selections(self.operation, self.fragments):
            return self.collect_subfields(object_type, field_details_list)
        key = (object_type, *[id(details.node) for details in field_details_list])
        entry = _COLLECTED.get(key)
        if entry is None or any(a is not b.node for a, b in zip(entry[0], field_details_list, strict=True)):
            if len(_COLLECTED) >= _CACHE_SIZE:
                _COLLECTED.clear()
            # The nodes are kept with the entry, so their ids are not reused while it lives.
            nodes = [details.node for details in field_details_list]
            entry = _COLLECTED[key] = (nodes, self.collect_subfields(object_type, field_details_list))
        return entry[1]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's loop over an object's fields, with each field's way of executing
        (a plain leaf read in place, a plain object, a resolver, graphql-core's own path)
        decided once per field set of a request (the 20 orders of a page share one), not once
        per object."""
        if self._hooked:  # a per-field hook must see every field
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        steps = self._planned_steps(parent_type, grouped_field_set)
        return self._run_steps(parent_type, source_value, path, steps, position_context)

    def _planned_steps(self, parent_type: Any, grouped_field_set: Any) -> list[tuple[str, object, Any, Any]]:
        planned = self._field_plans.get(id(grouped_field_set))
        if planned is None or planned[0] is not grouped_field_set:
            # The field set is kept with its plan, so its id is not reused while the plan lives.
            planned = self._field_plans[id(grouped_field_set)] = (grouped_field_set, self._steps(parent_type, grouped_field_set))
        return planned[1]

    def _run_steps(
        self, parent_type: Any, source_value: Any, path: Path | None, steps: Any, position_context: Any
    ) -> Any:
        type_name = parent_type.name
        is_awaitable = self.is_awaitable
        direct = position_context is None and self.abort_signal is None
        results: dict[str, Any] = {}
        waiting: list[str] = []
        try:
            for response_name, kind, spec, field_details_list in steps:
                if kind is _LEAF:  # as `_read`, in place: most of an answer's fields are these
                    try:
                        value = getattr(source_value, spec[0])
                        if value is None or value is Undefined:
                            if spec[2]:
                                raise TypeError(_null_message(parent_type, field_details_list))
                            results[response_name] = None
                            continue
                        if isinstance(value, Exception):
                            raise value
                        coerced = spec[1](value)
                        if coerced is Undefined or coerced is None:
                            raise TypeError(
                                f"Expected a non-null value from coercing {inspect(value)}, got {inspect(coerced)}."
                            )
                        results[response_name] = coerced
                    except Exception as raw_error:  # noqa: BLE001 - located and handled as graphql-core would
                        field_def = parent_type.fields[field_details_list[0].node.name.value]
                        self.handle_field_error(
                            raw_error, field_def.type, field_details_list, Path(path, response_name, type_name)
                        )
                        results[response_name] = None
                    continue
                field_path = Path(path, response_name, type_name)
                if kind is _OBJECT:
                    result = self._execute_plain(
                        spec, parent_type, source_value, field_details_list, field_path, position_context
                    )
                elif kind is _RESOLVED and direct:
                    result = self._resolve_field(spec, parent_type, source_value, field_details_list, field_path)
                else:
                    result = super().execute_field(
                        parent_type, source_value, field_details_list, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        waiting.append(response_name)
        except Exception:
            if waiting:  # the fields still running must settle, as graphql-core does
                self.settle_in_background([results[name] for name in waiting])
            raise
        if not waiting:
            return results

        async def get_results() -> dict[str, Any]:
            if len(waiting) == 1:
                results[waiting[0]] = await results[waiting[0]]
            else:
                results.update(zip(waiting, await gather_with_cancel(*(results[name] for name in waiting)), strict=True))
            return results

        return get_results()

    def _steps(self, parent_type: Any, grouped_field_set: Any) -> list[tuple[str, object, Any, Any]]:
        """(response name, kind, what it needs, field details) for each field of the set."""
        type_name = parent_type.name
        return [
            (response_name, *self._kind(type_name, details[0].node.name.value), details)
            for response_name, details in grouped_field_set.items()
        ]

    def _kind(self, type_name: str, field_name: str) -> tuple[object, Any]:
        """How a field executes: (_LEAF, its PlainLeaf), (_OBJECT, its PlainObject), (_RESOLVED,
        its ResolvedField) or (_OTHER, None): graphql-core's own way."""
        key = (type_name, field_name)
        if (leaf := self.leaves.get(key)) is not None:
            return _LEAF, leaf
        if (plain := self.objects.get(key)) is not None:
            return _OBJECT, plain
        if (resolved := self.resolved.get(key)) is not None:
            return _RESOLVED, resolved
        return _OTHER, None


_LEAF, _OBJECT, _RESOLVED, _OTHER = object(), object(), object(), object()  # ExecutionContext._steps


_LONG_WAY = object()  # ExecutionContext._complete_plain: let graphql-core complete this value


def _execution_finished(*_: Any) -> Any:
    raise RuntimeError("this execution has finished")


_FINISHED = GraphQLResolveInfoHelpers(gather=_execution_finished, track=_execution_finished)


def _runtime_type(schema: GraphQLSchema, abstract_type: Any, cls: type) -> Any:
    """The object type strawberry's own resolve_type gives an instance of `cls` returned for
    interface `abstract_type` (a non-generic strawberry type that implements it, and a possible
    type of it in the schema), else False: the value then goes through resolve_type."""
    resolve = getattr(abstract_type, "resolve_type", None)
    interface = (getattr(abstract_type, "extensions", None) or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(abstract_type, GraphQLInterfaceType)
        or resolve is None
        or not resolve.__qualname__.endswith("._get_resolve_type.<locals>.resolve_type")
        or not isinstance(interface, StrawberryObjectDefinition)
    ):
        return False
    definition = getattr(cls, "__strawberry_definition__", None)
    if (
        not isinstance(definition, StrawberryObjectDefinition)
        or definition.is_graphql_generic
        or not issubclass(cls, interface.origin)
    ):
        return False
    runtime_type = schema.get_type(definition.name)
    if not is_object_type(runtime_type) or not schema.is_sub_type(abstract_type, runtime_type):
        return False
    return runtime_type


def _has_middleware(manager: Any) -> bool:
    return manager is not None and bool(getattr(manager, "_middleware_resolvers", None))


_CACHE_SIZE = 4096
# (object type, ids of the field nodes) → (the nodes, their collected sub-fields): ExecutionContext._collected
_COLLECTED: dict[tuple[Any, ...], tuple[list[Any], Any]] = {}
# id(operation) → (the operation, whether its selections are the same whatever the variables)
_FIXED: dict[int, tuple[Any, bool]] = {}


def _fixed_selections(operation: Any, fragments: dict[str, Any]) -> bool:
    entry = _FIXED.get(id(operation))
    if entry is None or entry[0] is not operation:
        if len(_FIXED) >= _CACHE_SIZE:
            _FIXED.clear()
        entry = _FIXED[id(operation)] = (operation, _without_directives(operation, fragments))
    return entry[1]


def _without_directives(operation: Any, fragments: dict[str, Any]) -> bool:
    """Whether no selection of the operation (or of its fragments) has a directive, and no
    fragment takes arguments: which fields are collected then depends on nothing else."""
    if any(details.definition.variable_definitions for details in fragments.values()):
        return False
    selection_sets = [operation.selection_set, *(details.definition.selection_set for details in fragments.values())]
    while selection_sets:
        for selection in selection_sets.pop().selections:
            if selection.directives or (getattr(selection, "arguments", None) and not isinstance(selection, FieldNode)):
                return False
            if getattr(selection, "selection_set", None) is not None:
                selection_sets.append(selection.selection_set)
    return True


def _null_message(parent_type: Any, field_details_list: Any) -> str:
    return f"Cannot return null for non-nullable field {parent_type.name}.{field_details_list[0].node.name.value}."


def thin_resolvers(schema: Any) -> int:
    """Give every eligible field of `schema` (a strawberry Schema) a direct resolver; returns
    how many fields got one."""
    if schema.schema_converter._exception_handler_specs:
        return 0  # strawberry's exception handlers need its wrapper
    info_class = schema.config.info_class
    changed = 0
    for _, _, field in _object_fields(schema._schema):
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if definition is None or definition.base_resolver is None or definition.is_subscription:
            continue
        permissions = _plain_permissions(definition.extensions)
        arguments = _plain_arguments(definition, field, schema)
        if permissions is None or arguments is None:
            continue
        field.resolve = _direct(definition, info_class, permissions, *arguments)
        changed += 1
    return changed


def _plain_permissions(extensions: list[Any]) -> tuple[Any, ...] | None:
    """The permissions to check, or None when an extension does more than check them."""
    checks: list[Any] = []
    for extension in extensions:
        if type(extension) is not PermissionExtension or extension.fail_silently or not extension.supports_sync:
            return None
        checks.extend(extension.permissions)
    return tuple(checks)


def _plain_arguments(definition: Any, field: Any, schema: Any) -> tuple[dict[str, str], dict[str, Any]] | None:
    """(GraphQL argument name → Python name, Python name → converter of its non-null values for
    the arguments that need one), or None when an argument needs strawberry's own conversion.
    Input objects are converted by the converters compiled per input type
    (graph/resolvers/validation.py), as strawberry itself would call them."""
    from graph.resolvers.validation import UNCONVERTED, argument_converter

    registry, config = schema.schema_converter.scalar_registry, schema.config
    names, converters = {}, {}
    for argument in definition.arguments:
        graphql_name = config.name_converter.from_argument(argument)
        convert = argument_converter(argument.type, registry, config)
        if graphql_name not in field.args or convert is None:
            return None
        names[graphql_name] = argument.python_name
        if convert is not UNCONVERTED:
            converters[argument.python_name] = convert
    return names, converters


def _direct(
    definition: Any,
    info_class: type,
    permissions: tuple[Any, ...],
    arguments: dict[str, str],
    converters: dict[str, Any],
) -> Any:
    resolver = definition.base_resolver
    function = resolver.wrapped_func
    self_wanted = resolver.self_parameter is not None
    named_source = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    renamed = {g: p for g, p in arguments.items() if g != p}

    def resolve(source: Any, raw_info: Any, **kwargs: Any) -> Any:
        info = info_class(_raw_info=raw_info, _field=definition)
        if renamed:  # the Python names, as strawberry hands them to permissions and the resolver
            kwargs = {renamed.get(name, name): value for name, value in kwargs.items()}
        for name, convert in converters.items():  # input objects and lists, as strawberry converts them
            value = kwargs.get(name)
            if value is not None and value is not UNSET:
                kwargs[name] = convert(value)
        for permission in permissions:
            allowed = permission.has_permission(source, info, **kwargs)
            if allowed is not True:
                if allowed is False:
                    return permission.on_unauthorized()
                raise TypeError(f"{type(permission).__name__}.has_permission must return a bool.")
        for name in named_source:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = info
        return function(source, **kwargs) if self_wanted else function(**kwargs)

    return resolve
