"""Cross-selling: products that customers with similar purchases buy and this one does not.

Co-purchase analysis, in SQL, over the distinct (customer, product) pairs of the order lines
the caller may see (orders neither draft nor cancelled, nothing archived):

* the *similar customers* of a target customer T are the other customers sharing at least
  `min_shared` distinct products with T;
* a *candidate* is an active, current product T has never bought that at least one similar
  customer has;
* `buyers` (the support) = how many similar customers buy the candidate;
* `score` (the confidence) = buyers / similar customers, from 0 to 1.

Candidates rank by buyers (then product id), so the page and its keyset cursor are stable.
The evidence for each candidate — the products of T that its buyers also bought, most shared
first — comes from a second statement for the whole page. Both statements take every target
customer of a request at once (a window function keeps each target's page apart).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CTE, and_, exists, func, or_, select

from graph.access import visible
from graph.errors import BadInput
from graph.models import orders as om
from graph.models import products as pm
from graph.reader import Reader

ORDER = om.Order.__table__
LINE = om.OrderLine.__table__
PRODUCT = pm.Product.__table__

EXAMPLES_PER_RECOMMENDATION = 3
_NOT_PURCHASES = (om.OrderStatus.DRAFT, om.OrderStatus.CANCELLED)
_CURSOR_VERSION = "r1"


@dataclass(frozen=True)
class Recommendation:
    """A product to offer a customer, with the evidence behind it."""

    customer_id: int
    product_id: int
    buyers: int  # similar customers who buy it
    similar_customers: int  # all similar customers of this customer
    shared_product_ids: list[int] = field(default_factory=list)  # examples, most shared first

    @property
    def score(self) -> float:
        return round(self.buyers / self.similar_customers, 4)

    @property
    def position(self) -> tuple[int, int]:
        return (self.buyers, self.product_id)


@dataclass(frozen=True)
class RecommendationPage:
    items: list[Recommendation]
    has_next: bool
    has_previous: bool
    total: int  # all candidates of this customer


def encode_cursor(position: tuple[int, int]) -> str:
    raw = json.dumps([_CURSOR_VERSION, *position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        version, buyers, product_id = json.loads(
            base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        )
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadInput("Malformed cursor: pass back a cursor this API returned.") from exc
    if version != _CURSOR_VERSION or not isinstance(buyers, int) or not isinstance(product_id, int):
        raise BadInput("Malformed cursor: pass back a cursor this API returned.")
    return buyers, product_id


def _purchases(reader: Reader) -> CTE:
    """Distinct (customer, product) pairs bought, as far as the caller may see orders."""
    scope = visible(om.Order, reader.principal)
    stmt = (
        select(ORDER.c.customer_id.label("customer_id"), LINE.c.product_id.label("product_id"))
        .select_from(LINE.join(ORDER, ORDER.c.id == LINE.c.order_id))
        .where(
            ORDER.c.status.not_in(_NOT_PURCHASES),
            ORDER.c.archived_at.is_(None),
            LINE.c.archived_at.is_(None),
            *(() if scope is None else (scope,)),
        )
        .distinct()
    )
    return stmt.cte("purchases")


def _similar(purchases: CTE, targets: Sequence[int], min_shared: int) -> CTE:
    """(target, similar customer, shared products) for every pair sharing ≥ min_shared products."""
    mine, theirs = purchases.alias("mine"), purchases.alias("theirs")
    return (
        select(
            mine.c.customer_id.label("target_id"),
            theirs.c.customer_id.label("similar_id"),
            func.count().label("shared"),
        )
        .select_from(
            mine.join(
                theirs,
                and_(theirs.c.product_id == mine.c.product_id, theirs.c.customer_id != mine.c.customer_id),
            )
        )
        .where(mine.c.customer_id.in_(set(targets)))
        .group_by(mine.c.customer_id, theirs.c.customer_id)
        .having(func.count() >= min_shared)
        .cte("similar")
    )


async def recommendation_pages(
    reader: Reader,
    targets: Sequence[int],
    *,
    limit: int,
    after: tuple[int, int] | None,
    min_shared: int,
) -> dict[int, RecommendationPage]:
    """The page of recommendations of each target customer: two statements in all."""
    purchases = _purchases(reader)
    similar = _similar(purchases, targets, min_shared)
    similar_count = (
        select(similar.c.target_id, func.count().label("similar_customers"))
        .group_by(similar.c.target_id)
        .cte("similar_count")
    )
    bought, own = purchases.alias("bought"), purchases.alias("own")
    candidates = (
        select(similar.c.target_id, bought.c.product_id, func.count().label("buyers"))
        .select_from(similar.join(bought, bought.c.customer_id == similar.c.similar_id))
        .where(
            ~exists().where(own.c.customer_id == similar.c.target_id, own.c.product_id == bought.c.product_id)
        )
        .group_by(similar.c.target_id, bought.c.product_id)
        .cte("candidates")
    )
    product_scope = visible(pm.Product, reader.principal)
    offered = [
        PRODUCT.c.archived_at.is_(None),
        PRODUCT.c.status == pm.ProductStatus.ACTIVE,
        *(() if product_scope is None else (product_scope,)),
    ]
    order = (candidates.c.buyers.desc(), candidates.c.product_id.asc())
    window = [
        func.row_number().over(partition_by=candidates.c.target_id, order_by=order).label("rank"),
    ]
    conditions = list(offered)
    if after is not None:
        buyers, product_id = after
        conditions.append(
            or_(
                candidates.c.buyers < buyers,
                and_(candidates.c.buyers == buyers, candidates.c.product_id > product_id),
            )
        )
    ranked = (
        select(
            candidates.c.target_id,
            candidates.c.product_id,
            candidates.c.buyers,
            similar_count.c.similar_customers,
            *window,
        )
        .select_from(
            candidates.join(PRODUCT, PRODUCT.c.id == candidates.c.product_id).join(
                similar_count, similar_count.c.target_id == candidates.c.target_id
            )
        )
        .where(*conditions)
        .subquery("ranked")
    )
    # The total ignores the cursor: all of a customer's candidates.
    totals = (
        select(candidates.c.target_id, func.count().label("total"))
        .select_from(candidates.join(PRODUCT, PRODUCT.c.id == candidates.c.product_id))
        .where(*offered)
        .group_by(candidates.c.target_id)
        .subquery("totals")
    )
    stmt = (
        select(ranked, totals.c.total)
        .join(totals, totals.c.target_id == ranked.c.target_id)
        .where(ranked.c.rank <= limit + 1)
        .order_by(ranked.c.target_id, ranked.c.rank)
    )
    rows_by_target: dict[int, list[Any]] = defaultdict(list)
    total_by_target: dict[int, int] = {}
    for row in await reader.rows(stmt):
        rows_by_target[row.target_id].append(row)
        total_by_target[row.target_id] = int(row.total)
    pages = {}
    for target in targets:
        rows = rows_by_target.get(target, [])
        pages[target] = (rows[:limit], len(rows) > limit)
    examples = await _shared_examples(
        reader, purchases, similar, [(t, r.product_id) for t, (rows, _) in pages.items() for r in rows]
    )
    return {
        target: RecommendationPage(
            items=[
                Recommendation(
                    target,
                    r.product_id,
                    int(r.buyers),
                    int(r.similar_customers),
                    examples.get((target, r.product_id), []),
                )
                for r in rows
            ],
            has_next=more,
            has_previous=after is not None,
            total=total_by_target.get(target, 0),
        )
        for target, (rows, more) in pages.items()
    }


async def _shared_examples(
    reader: Reader, purchases: CTE, similar: CTE, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[int]]:
    """For each (target, candidate): the target's products its buyers also bought, most shared
    first (then by product id), at most EXAMPLES_PER_RECOMMENDATION of them."""
    if not pairs:
        return {}
    bought, shared, own = purchases.alias("bought"), purchases.alias("shared"), purchases.alias("own")
    counted = (
        select(
            similar.c.target_id,
            bought.c.product_id.label("candidate_id"),
            shared.c.product_id.label("shared_id"),
            func.count().label("buyers"),
        )
        .select_from(
            similar.join(bought, bought.c.customer_id == similar.c.similar_id)
            .join(shared, shared.c.customer_id == similar.c.similar_id)
            .join(
                own, and_(own.c.customer_id == similar.c.target_id, own.c.product_id == shared.c.product_id)
            )
        )
        .where(bought.c.product_id.in_({candidate for _, candidate in pairs}))
        .group_by(similar.c.target_id, bought.c.product_id, shared.c.product_id)
        .subquery("counted")
    )
    rank = (
        func.row_number()
        .over(
            partition_by=(counted.c.target_id, counted.c.candidate_id),
            order_by=(counted.c.buyers.desc(), counted.c.shared_id.asc()),
        )
        .label("rank")
    )
    ranked = select(counted, rank).subquery("ranked_examples")
    stmt = (
        select(ranked.c.target_id, ranked.c.candidate_id, ranked.c.shared_id)
        .where(ranked.c.rank <= EXAMPLES_PER_RECOMMENDATION)
        .order_by(ranked.c.target_id, ranked.c.candidate_id, ranked.c.rank)
    )
    wanted = set(pairs)
    found: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row in await reader.rows(stmt):
        key = (row.target_id, row.candidate_id)
        if key in wanted:
            found[key].append(row.shared_id)
    return found
