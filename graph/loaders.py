"""Request-scoped batch loading: every relationship level costs one statement.

`Loaders` is built fresh for each request (a loader shared across requests would leak
one caller's rows into another's) and reads only through the request's `Reader`, so the
same visibility rules apply to batched loads as to everything else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from strawberry.dataloader import DataLoader

from graph.pagination import Page, PageRequest, fetch_pages_per_parent
from graph.reader import Reader


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
    """SQL conditions plus a hashable key that identifies them within a batch."""

    key: Hashable
    conditions: tuple[ColumnElement, ...]


NO_FILTER = Filter(key=(), conditions=())


class Loaders:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._by_id: dict[type, DataLoader[int, Row | None]] = {}
        self._pages: dict[Relation, DataLoader[tuple, Page]] = {}
        self._counts: dict[Relation, DataLoader[tuple, int]] = {}
        # Filters are keyed per relation: equal keys from different domains mean different SQL.
        self._filters: dict[tuple[str, Hashable], Filter] = {}
        self._named: dict[str, DataLoader] = {}

    def by_id(self, model: type) -> DataLoader[int, Row | None]:
        loader = self._by_id.get(model)
        if loader is None:
            loader = DataLoader(load_fn=lambda ids: self._load_by_id(model, ids))
            self._by_id[model] = loader
        return loader

    async def _load_by_id(self, model: type, ids: Sequence[int]) -> list[Row | None]:
        stmt = self.reader.select(model).where(model.__table__.c.id.in_(set(ids)))
        found = {row.id: row for row in await self.reader.rows(stmt)}
        return [found.get(i) for i in ids]

    async def page(self, relation: Relation, parent_id: int, request: PageRequest, filter: Filter) -> Page:
        self._filters[(relation.name, filter.key)] = filter
        loader = self._pages.get(relation)
        if loader is None:
            loader = DataLoader(load_fn=lambda keys: self._load_pages(relation, keys))
            self._pages[relation] = loader
        return await loader.load((parent_id, request, filter.key))

    async def _load_pages(self, relation: Relation, keys: Sequence[tuple]) -> list[Page]:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for parent_id, request, filter_key in keys:
            groups[(request, filter_key)].append(parent_id)
        results: dict[tuple, Page] = {}
        for (request, filter_key), parent_ids in groups.items():
            conditions = relation.where + self._filters[(relation.name, filter_key)].conditions
            pages = await fetch_pages_per_parent(
                self.reader,
                relation.model,
                relation.parent_key,
                sorted(set(parent_ids)),
                request,
                conditions,
                relation.join,
            )
            for parent_id, page in pages.items():
                results[(parent_id, request, filter_key)] = page
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
