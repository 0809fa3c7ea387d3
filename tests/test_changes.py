"""The change feed: commit order, resume without gaps or duplicates, scoping, kinds, and on
PostgreSQL never passing a transaction still in flight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from graph.ids import encode_global_id
from graph.models import orders as om
from graph.models.sync import OutboxEvent
from graph.resolvers.changes import decode_change_cursor, encode_change_cursor
from tests.conftest import Backend

FEED = """
query Feed($after: String, $first: Int, $kinds: [String!]) {
  changes(after: $after, first: $first, kinds: $kinds) {
    edges { cursor node { id sequence cursor kind changedFields nodeId node { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass
class Scene:
    """An order with its customer and distributor, one line per supplier, and a foreign order."""

    order: Any
    line: Any
    other_line_supplier: int
    foreign_order: Any


async def event_row(session: Any, **values: Any) -> dict[str, Any]:
    row = {
        "kind": "order.updated",
        "table_name": "orders",
        "record_id": 0,
        "node_id": encode_global_id("Order", 0),
        "payload": {"fields": ["notes"]},
    }
    row.update(values)
    if session.bind.dialect.name == "postgresql" and "txid" not in row:
        row["txid"] = (await session.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one()
    return row


async def insert_events(backend: Backend, *events: dict[str, Any]) -> list[int]:
    """Insert outbox events in one committed transaction (as the writer does); their ids."""
    async with backend.session_factory() as session, session.begin():
        ids = []
        for values in events:
            row = await event_row(session, **values)
            ids.append((await session.execute(insert(OutboxEvent).values(row).returning(OutboxEvent.id))).scalar_one())
    return ids


def order_event(order: Any, kind: str = "order.updated") -> dict[str, Any]:
    return {
        "kind": kind,
        "table_name": "orders",
        "record_id": order.id,
        "node_id": encode_global_id("Order", order.id),
        "order_id": order.id,
        "customer_id": order.customer_id,
        "distributor_id": order.distributor_id,
    }


def line_event(line: Any, order: Any, supplier_id: int | None = None) -> dict[str, Any]:
    return {
        "kind": "order_line.updated",
        "table_name": "order_lines",
        "record_id": line.id,
        "node_id": encode_global_id("OrderLine", line.id),
        "order_id": order.id,
        "customer_id": order.customer_id,
        "distributor_id": order.distributor_id,
        "supplier_id": line.supplier_id if supplier_id is None else supplier_id,
    }


def shipment_event(order: Any, shipment_id: int = 0) -> dict[str, Any]:
    return {
        "kind": "shipment.created",
        "table_name": "shipments",
        "record_id": shipment_id,
        "node_id": encode_global_id("Shipment", shipment_id),
        "order_id": order.id,
        "customer_id": order.customer_id,
        "distributor_id": order.distributor_id,
    }


async def latest_cursor(backend: Backend) -> str:
    """The cursor of the last event in feed order ((txid, id) on PostgreSQL, where an event
    committed late may have a lower id): tests read only what they write after it."""
    async with backend.session_factory() as session:
        last = (
            await session.execute(
                select(OutboxEvent.id).order_by(func.coalesce(OutboxEvent.txid, 0).desc(), OutboxEvent.id.desc()).limit(1)
            )
        ).scalar()
    return encode_change_cursor(last or 0)


async def scene(backend: Backend) -> Scene:
    async with backend.session_factory() as session:
        line_t, order_t = om.OrderLine.__table__, om.Order.__table__
        line = (
            await session.execute(
                select(line_t)
                .join(order_t, order_t.c.id == line_t.c.order_id)
                .where(line_t.c.supplier_id.is_not(None), order_t.c.distributor_id.is_not(None))
                .order_by(line_t.c.id)
                .limit(1)
            )
        ).one()
        order = (await session.execute(select(order_t).where(order_t.c.id == line.order_id))).one()
        foreign = (
            await session.execute(
                select(order_t)
                .where(order_t.c.customer_id != order.customer_id, order_t.c.distributor_id != order.distributor_id)
                .where(order_t.c.id.not_in(select(line_t.c.order_id).where(line_t.c.supplier_id == line.supplier_id)))
                .limit(1)
            )
        ).one()
        other_supplier = (
            await session.execute(
                select(line_t.c.supplier_id).where(
                    line_t.c.supplier_id.is_not(None), line_t.c.supplier_id != line.supplier_id
                ).limit(1)
            )
        ).scalar_one()
    return Scene(order=order, line=line, other_line_supplier=other_supplier, foreign_order=foreign)


async def read_all(backend: Backend, after: str, key: str | None = None, page: int = 2, **variables: Any) -> list[dict]:
    """Page through the feed from `after` to its end."""
    events: list[dict] = []
    while True:
        data = await backend.gql(FEED, {"after": after, "first": page, **variables}, key=key)
        connection = data["changes"]
        events += [edge["node"] for edge in connection["edges"]]
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            return events


async def test_feed_is_in_order_and_resumes_from_a_cursor_without_gaps_or_duplicates(backend: Backend) -> None:
    start = await latest_cursor(backend)
    s = await scene(backend)
    first = await insert_events(backend, order_event(s.order), line_event(s.line, s.order))
    second = await insert_events(backend, shipment_event(s.order), order_event(s.order, "order.status_changed"))

    events = await read_all(backend, start, page=1)
    assert [decode_change_cursor(e["cursor"]) for e in events] == first + second
    assert [e["sequence"] for e in events] == first + second
    assert events[0]["kind"] == "order.updated" and events[0]["changedFields"] == ["notes"]
    assert events[0]["node"] == {"id": encode_global_id("Order", s.order.id)}

    # Resuming from the middle returns exactly the rest; from the end, nothing, same cursor.
    rest = await read_all(backend, events[1]["cursor"], page=5)
    assert [e["sequence"] for e in rest] == second
    end = (await backend.gql(FEED, {"after": events[-1]["cursor"]}))["changes"]
    assert end["edges"] == [] and end["pageInfo"] == {"hasNextPage": False, "endCursor": events[-1]["cursor"]}


async def test_kinds_filter_takes_exact_kinds_and_prefixes(backend: Backend) -> None:
    start = await latest_cursor(backend)
    s = await scene(backend)
    order_id, line_id, shipment_id = await insert_events(
        backend, order_event(s.order, "order.created"), line_event(s.line, s.order), shipment_event(s.order)
    )

    async def kinds(*names: str) -> list[int]:
        return [e["sequence"] for e in await read_all(backend, start, page=10, kinds=list(names))]

    assert await kinds("order.*") == [order_id]  # not order_line.*
    assert await kinds("shipment.created", "no.such.kind") == [shipment_id]
    assert await kinds("order_line.updated", "order.created") == [order_id, line_id]
    assert await kinds("no.such.kind") == []
    assert await kinds() == []


async def test_page_size_and_cursor_are_checked(backend: Backend) -> None:
    body = await backend.gql("{ changes(first: 101) { edges { cursor } } }", errors=True)
    assert "at most 100" in body["errors"][0]["message"]
    body = await backend.gql('{ changes(after: "bm90IGEgY3Vyc29y") { edges { cursor } } }', errors=True)
    assert "Malformed cursor" in body["errors"][0]["message"]


async def test_partners_see_only_the_events_of_their_records(backend: Backend) -> None:
    start = await latest_cursor(backend)
    s = await scene(backend)
    order_e, line_e, other_line_e, shipment_e, foreign_e, foreign_line_e = await insert_events(
        backend,
        order_event(s.order),
        line_event(s.line, s.order),
        # Another supplier's line on the same order.
        line_event(s.line, s.order, supplier_id=s.other_line_supplier),
        shipment_event(s.order),
        order_event(s.foreign_order),
        line_event(s.line, s.foreign_order, supplier_id=s.other_line_supplier),
    )
    mine = {order_e, line_e, other_line_e, shipment_e, foreign_e, foreign_line_e}

    async def seen(role: str, org: int) -> set[int]:
        key = await backend.key(role, org)
        return {e["sequence"] for e in await read_all(backend, start, key=key, page=50)} & mine

    assert await seen("customer", s.order.customer_id) == {order_e, line_e, other_line_e, shipment_e}
    assert await seen("distributor", s.order.distributor_id) == {order_e, line_e, other_line_e, shipment_e}
    # A supplier: its own line, the header and shipments of the order, never another's line.
    assert await seen("supplier", s.line.supplier_id) == {order_e, line_e, shipment_e}
    other = await seen("supplier", s.other_line_supplier)
    assert other_line_e in other and foreign_line_e in other and line_e not in other


async def test_the_changed_record_follows_the_field_rules(backend: Backend) -> None:
    start = await latest_cursor(backend)
    s = await scene(backend)
    [event_id] = await insert_events(backend, order_event(s.order))
    key = await backend.key("supplier", s.line.supplier_id)
    query = """query($after: String) { changes(after: $after) { edges { node {
        sequence node { id ... on Order { number total { amount } } } } } } }"""
    body = await backend.gql(query, {"after": start}, key=key, errors=True)
    edges = [e for e in body["data"]["changes"]["edges"] if e["node"]["sequence"] == event_id]
    assert edges[0]["node"]["node"]["number"] == s.order.number
    assert edges[0]["node"]["node"]["total"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_a_record_the_caller_cannot_see_is_null(backend: Backend) -> None:
    start = await latest_cursor(backend)
    s = await scene(backend)
    # An event a customer sees (its own) about a record it cannot see (say, a deleted one).
    [event_id] = await insert_events(
        backend, {**order_event(s.order), "record_id": 10**9, "node_id": encode_global_id("Order", 10**9)}
    )
    key = await backend.key("customer", s.order.customer_id)
    events = [e for e in await read_all(backend, start, key=key, page=50) if e["sequence"] == event_id]
    assert events[0]["node"] is None


async def test_change_events_are_nodes(backend: Backend) -> None:
    start = await latest_cursor(backend)
    s = await scene(backend)
    [event_id] = await insert_events(backend, order_event(s.order))
    node_id = encode_global_id("ChangeEvent", event_id)
    data = await backend.gql("query($id: ID!) { node(id: $id) { ... on ChangeEvent { sequence kind } } }", {"id": node_id})
    assert data["node"] == {"sequence": event_id, "kind": "order.updated"}
    foreign = await backend.key("customer", s.foreign_order.customer_id)
    data = await backend.gql("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, key=foreign)
    assert data["node"] is None
    assert start


# -- PostgreSQL: transactions in flight ------------------------------------------------------


async def _pg(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite serialises writers: nothing can be in flight")


async def test_the_feed_never_passes_a_transaction_still_in_flight(backend: Backend) -> None:
    await _pg(backend)
    start = await latest_cursor(backend)
    s = await scene(backend)
    async with backend.session_factory() as in_flight:
        await in_flight.begin()
        row = await event_row(in_flight, **order_event(s.order, "order.created"))
        lower = (await in_flight.execute(insert(OutboxEvent).values(row).returning(OutboxEvent.id))).scalar_one()
        # Committed meanwhile, with a higher id.
        [higher] = await insert_events(backend, order_event(s.order))
        assert higher > lower

        assert await read_all(backend, start) == []  # stops before the open transaction
        await in_flight.commit()
    assert [e["sequence"] for e in await read_all(backend, start)] == [lower, higher]


async def test_an_older_transaction_committing_a_higher_id_does_not_hide_a_lower_one(backend: Backend) -> None:
    """A (older) and T (younger) overlap; T inserts first (lower id), A later, A commits first.
    A's event may be read at once, and T's, committed after, must still be delivered."""
    await _pg(backend)
    start = await latest_cursor(backend)
    s = await scene(backend)
    async with backend.session_factory() as older, backend.session_factory() as younger:
        await older.begin()
        await older.execute(text("SELECT pg_current_xact_id()"))  # takes its transaction id now
        await younger.begin()
        row = await event_row(younger, **order_event(s.order, "order.created"))
        lower = (await younger.execute(insert(OutboxEvent).values(row).returning(OutboxEvent.id))).scalar_one()
        row = await event_row(older, **order_event(s.order, "order.updated"))
        higher = (await older.execute(insert(OutboxEvent).values(row).returning(OutboxEvent.id))).scalar_one()
        await older.commit()

        seen = await read_all(backend, start)
        assert [e["sequence"] for e in seen] == [higher]
        await younger.commit()
    assert [e["sequence"] for e in await read_all(backend, seen[-1]["cursor"])] == [lower]
