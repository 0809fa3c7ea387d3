"""Webhooks: outbox events pushed to partners' HTTPS endpoints, signed, retried, never lost.

A worker (one asyncio task per process: the app's lifespan when `webhooks_enabled`, or
`partnergraph webhooks run`) repeats two steps, with all state in the database:

1. **Fan-out.** For each active endpoint, read the outbox events after its cursor
   (`last_event_id`), in a bounded batch, and insert a `WebhookDelivery` for each one whose
   kind the endpoint asked for and which its organization may see (graph/access.py), then
   advance the cursor, all in one transaction. The unique (endpoint, event) pair makes a
   repeated fan-out harmless. On PostgreSQL an event id is taken at insert, not at commit, so
   events are read in (txid, id) order and only from transactions older than every one still
   in flight (`txid < pg_snapshot_xmin(pg_current_snapshot())`): an event committed later can
   never land behind the cursor.
2. **Delivery.** Claim due deliveries (pending, `next_attempt_at` passed) with one UPDATE that
   pushes their `next_attempt_at` a lease into the future (PostgreSQL: rows picked with
   `FOR UPDATE SKIP LOCKED`; SQLite has one writer), POST each, and record the outcome:
   2xx is delivered; anything else is retried with exponential backoff and jitter until
   `webhook_max_attempts`, then failed. A worker that dies mid-POST leaves the delivery to be
   retried once its lease expires, so delivery is at least once; receivers deduplicate on
   `PartnerGraph-Event-Id`.

`verify_signature()` is the reference check for receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.access import Principal, visible
from graph.models.base import utcnow
from graph.models.organizations import Organization, roles_of
from graph.models.sync import OutboxEvent, WebhookDelivery, WebhookEndpoint
from graph.resolvers.changes import event_position, in_commit_order, kinds_condition
from graph.settings import Settings

log = logging.getLogger("partnergraph.webhooks")

SIGNATURE_HEADER = "PartnerGraph-Signature"
EVENT_ID_HEADER = "PartnerGraph-Event-Id"
DELIVERY_ID_HEADER = "PartnerGraph-Delivery-Id"

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

_KIND_PATTERN = re.compile(r"^\*$|^[a-z][a-z_]*\.(\*|[a-z][a-z_]*)$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_MAX_KINDS = 50
_ERROR_LENGTH = 500


# -- registration rules --------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why `url` cannot receive webhooks, or None: HTTPS, or plain HTTP to this machine only."""
    if len(url) > 2000:
        return "At most 2000 characters."
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "Not a valid URL."
    if not host:
        return "Not an absolute URL (https://host/path)."
    if parts.username or parts.password:
        return "Credentials do not belong in the URL; verify the signature instead."
    if parts.fragment:
        return "A URL with a #fragment cannot be posted to."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        return None  # local testing
    if parts.scheme == "http":
        return "Must use https:// (plain http only to localhost or 127.0.0.1, for testing)."
    return "Must be an https:// URL."


def kinds_problem(kinds: Sequence[str]) -> str | None:
    """Why a list of kind patterns is refused, or None. Patterns: `order.created`, `order.*`, `*`."""
    if not kinds:
        return 'Name at least one event kind, e.g. "order.*".'
    if len(kinds) > _MAX_KINDS:
        return f"At most {_MAX_KINDS} kinds."
    bad = [k for k in kinds if not _KIND_PATTERN.match(k)]
    if bad:
        return f'Not event kinds: {", ".join(bad)} (use e.g. "order.created", "order.*" or "*").'
    return None


def kind_matches(patterns: Sequence[str], kind: str) -> bool:
    """Whether an event kind is one of `patterns` (the SQL twin is graph.resolvers.changes.kinds_condition)."""
    for pattern in patterns:
        if pattern == "*" or pattern == kind:
            return True
        if pattern.endswith(".*") and kind.startswith(pattern[:-1]):
            return True
    return False


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


# -- signatures ----------------------------------------------------------------------------


def sign(secret: str, body: bytes | str, timestamp: int) -> str:
    """The `PartnerGraph-Signature` header value for a body sent at `timestamp` (unix seconds)."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str | None, body: bytes | str, tolerance_s: float = 300, *, now: float | None = None
) -> bool:
    """Whether `header` (PartnerGraph-Signature) signs `body` (the raw request body) with
    `secret`, sent within `tolerance_s` seconds of now (which refuses replays of old requests).

    Reference for receivers: compute HMAC-SHA256(secret, f"{t}.{body}") in hex and compare it,
    in constant time, with each `v1=` value of the header."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Delay before the next attempt after `attempts` failed ones: base × 2^(attempts-1),
    ±20 % jitter (so endpoints that failed together do not retry together), capped."""
    delay = settings.webhook_backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return min(settings.webhook_backoff_max_seconds, delay * random.uniform(0.8, 1.2))


def event_body(event: Any) -> dict[str, Any]:
    """The JSON a receiver gets for an outbox event: which node changed and which fields,
    never their values (read the node through the API, which applies your access rules)."""
    payload = event.payload or {}
    return {
        "id": str(event.id),
        "kind": event.kind,
        "occurredAt": event.occurred_at.isoformat(),
        "nodeId": event.node_id,
        "changedFields": list(payload.get("fields", [])),
        "cursor": str(event.id),  # the event's position in the outbox (the change feed)
    }


# -- fan-out -------------------------------------------------------------------------------


def _visibility_condition(organization: Any) -> ColumnElement[bool]:
    """The events an organization may receive: what any of its partner roles may see."""
    conditions: list[ColumnElement[bool]] = []
    for role in roles_of(organization):
        principal = Principal.for_role(
            role.value, f"webhooks:{organization.id}", organization_id=organization.id
        )
        condition = visible(OutboxEvent, principal)
        if condition is None:
            return true()
        conditions.append(condition)
    return or_(*conditions) if conditions else false()


async def _fan_out_endpoint(session: AsyncSession, endpoint: Any, batch: int) -> int:
    """Queue one endpoint's next batch of events; returns how many events were passed."""
    events = OutboxEvent.__table__
    organization = await session.get(Organization, endpoint.organization_id)
    matches = and_(kinds_condition(endpoint.kinds), _visibility_condition(organization))
    stmt = select(events.c.id, case((matches, 1), else_=0).label("wanted"))
    on_postgresql = session.bind.dialect.name == "postgresql"
    after = await event_position(session.scalar, endpoint.last_event_id, on_postgresql)
    stmt = in_commit_order(stmt, after, on_postgresql)
    rows = (await session.execute(stmt.limit(batch))).all()
    if not rows:
        return 0
    wanted = [row.id for row in rows if row.wanted]
    if wanted:
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        now = utcnow()
        values = [
            {
                "endpoint_id": endpoint.id,
                "event_id": event_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id in wanted
        ]
        await session.execute(
            dialect.insert(WebhookDelivery.__table__)
            .values(values)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        )
    endpoint.last_event_id = rows[-1].id
    return len(rows)


# -- the worker ----------------------------------------------------------------------------


class WebhookWorker:
    """Fans out and delivers until stopped. Safe to run in several processes at once."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        counter: Any = None,  # graph.observability.webhook_deliveries_counter(app)
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.counter = counter
        self.transport = transport
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._client: httpx.AsyncClient | None = None

    # Lifecycle

    def start(self) -> asyncio.Task:
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name="partnergraph-webhooks")
        return self._task

    async def stop(self, timeout: float | None = None) -> None:
        """Finish the round in progress (deliveries under way get their answer), then stop;
        after `timeout` seconds (default: the request timeout plus 5 s) cancel it."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(
                asyncio.shield(self._task), timeout or self.settings.webhook_timeout_seconds + 5
            )
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            self._task = None

    async def run(self) -> None:
        log.info("webhook worker started")
        async with self._http() as client:
            self._client = client
            try:
                while not self._stopping.is_set():
                    try:
                        busy = await self.run_once()
                    except Exception:  # noqa: BLE001 - e.g. the database is away: try again later
                        log.warning("webhook worker round failed; retrying", exc_info=True)
                        busy = 0
                    if not busy:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(
                                self._stopping.wait(), self.settings.webhook_poll_interval_seconds
                            )
            finally:
                self._client = None
        log.info("webhook worker stopped")

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport,
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": "PartnerGraph-Webhooks/1"},
        )

    async def run_once(self) -> int:
        """One round: fan out, then deliver what is due. Returns the work done (0: idle)."""
        fanned = await self.fan_out()
        delivered = await self.deliver_due()
        return fanned + delivered

    # Fan-out

    async def fan_out(self) -> int:
        passed = 0
        async with self.session_factory() as session:
            ids = (
                await session.scalars(
                    select(WebhookEndpoint.id)
                    .where(WebhookEndpoint.active.is_(True), WebhookEndpoint.archived_at.is_(None))
                    .order_by(WebhookEndpoint.id)
                )
            ).all()
        for endpoint_id in ids:
            async with self.session_factory() as session, session.begin():
                stmt = select(WebhookEndpoint).where(
                    WebhookEndpoint.id == endpoint_id,
                    WebhookEndpoint.active.is_(True),
                    WebhookEndpoint.archived_at.is_(None),
                )
                if session.bind.dialect.name == "postgresql":
                    # Another worker is fanning this endpoint out: leave it to it.
                    stmt = stmt.with_for_update(skip_locked=True)
                endpoint = (await session.execute(stmt)).scalar_one_or_none()
                if endpoint is not None:
                    passed += await _fan_out_endpoint(session, endpoint, self.settings.webhook_batch_size)
        return passed

    # Delivery

    async def deliver_due(self) -> int:
        claimed = await self._claim()
        if not claimed:
            return 0
        if self._client is not None:
            await asyncio.gather(*(self._deliver(self._client, row) for row in claimed))
        else:
            async with self._http() as client:
                await asyncio.gather(*(self._deliver(client, row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[Any]:
        """Take due deliveries for this worker by moving them a lease into the future."""
        deliveries = WebhookDelivery.__table__
        endpoints = WebhookEndpoint.__table__
        events = OutboxEvent.__table__
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_timeout_seconds + 60)
        async with self.session_factory() as session, session.begin():
            due = (
                select(deliveries.c.id)
                .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
                .where(
                    deliveries.c.status == PENDING,
                    deliveries.c.next_attempt_at <= now,
                    endpoints.c.active.is_(True),
                    endpoints.c.archived_at.is_(None),
                )
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                .limit(self.settings.webhook_batch_size)
            )
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(of=deliveries, skip_locked=True)
            ids = (
                await session.scalars(
                    update(deliveries)
                    .where(
                        deliveries.c.id.in_(due.scalar_subquery()),
                        deliveries.c.status == PENDING,
                        deliveries.c.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=lease)
                    .returning(deliveries.c.id)
                )
            ).all()
            if not ids:
                return []
            stmt = (
                select(
                    deliveries.c.id.label("delivery_id"),
                    deliveries.c.attempts,
                    endpoints.c.id.label("endpoint_id"),
                    endpoints.c.url,
                    endpoints.c.secret,
                    events,
                )
                .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
                .join(events, events.c.id == deliveries.c.event_id)
                .where(deliveries.c.id.in_(ids))
                .order_by(deliveries.c.event_id)
            )
            return list((await session.execute(stmt)).all())

    async def _deliver(self, client: httpx.AsyncClient, row: Any) -> None:
        body = json.dumps(event_body(row), separators=(",", ":"))
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(row.secret, body, int(time.time())),
            EVENT_ID_HEADER: str(row.id),
            DELIVERY_ID_HEADER: str(row.delivery_id),
        }
        status_code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            response = await client.post(row.url, content=body.encode(), headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        await self._record(row, status_code, error, time.perf_counter() - started)

    async def _record(self, row: Any, status_code: int | None, error: str | None, seconds: float) -> None:
        attempts = row.attempts + 1
        now = utcnow()
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status_code": status_code,
            "last_error": error and error[:_ERROR_LENGTH],
        }
        if error is None:
            outcome = DELIVERED
            values.update(status=DELIVERED, delivered_at=now, next_attempt_at=now)
        elif attempts >= self.settings.webhook_max_attempts:
            outcome = FAILED
            values.update(status=FAILED, next_attempt_at=now)
        else:
            outcome = "retry"
            values.update(next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts, self.settings)))
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(WebhookDelivery.__table__)
                .where(WebhookDelivery.__table__.c.id == row.delivery_id)
                .values(**values)
            )
        level = logging.INFO if outcome == DELIVERED else logging.WARNING
        log.log(
            level,
            "webhook delivery %s (event %s %s) to endpoint %s: %s, attempt %d, %s in %.0f ms%s",
            row.delivery_id,
            row.id,
            row.kind,
            row.endpoint_id,
            outcome,
            attempts,
            status_code if status_code is not None else "no response",
            seconds * 1000,
            "" if outcome != "retry" else f", next at {values['next_attempt_at'].isoformat()}",
            extra={"event": "webhook_delivery", "outcome": outcome},
        )
        if self.counter is not None:
            self.counter.labels(outcome=outcome).inc()


async def latest_event_id(session: AsyncSession) -> int:
    """Where a new endpoint's cursor starts: it receives events from now on."""
    return (await session.scalar(select(func.max(OutboxEvent.id)))) or 0
