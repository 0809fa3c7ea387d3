"""GraphQL types for the change feed (`changes` query) and live events (`changes` subscription)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from graph.context import Info
from graph.errors import BadInput
from graph.observability import subscriptions_gauge
from graph.resolvers import changes as r
from graph.subscriptions import stream_changes
from graph.types.common import Connection, doc

Kinds = Annotated[
    list[str] | None,
    strawberry.argument(
        description='Only events of these kinds, exact ("order.status_changed") or by prefix ("order.*"); '
        "an unknown kind matches nothing."
    ),
]
ChangesAfter = Annotated[
    str | None, strawberry.argument(description="Resume after this event's cursor (from an earlier page or event).")
]


@strawberry.type(
    description="A committed change to an order, order line, shipment or service record, in commit order. "
    "Written in the same transaction as the change, so it is never missed and never reports a rollback."
)
class ChangeEvent(relay.Node):
    id: relay.NodeID[int]
    sequence: int = doc(
        "The event's id: grows over time, with gaps; the feed's order is commit order (see `cursor`)."
    )
    cursor: str = doc("Pass as `after` to resume right after this event (query or subscription).")
    kind: str = doc("What happened, e.g. order.created, order.status_changed, shipment.created.")
    occurred_at: datetime = doc("When the change was committed.")
    changed_fields: list[str] = doc("The fields of the record that changed.")
    node_id: strawberry.ID = doc("The global id of the changed record.")

    @strawberry.field(
        description="The changed record as it is now, through the same rules as every read: "
        "null if it is not yours to see (field rules such as prices apply too)."
    )
    async def node(self, info: Info) -> relay.Node | None:
        from graph.schema import _resolve_nodes  # the schema imports this module

        return (await _resolve_nodes(info, [self.node_id]))[0]


def build_change_event(row: Any) -> ChangeEvent:
    return ChangeEvent(
        id=row.id,
        sequence=row.id,
        cursor=r.encode_change_cursor(row.id),
        kind=row.kind,
        occurred_at=row.occurred_at,
        changed_fields=r.changed_fields(row.payload),
        node_id=strawberry.ID(row.node_id),
    )


def _page_size(info: Info, first: int | None) -> int:
    settings = info.context.settings
    size = settings.default_page_size if first is None else first
    if size < 0:
        raise BadInput("`first` must not be negative.")
    if size > settings.max_page_size:
        raise BadInput(f"`first` may be at most {settings.max_page_size}; got {size}. Page with cursors instead.")
    return size


@strawberry.type
class ChangeQueries:
    @strawberry.field(
        description="The change feed: committed changes you may see, oldest first, exactly once. "
        "Keep the last `endCursor` and ask again with `after` to get what changed since."
    )
    async def changes(
        self,
        info: Info,
        after: ChangesAfter = None,
        first: Annotated[
            int | None, strawberry.argument(description="Return the first N events (default 20, at most 100).")
        ] = None,
        kinds: Kinds = None,
    ) -> Connection[ChangeEvent]:
        size = _page_size(info, first)
        reader = info.context.reader
        position = await r.position_after(reader, after)
        rows = await r.fetch_changes(reader, position, kinds, size + 1)
        more = len(rows) > size
        edges = [relay.Edge(node=build_change_event(row), cursor=r.encode_change_cursor(row.id)) for row in rows[:size]]
        page = relay.PageInfo(
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            # With nothing new, the cursor to resume from is the one given.
            end_cursor=edges[-1].cursor if edges else after,
        )

        async def count() -> int:
            return await r.count_changes(reader, kinds)

        return Connection(edges=edges, page_info=page, _count=count)


@strawberry.type
class ChangeSubscriptions:
    @strawberry.subscription(
        description="Live changes you may see (orders, lines, shipments, service records): first those "
        "after `after` from the feed, then each new one as it is committed."
    )
    async def changes(
        self, info: Info, after: ChangesAfter = None, kinds: Kinds = None
    ) -> AsyncGenerator[ChangeEvent, None]:
        app = info.context.request.app
        gauge = subscriptions_gauge(app)
        gauge.inc()
        try:
            async for row in stream_changes(info.context, app.state.change_notifier, after, kinds):
                yield build_change_event(row)
        finally:
            gauge.dec()
