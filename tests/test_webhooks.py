"""Webhooks: admins register partners' endpoints; a worker pushes the outbox events each
partner may see, signed, retried with backoff, and exactly once across restarts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, text, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.ids import decode_global_id, encode_global_id
from graph.models.base import utcnow
from graph.models.organizations import Organization
from graph.models.sync import OutboxEvent, WebhookDelivery, WebhookEndpoint
from graph.settings import Settings
from graph.webhooks import WebhookWorker, backoff_seconds, kind_matches, sign, verify_signature
from tests.conftest import Backend

REGISTER = """
mutation($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) { endpoint { id url kinds active } secret errors { field message code } }
}"""

DELIVERIES = """
query($endpoint: ID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(first: 50, filter: {endpointId: $endpoint, status: $status}) {
    totalCount edges { node { id eventId status attempts lastStatusCode lastError endpoint { id } } }
  }
}"""


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def no_other_endpoints(backend: Backend) -> None:
    """Each test sees only the endpoints it registers."""
    async with backend.session_factory() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.archived_at.is_(None))
            .values(active=False, archived_at=utcnow())
        )


async def customers(backend: Backend, n: int = 2) -> list[int]:
    async with backend.session_factory() as session:
        stmt = (
            select(Organization.id)
            .where(Organization.is_customer.is_(True))
            .order_by(Organization.id)
            .limit(n)
        )
        return list((await session.scalars(stmt)).all())


async def add_event(backend: Backend, kind: str, customer_id: int | None = None, **scope: Any) -> int:
    """An outbox event as a mutation would write it (txid set on PostgreSQL)."""
    async with backend.session_factory() as session, session.begin():
        txid = None
        if backend.name == "postgresql":
            txid = await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        event = OutboxEvent(
            kind=kind,
            table_name="orders",
            record_id=1,
            node_id=encode_global_id("Order", 1),
            customer_id=customer_id,
            payload={"fields": ["status"]},
            txid=txid,
            **scope,
        )
        session.add(event)
        await session.flush()
        return event.id


async def register(backend: Backend, org_id: int, url: str, kinds: list[str]) -> tuple[str, str]:
    data = await backend.gql(
        REGISTER,
        {"input": {"organizationId": encode_global_id("Organization", org_id), "url": url, "kinds": kinds}},
    )
    payload = data["registerWebhook"]
    assert payload["errors"] == [], payload
    return payload["endpoint"]["id"], payload["secret"]


def worker_settings(backend: Backend, **overrides: Any) -> Settings:
    values = {
        "database_url": backend.url,
        "webhook_backoff_base_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.2,
        "webhook_poll_interval_seconds": 0.02,
        "webhook_timeout_seconds": 5,
        **overrides,
    }
    return Settings(**values)


class Receiver:
    """Records what a webhook receiver gets; answers with `statuses` in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        self.requests.append((headers, body))
        return self.statuses.pop(0) if self.statuses else 200

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(lambda r: httpx.Response(self.answer(dict(r.headers), r.content)))

    def kinds(self) -> list[str]:
        return [json.loads(body)["kind"] for _, body in self.requests]

    def event_ids(self) -> list[str]:
        return [headers["partnergraph-event-id"] for headers, _ in self.requests]


@pytest.fixture
async def http_receiver() -> AsyncIterator[tuple[str, Receiver]]:
    """A real HTTP server on a free 127.0.0.1 port."""
    receiver = Receiver()

    async def hook(request: Request) -> Response:
        return Response(status_code=receiver.answer(dict(request.headers), await request.body()))

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/hook", receiver
    server.should_exit = True
    await task
    sock.close()


async def drain(worker: WebhookWorker, done: Callable[[], Any], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await done():
        assert time.monotonic() < deadline, "timed out"
        await worker.run_once()
        await asyncio.sleep(0.02)


async def deliveries(backend: Backend, endpoint: str, status: str | None = None) -> list[dict]:
    data = await backend.gql(DELIVERIES, {"endpoint": endpoint, "status": status})
    return [edge["node"] for edge in data["webhookDeliveries"]["edges"]]


# -- registration --------------------------------------------------------------------------


async def test_registration_refuses_insecure_urls_bad_kinds_and_unknown_organizations(
    backend: Backend,
) -> None:
    org = encode_global_id("Organization", (await customers(backend, 1))[0])
    cases = [
        ({"url": "http://example.com/hook", "kinds": ["order.*"]}, ["url"]),
        ({"url": "ftp://example.com/hook", "kinds": ["order.*"]}, ["url"]),
        ({"url": "https://user:pw@example.com/hook", "kinds": ["order.*"]}, ["url"]),
        ({"url": "not a url", "kinds": ["order.*"]}, ["url"]),
        ({"url": "https://example.com/hook", "kinds": []}, ["kinds"]),
        ({"url": "https://example.com/hook", "kinds": ["Order Created", "order.*"]}, ["kinds"]),
    ]
    for values, field in cases:
        data = await backend.gql(REGISTER, {"input": {"organizationId": org, **values}})
        payload = data["registerWebhook"]
        assert payload["endpoint"] is None and payload["secret"] is None
        assert [e["field"] for e in payload["errors"]] == [field], (values, payload)
        assert payload["errors"][0]["code"] == "INVALID"
    missing = encode_global_id("Organization", 987654321)
    data = await backend.gql(
        REGISTER, {"input": {"organizationId": missing, "url": "https://a.example/h", "kinds": ["*"]}}
    )
    assert data["registerWebhook"]["errors"][0]["code"] == "NOT_FOUND"
    # http to this machine is allowed for testing; the secret is shown once, never in a query.
    endpoint, secret = await register(
        backend, (await customers(backend, 1))[0], "http://localhost:9/hook", ["order.*"]
    )
    assert secret.startswith("whsec_")
    listed = await backend.gql("{ webhookEndpoints(first: 10) { edges { node { id url kinds active } } } }")
    assert [e["node"]["id"] for e in listed["webhookEndpoints"]["edges"]] == [endpoint]
    trail = await backend.gql(
        '{ auditEvents(first: 5, filter: {operation: "registerWebhook"}) { edges { node { changes } } } }'
    )
    assert secret not in json.dumps(trail)


async def test_only_admins_manage_webhooks(backend: Backend) -> None:
    analyst = await backend.key("analyst")
    org = (await customers(backend, 1))[0]
    body = await backend.gql(
        REGISTER,
        {
            "input": {
                "organizationId": encode_global_id("Organization", org),
                "url": "https://a.example/h",
                "kinds": ["*"],
            }
        },
        errors=True,
        key=analyst,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await backend.gql("{ webhookEndpoints { edges { node { id } } } }", errors=True, key=analyst)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_update_and_archive(backend: Backend) -> None:
    org = (await customers(backend, 1))[0]
    endpoint, _ = await register(backend, org, "https://a.example/h", ["order.*"])
    data = await backend.gql(
        """mutation($id: ID!) { updateWebhook(input: {id: $id, kinds: ["shipment.*"], active: false}) {
             endpoint { kinds active } errors { field code } } }""",
        {"id": endpoint},
    )
    assert data["updateWebhook"] == {"endpoint": {"kinds": ["shipment.*"], "active": False}, "errors": []}
    data = await backend.gql(
        'mutation($id: ID!) { updateWebhook(input: {id: $id, url: "http://example.com"}) { errors { field code } } }',
        {"id": endpoint},
    )
    assert data["updateWebhook"]["errors"] == [{"field": ["url"], "code": "INVALID"}]
    data = await backend.gql(
        "mutation($id: ID!) { archiveWebhook(id: $id) { endpoint { active archivedAt } errors { code } } }",
        {"id": endpoint},
    )
    assert (
        data["archiveWebhook"]["endpoint"]["archivedAt"] and not data["archiveWebhook"]["endpoint"]["active"]
    )
    listed = await backend.gql("{ webhookEndpoints { edges { node { id } } } }")
    assert listed["webhookEndpoints"]["edges"] == []


# -- signatures ----------------------------------------------------------------------------


def test_signatures_verify_and_refuse_tampering_and_replays() -> None:
    body = b'{"id":"1"}'
    now = int(time.time())
    header = sign("whsec_x", body, now)
    assert verify_signature("whsec_x", header, body)
    assert verify_signature("whsec_x", header, body.decode())
    assert not verify_signature("whsec_y", header, body)
    assert not verify_signature("whsec_x", header, b'{"id":"2"}')
    assert not verify_signature("whsec_x", sign("whsec_x", body, now - 301), body)
    assert verify_signature("whsec_x", sign("whsec_x", body, now - 301), body, tolerance_s=600)
    assert not verify_signature("whsec_x", None, body)
    assert not verify_signature("whsec_x", "garbage", body)


def test_kind_patterns_and_backoff() -> None:
    assert kind_matches(["order.*"], "order.created") and not kind_matches(["order.*"], "order_line.created")
    assert kind_matches(["*"], "shipment.updated") and kind_matches(["shipment.updated"], "shipment.updated")
    settings = Settings()
    assert 8 <= backoff_seconds(1, settings) <= 12
    assert 16 <= backoff_seconds(2, settings) <= 24
    assert backoff_seconds(30, settings) <= 3600


# -- delivery ------------------------------------------------------------------------------


async def test_delivers_signed_events_to_a_real_http_receiver(
    backend: Backend, http_receiver: tuple[str, Receiver]
) -> None:
    url, receiver = http_receiver
    org = (await customers(backend, 1))[0]
    endpoint, secret = await register(backend, org, url, ["order.*"])
    event_id = await add_event(backend, "order.created", customer_id=org)
    worker = WebhookWorker(backend.session_factory, worker_settings(backend))

    async def delivered() -> bool:
        return bool(await deliveries(backend, endpoint, "DELIVERED"))

    await drain(worker, delivered)
    [(headers, body)] = receiver.requests
    assert verify_signature(secret, headers["partnergraph-signature"], body)
    assert headers["partnergraph-event-id"] == str(event_id)
    assert json.loads(body) == {
        "id": str(event_id),
        "kind": "order.created",
        "occurredAt": json.loads(body)["occurredAt"],
        "nodeId": encode_global_id("Order", 1),
        "changedFields": ["status"],
        "cursor": str(event_id),
    }
    [delivery] = await deliveries(backend, endpoint)
    assert headers["partnergraph-delivery-id"] == str(decode_global_id(delivery["id"])[1])
    assert (
        delivery["attempts"] == 1
        and delivery["lastStatusCode"] == 200
        and delivery["endpoint"]["id"] == endpoint
    )


async def test_only_the_kinds_asked_for_are_delivered(backend: Backend) -> None:
    org = (await customers(backend, 1))[0]
    receiver = Receiver()
    endpoint, _ = await register(
        backend, org, "https://partner.example/hook", ["order.*", "shipment.updated"]
    )
    for kind in (
        "order.created",
        "order_line.updated",
        "shipment.updated",
        "shipment.created",
        "order.status_changed",
    ):
        await add_event(backend, kind, customer_id=org)
    worker = WebhookWorker(backend.session_factory, worker_settings(backend), transport=receiver.transport())
    for _ in range(3):
        await worker.run_once()
    assert sorted(receiver.kinds()) == ["order.created", "order.status_changed", "shipment.updated"]
    assert len(await deliveries(backend, endpoint)) == 3


async def test_an_endpoint_never_receives_another_partners_events(backend: Backend) -> None:
    a, b = await customers(backend, 2)
    receiver_a, receiver_b = Receiver(), Receiver()
    await register(backend, a, "https://a.example/hook", ["*"])
    await register(backend, b, "https://b.example/hook", ["*"])
    for_a = {await add_event(backend, "order.created", customer_id=a) for _ in range(2)}
    for_b = {await add_event(backend, "order.created", customer_id=b) for _ in range(3)}
    await add_event(backend, "order.created", customer_id=None)  # nobody's

    def route(request: httpx.Request) -> httpx.Response:
        receiver = receiver_a if request.url.host == "a.example" else receiver_b
        return httpx.Response(receiver.answer(dict(request.headers), request.content))

    worker = WebhookWorker(
        backend.session_factory, worker_settings(backend), transport=httpx.MockTransport(route)
    )
    for _ in range(3):
        await worker.run_once()
    assert set(map(int, receiver_a.event_ids())) == for_a
    assert set(map(int, receiver_b.event_ids())) == for_b


async def test_retries_with_backoff_then_succeeds(backend: Backend) -> None:
    org = (await customers(backend, 1))[0]
    receiver = Receiver([500, 503])
    counter = FakeCounter()
    endpoint, _ = await register(backend, org, "https://partner.example/hook", ["order.*"])
    await add_event(backend, "order.created", customer_id=org)
    worker = WebhookWorker(
        backend.session_factory,
        worker_settings(backend, webhook_backoff_base_seconds=0.3, webhook_backoff_max_seconds=1),
        transport=receiver.transport(),
        counter=counter,
    )
    await worker.run_once()
    [first] = await deliveries(backend, endpoint)
    assert first["status"] == "PENDING" and first["attempts"] == 1 and first["lastStatusCode"] == 500
    await worker.run_once()  # not due yet: the backoff holds it back
    assert len(receiver.requests) == 1

    async def delivered() -> bool:
        return bool(await deliveries(backend, endpoint, "DELIVERED"))

    await drain(worker, delivered)
    [done] = await deliveries(backend, endpoint)
    assert done["attempts"] == 3 and done["lastStatusCode"] == 200
    assert len(set(receiver.event_ids())) == 1 and len(receiver.requests) == 3
    assert counter.counts == {"retry": 2, "delivered": 1}


async def test_fails_after_max_attempts_and_redelivery_sends_again(backend: Backend) -> None:
    org = (await customers(backend, 1))[0]
    receiver = Receiver([500, 500, 500])
    counter = FakeCounter()
    endpoint, _ = await register(backend, org, "https://partner.example/hook", ["order.*"])
    await add_event(backend, "order.created", customer_id=org)
    worker = WebhookWorker(
        backend.session_factory,
        worker_settings(backend, webhook_max_attempts=3),
        transport=receiver.transport(),
        counter=counter,
    )

    async def failed() -> bool:
        return bool(await deliveries(backend, endpoint, "FAILED"))

    await drain(worker, failed)
    [delivery] = await deliveries(backend, endpoint)
    assert (
        delivery["attempts"] == 3
        and delivery["lastStatusCode"] == 500
        and "HTTP 500" in delivery["lastError"]
    )
    assert counter.counts == {"retry": 2, "failed": 1}
    for _ in range(3):
        await worker.run_once()
    assert len(receiver.requests) == 3  # failed stays failed

    data = await backend.gql(
        "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { delivery { status attempts } errors { code } } }",
        {"id": delivery["id"]},
    )
    assert data["redeliverWebhook"] == {"delivery": {"status": "PENDING", "attempts": 0}, "errors": []}

    async def delivered() -> bool:
        return bool(await deliveries(backend, endpoint, "DELIVERED"))

    await drain(worker, delivered)
    assert len(receiver.requests) == 4
    bad = await backend.gql('mutation { redeliverWebhook(deliveryId: "nope") { errors { field code } } }')
    assert bad["redeliverWebhook"]["errors"] == [{"field": ["deliveryId"], "code": "NOT_FOUND"}]


async def test_a_restarted_worker_continues_without_duplicates(
    backend: Backend, http_receiver: tuple[str, Receiver]
) -> None:
    url, receiver = http_receiver
    org = (await customers(backend, 1))[0]
    endpoint, _ = await register(backend, org, url, ["order.*"])
    events = [await add_event(backend, "order.created", customer_id=org) for _ in range(12)]
    settings = worker_settings(backend, webhook_batch_size=2)

    first = WebhookWorker(backend.session_factory, settings)
    first.start()
    deadline = time.monotonic() + 15
    while len(receiver.requests) < 3:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    await first.stop()
    assert len(receiver.requests) < len(events)  # stopped mid-way

    # Two new workers share what is left.
    second, third = (
        WebhookWorker(backend.session_factory, settings),
        WebhookWorker(backend.session_factory, settings),
    )
    second.start()
    third.start()
    deadline = time.monotonic() + 30
    while len(await deliveries(backend, endpoint, "DELIVERED")) < len(events):
        assert time.monotonic() < deadline, receiver.event_ids()
        await asyncio.sleep(0.05)
    await second.stop()
    await third.stop()
    assert sorted(map(int, receiver.event_ids())) == events  # each exactly once
    async with backend.session_factory() as session:
        rows = (await session.scalars(select(WebhookDelivery.attempts).join(WebhookEndpoint))).all()
        cursor = await session.scalar(
            select(WebhookEndpoint.last_event_id).where(WebhookEndpoint.active.is_(True))
        )
    assert cursor == events[-1] and rows


async def test_the_app_runs_the_worker_when_enabled(
    backend: Backend, http_receiver: tuple[str, Receiver]
) -> None:
    from graph.app import create_app

    url, receiver = http_receiver
    org = (await customers(backend, 1))[0]
    endpoint, _ = await register(backend, org, url, ["order.*"])
    app = create_app(worker_settings(backend, webhooks_enabled=True, cost_budget=10**9))
    async with app.router.lifespan_context(app):
        event_id = await add_event(backend, "order.created", customer_id=org)
        deadline = time.monotonic() + 15
        while not await deliveries(backend, endpoint, "DELIVERED"):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    await app.state.engine.dispose()
    assert receiver.event_ids() == [str(event_id)]
    metrics = app.state.metrics.webhook_deliveries.labels(outcome="delivered")._value.get()
    assert metrics == 1


class FakeCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def labels(self, outcome: str) -> FakeCounter:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        return self

    def inc(self) -> None:
        pass
