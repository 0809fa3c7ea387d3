"""Live change events over WebSocket (graphql-transport-ws): authentication on
connection_init, scoping, resuming from a cursor, and delivery across app instances."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert

from graph.app import create_app
from graph.ids import encode_global_id
from graph.models.sync import OutboxEvent
from graph.observability import subscriptions_gauge
from graph.resolvers.changes import encode_change_cursor
from tests.conftest import Backend
from tests.test_changes import event_row, insert_events, latest_cursor, order_event, scene

SUBSCRIBE = """subscription($after: String, $kinds: [String!]) {
  changes(after: $after, kinds: $kinds) { sequence cursor kind node { id } }
}"""


class Closed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class WebSocket:
    """A WebSocket client speaking ASGI to the app in this event loop (no server, no thread)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._to_app: asyncio.Queue[dict] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> WebSocket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
            "subprotocols": ["graphql-transport-ws"],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self._task = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self._from_app.get(), 5)
        assert accepted["type"] == "websocket.accept", accepted
        assert accepted.get("subprotocol") == "graphql-transport-ws"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self._task, 5)

    async def send(self, message: dict) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self, timeout: float = 5) -> dict:
        message = await asyncio.wait_for(self._from_app.get(), timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000))
        return json.loads(message["text"])

    async def init(self, key: str | None) -> dict:
        payload = {"authorization": f"Bearer {key}"} if key else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, variables: dict[str, Any], id: str = "1") -> None:
        await self.send({"id": id, "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}})

    async def next_event(self, timeout: float = 5) -> dict:
        message = await self.receive(timeout)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]["changes"]


@pytest.fixture
async def app(backend: Backend) -> AsyncIterator[Any]:
    """An app of its own (a process), polling the outbox often so tests run quickly."""
    app = create_app(backend.settings.model_copy(update={"subscription_poll_ms": 20}))
    yield app
    await app.state.change_notifier.aclose()
    await app.state.engine.dispose()


async def test_a_websocket_without_a_valid_credential_is_refused(backend: Backend, app: Any) -> None:
    for key in (None, "pgk_nope_nope"):
        async with WebSocket(app) as ws:
            with pytest.raises(Closed) as closed:
                await ws.init(key)
            assert closed.value.code == 4403
    async with WebSocket(app) as ws:  # no connection_init at all
        await ws.subscribe({})
        with pytest.raises(Closed) as closed:
            await ws.receive()
        assert closed.value.code == 4401


async def test_a_subscriber_receives_its_new_events_only(backend: Backend, app: Any) -> None:
    s = await scene(backend)
    start = await latest_cursor(backend)
    key = await backend.key("customer", s.order.customer_id)
    gauge = subscriptions_gauge(app)
    async with WebSocket(app) as ws:
        assert (await ws.init(key))["type"] == "connection_ack"
        await ws.subscribe({"after": start})
        for _ in range(100):  # until the subscription is running
            if gauge._value.get() == 1:  # noqa: SLF001
                break
            await asyncio.sleep(0.01)
        assert gauge._value.get() == 1  # noqa: SLF001
        [foreign] = await insert_events(backend, order_event(s.foreign_order))
        [own] = await insert_events(backend, order_event(s.order, "order.status_changed"))
        event = await ws.next_event()
        assert event["sequence"] == own and foreign < own
        assert event["kind"] == "order.status_changed"
        assert event["node"]["id"].startswith("T3JkZXI")  # an Order, resolved for the customer
    for _ in range(100):
        if gauge._value.get() == 0:  # noqa: SLF001
            break
        await asyncio.sleep(0.01)
    assert gauge._value.get() == 0  # noqa: SLF001
    assert not app.state.change_notifier.running  # the last subscriber stopped the poller


async def test_a_subscription_resumes_from_a_cursor_then_goes_live(backend: Backend, app: Any) -> None:
    s = await scene(backend)
    start = await latest_cursor(backend)
    first, second, third = await insert_events(
        backend, order_event(s.order), order_event(s.order), order_event(s.order, "order.status_changed")
    )
    async with WebSocket(app) as ws:
        await ws.init(await backend.key("admin"))
        await ws.subscribe({"after": start, "kinds": ["order.status_changed"]}, id="a")
        assert (await ws.next_event())["sequence"] == third
    async with WebSocket(app) as ws:
        await ws.init(await backend.key("admin"))
        await ws.subscribe({"after": encode_change_cursor(first)})
        assert [(await ws.next_event())["sequence"] for _ in range(2)] == [second, third]
        [live] = await insert_events(backend, order_event(s.order))
        assert (await ws.next_event())["sequence"] == live


async def test_another_process_delivers_an_event_written_by_the_first(backend: Backend, app: Any) -> None:
    s = await scene(backend)
    start = await latest_cursor(backend)
    writer = create_app(backend.settings)  # another process on the same database
    try:
        async with WebSocket(app) as ws:
            await ws.init(await backend.key("distributor", s.order.distributor_id))
            await ws.subscribe({"after": start})
            await asyncio.sleep(0.1)
            async with writer.state.session_factory() as session, session.begin():
                row = await event_row(session, **order_event(s.order, "order.created"))
                written = (
                    await session.execute(insert(OutboxEvent).values(row).returning(OutboxEvent.id))
                ).scalar_one()
            event = await ws.next_event()
            assert event["sequence"] == written and event["kind"] == "order.created"
    finally:
        await writer.state.engine.dispose()


async def test_a_mutation_is_delivered_live(backend: Backend, app: Any) -> None:
    """End to end with the writer (graph/outbox.py): a change made through the API arrives."""
    s = await scene(backend)
    start = await latest_cursor(backend)
    async with WebSocket(app) as ws:
        await ws.init(await backend.key("admin"))
        await ws.subscribe({"after": start, "kinds": ["order.*"]})
        order_id = encode_global_id("Order", s.order.id)
        body = await backend.gql(
            'mutation($id: ID!) { updateOrder(id: $id, input: {promisedDate: "2031-01-01"}) { errors { message } } }',
            {"id": order_id},
            errors=True,
        )
        assert "errors" not in body and body["data"]["updateOrder"]["errors"] == [], body
        event = await ws.next_event()
        assert event["node"]["id"] == order_id
