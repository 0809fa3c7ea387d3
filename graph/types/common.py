"""Shared GraphQL building blocks: money, connections, user errors, sorting, node lookup."""

from __future__ import annotations

import dataclasses
import enum
import operator
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode
from strawberry import relay
from strawberry.permission import BasePermission

from graph.access import WRITE_ROLES, PrincipalKind
from graph.context import Info
from graph.errors import ErrorCode as _ErrorCode
from graph.errors import FieldError, UserInputError
from graph.loaders import NOT_SEEN, Filter, Relation
from graph.pagination import Include, Page, PageRequest, encode_cursor, fetch_page, page_request
from graph.writes import UnitOfWork, expect_version, transaction

T = TypeVar("T")


def doc(description: str, **kwargs: Any) -> Any:
    """A plain data field with its description (the schema is the frontend's documentation)."""
    return strawberry.field(description=description, **kwargs)


class InternalOnly(BasePermission):
    """Declared on fields partners must never read (credit, tier, costs, internal notes)."""

    message = "This field is internal: partners may not read it."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.is_internal


def internal(description: str, **kwargs: Any) -> Any:
    return strawberry.field(description=description, permission_classes=[InternalOnly], **kwargs)


class AdminOnly(BasePermission):
    """Declared on fields only admins may read (the audit trail)."""

    message = "Only admins may read the audit trail."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.role == "admin"


class BuyerPrices(BasePermission):
    """Prices the customer pays: for us and that customer, never for suppliers or distributors."""

    message = "Only the buying customer and internal users may read this price."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal.is_internal or principal.kind is PrincipalKind.CUSTOMER


def allow(group: str) -> type[BasePermission]:
    """The permission a mutation declares: which roles may run it (graph.access.WRITE_ROLES)."""
    roles = WRITE_ROLES[group]

    class Allowed(BasePermission):
        message = "Your role may not run this mutation."
        error_extensions = {"code": "FORBIDDEN"}

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            principal = info.context.principal
            # A key limited to the read scope never writes, whatever its role.
            return principal.role in roles and (not principal.scopes or "write" in principal.scopes)

    Allowed.__name__ = f"Allowed_{group}"
    return Allowed


ErrorCode = strawberry.enum(_ErrorCode, description="Why an input was refused.")


@strawberry.type(description="One problem with a mutation's input. Nothing was changed.")
class UserError:
    field: list[str] = doc("Path to the offending input field, e.g. [\"lines\", \"2\", \"quantity\"].")
    message: str = doc("What is wrong, in words a person can act on.")
    code: ErrorCode = doc("Machine-readable reason.")

    @classmethod
    def from_error(cls, error: FieldError) -> UserError:
        return cls(field=list(error.field), message=error.message, code=error.code)


@strawberry.type(description="An exact amount of money in a currency (amount is a decimal string).")
class Money:
    amount: Decimal = doc("The amount, exact (never a float).")
    currency: str = doc("ISO 4217 currency code, e.g. CNY.")


def money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency)


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="An inclusive range of dates.")
class DateRange:
    from_: date | None = strawberry.field(default=None, name="from", description="Earliest date, inclusive.")
    to: date | None = doc("Latest date, inclusive.", default=None)


@strawberry.input(description="A range of instants (UTC); `from` inclusive, `to` exclusive.")
class DateTimeRange:
    from_: datetime | None = strawberry.field(default=None, name="from", description="From (inclusive).")
    to: datetime | None = doc("Until (exclusive).", default=None)


@strawberry.input(description="An inclusive range of decimal amounts.")
class DecimalRange:
    min: Decimal | None = doc("Smallest amount, inclusive.", default=None)
    max: Decimal | None = doc("Largest amount, inclusive.", default=None)


@strawberry.type(description="A page of results with Relay cursors.")
class Connection(relay.Connection[relay.NodeType]):
    _count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="How many items match, over all pages (counted only when asked).")
    async def total_count(self) -> int:
        assert self._count is not None
        return await self._count()


class LazyEdge(relay.Edge):
    """relay.Edge (the same GraphQL type) whose cursor is encoded only when a client selects
    it: most pages are read for their nodes, and encoding every row's cursor was measurable."""

    def __init__(self, node: Any, request: PageRequest, row: Any) -> None:  # noqa: D107
        self.node, self._request, self._row = node, request, row

    @property
    def cursor(self) -> str:  # type: ignore[override]
        return encode_cursor(self._request, self._row)


class LazyPageInfo(relay.PageInfo):
    """relay.PageInfo (the same GraphQL type) whose cursors are encoded only when selected: a
    portal page has some forty nested connections and asks for one end cursor."""

    def __init__(self, page: Page) -> None:  # noqa: D107
        self.has_next_page, self.has_previous_page, self._page = page.has_next, page.has_previous, page

    @property
    def start_cursor(self) -> str | None:  # type: ignore[override]
        rows = self._page.rows
        return encode_cursor(self._page.request, rows[0]) if rows else None

    @property
    def end_cursor(self) -> str | None:  # type: ignore[override]
        rows = self._page.rows
        return encode_cursor(self._page.request, rows[-1]) if rows else None


def build_connection(
    page: Page, builder: Callable[[Any], T], count: Callable[[], Awaitable[int]] | None = None
) -> Connection[T]:
    request = page.request
    edges = [LazyEdge(builder(row), request, row) for row in page.rows]
    return Connection(edges=edges, page_info=LazyPageInfo(page), _count=count)


def make_page_request(
    info: Info,
    model: type,
    sort: str,
    direction: SortDirection,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageRequest:
    settings = info.context.settings
    return page_request(
        model=model,
        sort=sort,
        descending=direction is SortDirection.DESC,
        first=first,
        after=after,
        last=last,
        before=before,
        default_size=settings.default_page_size,
        max_size=settings.max_page_size,
    )


def row_builder(cls: type[T], renames: dict[str, str] | None = None) -> Callable[[Any], T]:
    """Build a GraphQL object straight from a row (or ORM object) by its init fields.

    `renames` maps a field to the column it is read from, where the two names differ."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    sources = [(f.name, (renames or {}).get(f.name, f.name)) for f in fields if f.init]

    def build(row: Any) -> T:
        return cls(**{name: getattr(row, column) for name, column in sources})

    if len(sources) < 2 or not _stores_only(cls, fields):
        return build
    # What the dataclass's __init__ would do, without building a dict of keyword arguments
    # and parsing it again for every row: a page builds some seventy objects.
    names = tuple(name for name, _ in sources)
    read = operator.attrgetter(*(column for _, column in sources))  # a tuple, in one call
    new = object.__new__

    def build_in_place(row: Any) -> T:
        built = new(cls)
        built.__dict__.update(zip(names, read(row), strict=True))
        return built

    return build_in_place


def _stores_only(cls: type, fields: tuple[dataclasses.Field, ...]) -> bool:
    """Whether `cls(**values)` only stores the values: the dataclass's generated __init__ (it
    leaves the plain defaults of fields that are not arguments on the class), no __post_init__,
    no slots or __new__ of its own, no default factories, no field shadowed by a descriptor."""
    init = cls.__dict__.get("__init__")
    return (
        init is not None
        and getattr(getattr(init, "__code__", None), "co_filename", None) == "<string>"  # dataclass-generated
        and not hasattr(cls, "__post_init__")
        and cls.__new__ is object.__new__
        and not hasattr(cls, "__slots__")
        and all(f.default_factory is dataclasses.MISSING for f in fields)
        and not any(hasattr(type(getattr(cls, f.name, None)), "__set__") for f in fields)
    )


def freeze(value: Any) -> Any:
    """A hashable form of an input object, used to batch identical nested requests."""
    if value is None or isinstance(value, str | int | float | bool | Decimal | date | enum.Enum):
        return value
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if dataclasses.is_dataclass(value):
        return (type(value).__name__,) + tuple(
            (f.name, freeze(getattr(value, f.name))) for f in dataclasses.fields(value)
        )
    return repr(value)


# Arguments shared by every connection field.
First = Annotated[int | None, strawberry.argument(description="Return the first N items (default 20, at most 100).")]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description="Return the last N items (at most 100).")]
Before = Annotated[str | None, strawberry.argument(description="Return items before this cursor.")]



def _fields(selection_set: Any, fragments: dict[str, Any]) -> Any:
    """The fields of a selection set, through inline fragments and fragment spreads."""
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            yield from _fields(fragments[selection.name.value].selection_set, fragments)


def selected_fields(info: Info) -> frozenset[str]:
    """Names of the fields the client selected under this field, through fragments of any type."""
    raw = info._raw_info
    return frozenset(f.name.value for node in raw.field_nodes for f in _fields(node.selection_set, raw.fragments))


def connection_selection(info: Info) -> tuple[frozenset[str], frozenset[str]]:
    """(fields the client selected on this connection, fields selected on its nodes).

    Computed once per field of the document per request (sibling parents share it)."""
    raw = info._raw_info
    cache = info.context.loaders.selections
    key = id(raw.field_nodes[0])
    found = cache.get(key)
    if found is None:
        top: set[str] = set()
        nodes: set[str] = set()
        for field_node in raw.field_nodes:
            for field in _fields(field_node.selection_set, raw.fragments):
                top.add(field.name.value)
                if field.name.value != "edges":
                    continue
                for edge_field in _fields(field.selection_set, raw.fragments):
                    if edge_field.name.value == "node":
                        nodes.update(f.name.value for f in _fields(edge_field.selection_set, raw.fragments))
        found = cache[key] = (frozenset(top), frozenset(nodes))
    return found


async def list_connection(
    info: Info,
    model: type,
    builder: Callable[[Any], T],
    filter: Filter,
    sort: str,
    direction: SortDirection,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    include: tuple[Include, ...] = (),
) -> Connection[T]:
    """A top-level list: one keyset-paginated statement, plus a count only if asked. Of
    `include`, the to-one records the client selects on the nodes are joined into the page."""
    request = make_page_request(info, model, sort, direction, first, after, last, before)
    reader, loaders = info.context.reader, info.context.loaders
    wanted = tuple(item for item in include if item.name in connection_selection(info)[1]) if include else ()
    # The list's identity is its parent type and field; a filter keyed None is not identified.
    cache_key = None if filter.key is None else (info._raw_info.parent_type.name, info.field_name, model, filter.key)
    page = await fetch_page(reader, model, request, filter.conditions, include=wanted, cache_key=cache_key)
    loaders.remember_page(model, page)

    async def count() -> int:
        return await reader.count(reader.select(model).where(*filter.conditions))

    return build_connection(page, builder, count)


async def nested_connection(
    info: Info,
    relation: Relation,
    parent_id: int | None,
    builder: Callable[[Any], T],
    filter: Filter,
    sort: str,
    direction: SortDirection,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    include: tuple[Include, ...] = (),
) -> Connection[T]:
    """A list under a parent, batched with the same list of every sibling parent.

    Of `include` (to-one records of the rows), those the client selects on the nodes are
    read in the page's statement; so is `totalCount` when selected (see graph/loaders.py)."""
    request = make_page_request(info, relation.model, sort, direction, first, after, last, before)
    loaders = info.context.loaders
    if parent_id is None:
        return build_connection(Page([], False, False, request), builder, _zero)
    on_connection, on_nodes = connection_selection(info)
    wanted = tuple(item for item in include if item.name in on_nodes)
    page = await loaders.page(
        relation, parent_id, request, filter, include=wanted, with_total="totalCount" in on_connection
    )

    async def count() -> int:
        if page.total is not None:
            return page.total
        return await loaders.count(relation, parent_id, filter)

    return build_connection(page, builder, count)


async def _zero() -> int:
    return 0


async def load_one(info: Info, model: type, record_id: int | None, builder: Callable[[Any], T]) -> T | None:
    if record_id is None:
        return None
    row = await info.context.loaders.by_id(model).load(record_id)
    return None if row is None else builder(row)


_INPUT_FIELDS: dict[type, tuple[str, ...]] = {}


def known_or_load(info: Info, model: type, record_id: int | None, builder: Callable[[Any], T]) -> T | None | Awaitable[T | None]:
    """`load_one` for a plain (not async) resolver: the object at once when this request has
    read its row already (joined into a page, or paged itself), else an awaitable."""
    if record_id is None:
        return None
    row = info.context.loaders.seen(model, record_id)
    if row is NOT_SEEN:
        return load_one(info, model, record_id, builder)
    return None if row is None else builder(row)


def input_values(data: Any) -> dict[str, Any]:
    """An input object as a dict of the fields the client actually sent (UNSET dropped)."""
    names = _INPUT_FIELDS.get(type(data))
    if names is None:  # once per input type: a sync batch converts thousands of lines
        names = _INPUT_FIELDS[type(data)] = tuple(f.name for f in dataclasses.fields(data))
    values = {name: getattr(data, name) for name in names}
    return {name: value for name, value in values.items() if value is not strawberry.UNSET}


async def mutate(info: Info, work: Callable[[UnitOfWork], Awaitable[Any]]) -> tuple[Any | None, list[UserError]]:
    """Run `work` in one transaction; invalid input rolls back and comes back as errors."""
    context = info.context
    request_id = context.statements.request_id if context.statements is not None else None
    try:
        async with transaction(context.session_factory, context.principal, info.field_name, request_id) as uow:
            obj = await work(uow)
    except UserInputError as exc:
        return None, [UserError.from_error(e) for e in exc.errors]
    return obj, []


def payload_runner(
    payload_cls: type[T], field_name: str, builder: Callable[[Any], Any]
) -> Callable[[Info, Callable[[UnitOfWork], Awaitable[Any]]], Awaitable[T]]:
    """`run(info, work)` → a payload with the built result or the user errors."""

    async def run(info: Info, work: Callable[[UnitOfWork], Awaitable[Any]]) -> T:
        obj, errors = await mutate(info, work)
        return payload_cls(**{field_name: builder(obj) if obj is not None else None, "errors": errors})

    return run


def updating(model: type, type_names: str | tuple[str, ...], change: Callable[..., Awaitable[Any]], *args: Any):
    """Work that loads the record named by a global id, then applies `change(uow, record, *args)`."""

    async def work(uow: UnitOfWork) -> Any:
        record = await uow.get(model, args[0], type_names)
        return await change(uow, record, *args[1:])

    return work


# The optional argument of every update and archive mutation of a versioned record.
ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(
        description="The version you last read; if the record has changed since, nothing is changed "
        "and the error is CONFLICT on expectedVersion."
    ),
]


def updating_version(
    model: type,
    type_names: str | tuple[str, ...],
    change: Callable[..., Awaitable[Any]],
    global_id: str,
    expected_version: int | None,
    *args: Any,
):
    """`updating`, refusing with CONFLICT when the record is no longer at `expected_version`."""

    async def work(uow: UnitOfWork) -> Any:
        record = await uow.get(model, global_id, type_names)
        expect_version(record, expected_version)
        return await change(uow, record, *args)

    return work
