"""Keyset (cursor) pagination on an indexed (sort column, id) pair.

Page 1,000 costs what page 1 costs: a cursor holds the sort value and id of the last row
seen, and the next page is a range scan from there. Nested connections fetch the pages of
many parents in one statement with ROW_NUMBER() partitioned by the parent key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import namedtuple
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Row,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)

from graph.access import visible
from graph.errors import BadInput
from graph.reader import Reader

CURSOR_VERSION = "k1"


@dataclass(frozen=True)
class PageRequest:
    """A validated window: `limit` rows after (or before) a keyset position."""

    sort: str  # column name on the model
    descending: bool
    limit: int
    after: tuple[Any, int] | None = None
    before: tuple[Any, int] | None = None
    backward: bool = False  # `last`/`before`: read the window from its end


@dataclass
class Page:
    rows: list[Row]
    has_next: bool
    has_previous: bool
    request: PageRequest
    total: int | None = None  # the whole list's size, when it was counted with the page
    # name -> (model, rows of it the page's rows point at, ids pointed at but not visible)
    included: dict[str, tuple[type, list[Any], list[int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Include:
    """A to-one record (`model` by the id in the page's `key` column) read with the page."""

    name: str
    model: type
    key: Column


_row_types: dict[type, type] = {}


def _row_type(model: type) -> type:
    """A light row class with `model`'s column names, for records read through a join."""
    row_type = _row_types.get(model)
    if row_type is None:
        row_type = namedtuple(f"{model.__name__}Row", [c.name for c in model.__table__.columns])  # noqa: PYI024
        _row_types[model] = row_type
    return row_type


def page_request(
    *,
    model: type,
    sort: str,
    descending: bool,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    default_size: int,
    max_size: int,
) -> PageRequest:
    if first is not None and last is not None:
        raise BadInput("Pass either `first` or `last`, not both.")
    size = first if first is not None else last
    if size is None:
        size = default_size
    if size < 0:
        raise BadInput("`first` and `last` must not be negative.")
    if size > max_size:
        name = "first" if first is not None else "last"
        raise BadInput(f"`{name}` may be at most {max_size}; got {size}. Page with cursors instead.")
    column = model.__table__.c[sort]
    return PageRequest(
        sort=sort,
        descending=descending,
        limit=size,
        after=decode_cursor(after, column) if after else None,
        before=decode_cursor(before, column) if before else None,
        backward=last is not None,
    )


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value"):  # enum
        return value.value
    return value


def encode_cursor(request: PageRequest, row: Row) -> str:
    payload = [CURSOR_VERSION, request.sort, _encode_value(getattr(row, request.sort)), row.id]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, column: Column) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, sort, value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadInput("Malformed cursor: pass back a cursor this API returned.") from exc
    if version != CURSOR_VERSION or not isinstance(row_id, int):
        raise BadInput("Malformed cursor: pass back a cursor this API returned.")
    if sort != column.name:
        raise BadInput(
            f"This cursor belongs to an ordering by `{sort}`, not `{column.name}`; "
            "keep `orderBy` the same while paging."
        )
    python_type = column.type.python_type
    try:
        if value is None:
            decoded = None
        elif python_type is datetime:
            decoded = datetime.fromisoformat(value)
        elif python_type is date:
            decoded = date.fromisoformat(value)
        elif python_type is Decimal:
            decoded = Decimal(value)
        else:
            decoded = python_type(value)
    except (ValueError, TypeError) as exc:
        raise BadInput("Malformed cursor: pass back a cursor this API returned.") from exc
    return decoded, row_id


def _keyset(column: Column, id_column: Column, name: str, forward_of: bool) -> ColumnElement:
    """Rows strictly past the position bound to `name`_value and `name`_id at execution,
    in the direction the scan runs."""
    row_id = bindparam(f"{name}_id", type_=id_column.type)
    if column is id_column:
        return id_column > row_id if forward_of else id_column < row_id
    bound = tuple_(bindparam(f"{name}_value", type_=column.type), row_id)
    pair = tuple_(column, id_column)
    return pair > bound if forward_of else pair < bound


def _window(model: type, request: PageRequest) -> tuple[list[ColumnElement], list[ColumnElement]]:
    """Conditions and ORDER BY for the scan (reversed when reading backward); the cursor
    positions are bound at execution (`_positions`), so one statement serves every page."""
    table = model.__table__
    column, id_column = table.c[request.sort], table.c.id
    ascending = not request.descending
    scan_ascending = ascending != request.backward
    conditions = []
    if request.after is not None:
        conditions.append(_keyset(column, id_column, "after", forward_of=ascending))
    if request.before is not None:
        conditions.append(_keyset(column, id_column, "before", forward_of=not ascending))
    if column is id_column:
        order = [id_column.asc() if scan_ascending else id_column.desc()]
    elif scan_ascending:
        order = [column.asc(), id_column.asc()]
    else:
        order = [column.desc(), id_column.desc()]
    return conditions, order


def _positions(request: PageRequest) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, position in (("after", request.after), ("before", request.before)):
        if position is not None:
            params[f"{name}_value"], params[f"{name}_id"] = position
    return params


def _shape(request: PageRequest) -> tuple:
    """What of a page request goes into its statement (not the cursor values)."""
    return (request.sort, request.descending, request.limit, request.after is not None,
            request.before is not None, request.backward)


def _written(size: int) -> ColumnElement:
    """A page's size written into its statement, not passed as a parameter: the statement is
    kept per page size anyway (`_shape`), and PostgreSQL's generic plan (graph/db.py,
    `_plan_cache_mode`) then knows how many rows are wanted. Given `LIMIT $1`, it assumes a
    tenth of the table and at 1M orders chose a parallel scan: 5 ms for a 51-row page."""
    return literal_column(str(int(size)), Integer)


def _finish(rows: list[Row], request: PageRequest) -> Page:
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    if request.backward:
        rows.reverse()
        return Page(rows, has_next=request.before is not None, has_previous=more, request=request)
    return Page(rows, has_next=more, has_previous=request.after is not None, request=request)


async def fetch_page(
    reader: Reader,
    model: type,
    request: PageRequest,
    where: Sequence[ColumnElement] = (),
    *,
    include: Sequence[Include] = (),
    cache_key: Hashable | None = None,
) -> Page:
    """One page of a list, with the to-one records in `include` joined in. With `cache_key`
    (which must identify `model` and `where`), the statement is built once and reused."""

    def build() -> Select:
        conditions, order = _window(model, request)
        base = join_includes(reader, reader.select(model), include)
        return base.where(*where, *conditions).order_by(*order).limit(_written(request.limit + 1))

    if cache_key is None:
        stmt = build()
    else:
        stmt = reader.cached(("page", cache_key, _shape(request), tuple(item.name for item in include)), build)
    rows = list(await reader.rows(stmt, _positions(request)))
    page = _finish(rows, request)
    page.included = {item.name: included_rows(item, rows) for item in include}
    return page


def join_includes(reader: Reader, base: Select, include: Sequence[Include]) -> Select:
    """LEFT JOIN each to-one record as the principal's scoped SELECT of its model (an
    invisible record comes back as absent, exactly as a lookup by id would)."""
    for item in include:
        name = f"include_{item.name}"
        # Everything visible: the table itself, aliased (two includes may name the same table).
        if visible(item.model, reader.principal) is None:
            target = item.model.__table__.alias(name)
        else:
            target = reader.select(item.model).subquery(name)
        base = base.outerjoin(target, target.c.id == item.key).add_columns(
            *(column.label(f"{item.name}__{column.name}") for column in target.c)
        )
    return base


async def fetch_pages_per_parent(
    reader: Reader,
    model: type,
    parent_key: ColumnElement,
    parent_ids: Sequence[int],
    request: PageRequest,
    where: Sequence[ColumnElement] = (),
    join: Callable[[Select], Select] | None = None,
    *,
    include: Sequence[Include] = (),
    with_total: bool = False,
    cache_key: Hashable | None = None,
) -> dict[int, Page]:
    """One statement for the same page of many parents' lists.

    `include` joins to-one records in (`join_includes`), and
    `with_total` adds each parent's list size as a window count (first pages only: a cursor
    narrows the rows the window sees). With `cache_key` (which must identify `model`,
    `parent_key`, `where` and `join`), the statement is built once per shape and reused."""
    with_total = with_total and request.after is None and request.before is None
    single = len(parent_ids) == 1

    def build() -> Select:
        conditions, order = _window(model, request)
        base = reader.select(model, parent_key.label("parent_key"))
        if join is not None:
            base = join(base)
        base = join_includes(reader, base, include)
        base = base.where(reader.id_in(parent_key, "parent_ids"), *where, *conditions)
        if with_total:
            base = base.add_columns(func.count().over(partition_by=parent_key).label("page_total"))
        if single:
            return base.order_by(*order).limit(_written(request.limit + 1))
        rank = func.row_number().over(partition_by=parent_key, order_by=order).label("page_rank")
        inner = base.add_columns(rank).subquery()
        return select(inner).where(inner.c.page_rank <= _written(request.limit + 1)).order_by(inner.c.parent_key, inner.c.page_rank)

    if cache_key is None:
        stmt = build()
    else:
        shape = ("pages", cache_key, _shape(request), tuple(item.name for item in include), with_total, single)
        stmt = reader.cached(shape, build)
    params = _positions(request)
    params["parent_ids"] = list(parent_ids)
    grouped: dict[int, list[Row]] = {pid: [] for pid in parent_ids}
    for row in await reader.rows(stmt, params):
        grouped[row.parent_key].append(row)
    pages = {}
    for pid, rows in grouped.items():
        page = _finish(rows, request)
        if with_total:
            page.total = int(rows[0].page_total) if rows else 0
        page.included = {item.name: included_rows(item, rows) for item in include}
        pages[pid] = page
    return pages


def included_rows(item: Include, rows: Sequence[Row]) -> tuple[type, list[Any], list[int]]:
    if not rows:
        return item.model, [], []
    key_at, id_at, record_of = _included_getters(item, tuple(rows[0]._fields))
    make = _row_type(item.model)._make
    found, absent = [], []
    for row in rows:
        key = row[key_at]
        if key is None:
            continue
        if row[id_at] is None:
            absent.append(key)
        else:
            found.append(make(record_of(row)))
    return item.model, found, absent


_getters: dict[tuple[Include, tuple[str, ...]], tuple[int, int, Callable[[Any], tuple]]] = {}


def _included_getters(item: Include, fields: tuple[str, ...]) -> tuple[int, int, Callable[[Any], tuple]]:
    """Where, in rows with `fields`, the include's key and id are, and a getter of its record's
    columns (by position: a page reads hundreds of included records)."""
    found = _getters.get((item, fields))
    if found is None:
        at = {name: i for i, name in enumerate(fields)}
        columns = [at[f"{item.name}__{column.name}"] for column in item.model.__table__.columns]
        found = (at[item.key.name], at[f"{item.name}__id"], itemgetter(*columns))
        _getters[item, fields] = found
    return found


def contains(column: ColumnElement, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match that treats % and _ literally, on both backends."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")

