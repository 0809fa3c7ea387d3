"""Request-scoped batch loading: every relationship level costs one statement.

`Loaders` is built fresh for each request (a loader shared across requests would leak
one caller's rows into another's) and reads only through the request's `Reader`, so the
same visibility rules apply to batched loads as to everything else.

Levels that the client selects together are folded into fewer statements: a page may carry
its parents' total counts (a window count) and the to-one records its rows point at
(`Include`: a LEFT JOIN to the scoped SELECT of that model), and every row a page returns
is remembered, so a later lookup by id of a row already read costs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from strawberry.dataloader import DataLoader

from graph.pagination import Include, Page, PageRequest, fetch_pages_per_parent, included_rows, join_includes
from graph.reader import Reader, StatementCache


@dataclass(frozen=True, eq=False)
class Relation:
    """A one-to-many path from a parent id to rows of `model` (through `join` if needed)."""

    name: str
    model: type
    parent_key: ColumnElement
    join: Callable[[Select], Select] | None = None
    where: tuple[ColumnElement, ...] = ()


@dataclass(frozen=True)
class Filter:
    """SQL conditions plus a hashable key that identifies them: equal keys on one relation
    (or list) must mean equal conditions, for every request, since the statements built from
    them are kept and reused (graph/reader.py). Derive the key from the input alone."""

    key: Hashable
    conditions: tuple[ColumnElement, ...]


NO_FILTER = Filter(key=(), conditions=())
NO_INPUT = ("no filter given",)  # the key of a filter builder's answer to no input (`cached_filter`)


def cached_filter(build: Callable[[Any, Hashable], Filter]) -> Callable[[Any, Hashable], Filter]:
    """Keep the Filters a builder `(input, key) -> Filter` made, by key: a nested list's
    filter is otherwise rebuilt (SQL expressions and all) for every parent of every request.
    Equal keys mean equal conditions (see Filter); an unkeyed filter is built every time,
    except no input at all, which always means the same conditions (archived rows left out)."""
    kept = StatementCache(512)

    def cached(f: Any, key: Hashable) -> Filter:
        if f is None:
            return kept.get(NO_INPUT, lambda: build(None, NO_INPUT))
        try:
            hash(key)
        except TypeError:  # an unhashable key: nothing to keep it by
            return build(f, key)
        return build(f, key) if key is None else kept.get(key, lambda: build(f, key))

    cached.__doc__, cached.__name__ = build.__doc__, build.__name__
    return cached


NOT_SEEN = object()  # Loaders.seen(): no row of that id has been read yet


class Loaders:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._by_id: dict[tuple[type, tuple[Include, ...]], DataLoader[int, Row | None]] = {}
        self._pages: dict[Relation, DataLoader[tuple, Page]] = {}
        self._counts: dict[Relation, DataLoader[tuple, int]] = {}
        # Filters are keyed per relation: equal keys from different domains mean different SQL.
        self._filters: dict[tuple[str, Hashable], Filter] = {}
        self._named: dict[str, DataLoader] = {}
        self.selections: dict[int, Any] = {}  # connection_selection() per field node (graph.types.common)
        # Rows already read (by pages or joins) per model: by-id lookups use them first.
        self._seen: dict[type, dict[int, Any]] = defaultdict(dict)

    def close(self) -> None:
        """Let go of the loaders: each holds these Loaders through its load function, a cycle
        that would leave everything the request read to the cycle collector (graph/context.py)."""
        for loaders in (self._by_id, self._pages, self._counts, self._named):
            loaders.clear()

    def remember(self, model: type, rows: Sequence[Any]) -> None:
        """Rows of `model` read through the scoped reader: later by-id loads reuse them."""
        seen = self._seen[model]
        for row in rows:
            seen[row.id] = row

    def remember_page(self, model: type, page: Page) -> None:
        """A page's rows, and the to-one records joined into it (found or not visible)."""
        self.remember(model, page.rows)
        self._remember_included(page.included.values())

    def _remember_included(self, included: Iterable[tuple[type, list[Any], list[int]]]) -> None:
        """To-one records joined into rows (`included_rows`): those found, and those not visible."""
        for model, rows, absent in included:
            self.remember(model, rows)
            self._remember_missing(model, absent)

    def seen(self, model: type, record_id: int) -> Any:
        """The row of `model` this request already read (None: read as not visible), else NOT_SEEN."""
        return self._seen.get(model, {}).get(record_id, NOT_SEEN)

    def _remember_missing(self, model: type, ids: Sequence[int]) -> None:
        """Ids a scoped join found no visible row for: a by-id load would return None too."""
        seen = self._seen[model]
        for record_id in ids:
            seen.setdefault(record_id, None)

    def by_id(self, model: type, include: tuple[Include, ...] = ()) -> DataLoader[int, Row | None]:
        """Rows of `model` by id; `include` joins to-one records in (remembered for their
        by-id lookups), as a page does when the client selects them."""
        loader = self._by_id.get((model, include))
        if loader is None:
            loader = DataLoader(load_fn=lambda ids: self._load_by_id(model, ids, include))
            self._by_id[model, include] = loader
        return loader

    async def _load_by_id(self, model: type, ids: Sequence[int], include: tuple[Include, ...]) -> list[Row | None]:
        seen = self._seen.get(model, {}) if not include else {}
        missing = {i for i in ids if i not in seen}
        found = {i: seen[i] for i in ids if i in seen}
        if missing:
            reader = self.reader

            def build() -> Select:
                base = join_includes(reader, reader.select(model), include)
                return base.where(reader.id_in(model.__table__.c.id, "ids"))

            stmt = reader.cached(("by_id", model, tuple(item.name for item in include)), build)
            rows = await reader.rows(stmt, {"ids": sorted(missing)})
            found.update((row.id, row) for row in rows)
            self._remember_included(included_rows(item, rows) for item in include)
        return [found.get(i) for i in ids]

    async def page(
        self,
        relation: Relation,
        parent_id: int,
        request: PageRequest,
        filter: Filter,
        *,
        include: tuple[Include, ...] = (),
        with_total: bool = False,
    ) -> Page:
        """The page of `parent_id`'s list; `include` joins the to-one records the client
        selected under each row, `with_total` counts the whole list in the same statement."""
        self._filters[(relation.name, filter.key)] = filter
        loader = self._pages.get(relation)
        if loader is None:
            loader = DataLoader(load_fn=lambda keys: self._load_pages(relation, keys))
            self._pages[relation] = loader
        return await loader.load((parent_id, request, filter.key, include, with_total))

    async def _load_pages(self, relation: Relation, keys: Sequence[tuple]) -> list[Page]:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for parent_id, *shape in keys:
            groups[tuple(shape)].append(parent_id)
        results: dict[tuple, Page] = {}
        for shape, parent_ids in groups.items():
            request, filter_key, include, with_total = shape
            conditions = relation.where + self._filters[(relation.name, filter_key)].conditions
            pages = await fetch_pages_per_parent(
                self.reader,
                relation.model,
                relation.parent_key,
                sorted(set(parent_ids)),
                request,
                conditions,
                relation.join,
                include=include,
                with_total=with_total,
                cache_key=(relation, filter_key),
            )
            for parent_id, page in pages.items():
                self.remember_page(relation.model, page)
                results[(parent_id, *shape)] = page
        return [results[key] for key in keys]

    async def count(self, relation: Relation, parent_id: int, filter: Filter) -> int:
        self._filters[(relation.name, filter.key)] = filter
        loader = self._counts.get(relation)
        if loader is None:
            loader = DataLoader(load_fn=lambda keys: self._load_counts(relation, keys))
            self._counts[relation] = loader
        return await loader.load((parent_id, filter.key))

    async def _load_counts(self, relation: Relation, keys: Sequence[tuple]) -> list[int]:
        groups: dict[Hashable, list[int]] = defaultdict(list)
        for parent_id, filter_key in keys:
            groups[filter_key].append(parent_id)
        counts: dict[tuple, int] = {}
        for filter_key, parent_ids in groups.items():
            conditions = relation.where + self._filters[(relation.name, filter_key)].conditions
            base = self.reader.select(relation.model)
            if relation.join is not None:
                base = relation.join(base)
            inner = base.add_columns(relation.parent_key.label("parent_key")).where(
                relation.parent_key.in_(set(parent_ids)), *conditions
            ).subquery()
            stmt = select(inner.c.parent_key, func.count()).group_by(inner.c.parent_key)
            found = {row[0]: row[1] for row in await self.reader.rows(stmt)}
            for parent_id in parent_ids:
                counts[(parent_id, filter_key)] = int(found.get(parent_id, 0))
        return [counts[key] for key in keys]

    def custom(self, name: str, load_fn: Callable[[Sequence[Any]], Any]) -> DataLoader:
        """A named loader for lookups that are not plain ids or pages (e.g. current owner)."""
        loader = self._named.get(name)
        if loader is None:
            loader = DataLoader(load_fn=load_fn)
            self._named[name] = loader
        return loader
