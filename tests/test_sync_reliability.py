"""Sync reliability: concurrent clients, a crashing server, and a reference model.

Several concurrent `syncOrders` clients send overlapping, duplicated, retried and
out-of-order batches to a real server process (`python -m graph.cli serve`), which is
killed with SIGKILL and restarted on the same port twice while they are sending. Every
batch carries an idempotency key; a client retries the same batch with the same key on
any transport error, 5xx, masked error or "key in use" until it gets an answer. A
change-feed reader follows `changes(after:)` throughout, resuming from its last saved
cursor after every failure.

Afterwards:
- the database equals a simple reference model: for every external reference, the
  content of the highest sourceVersion sent (status, lines by number/sku/quantity, unit
  price = list price, total = sum of the lines), exactly one order per (source
  organization, external reference), and exactly one batch reported it CREATED;
- no item was REJECTED (the plan is legal in any arrival order, see `PATHS`), a
  deliberately re-sent batch is `replayed` with the same results;
- the feed reader saw every outbox event the distributor may see exactly once, in feed
  order ((txid, id) on PostgreSQL, id on SQLite), and each order has one order.created;
- no batch was answered with a masked internal error (retries hide it, but a concurrent
  sync must not sink a whole batch): checked last.

Deterministic plan (random.Random(SEED)); the only nondeterminism is timing, which the
assertions do not depend on. Runs on SQLite and on PostgreSQL (required when
PARTNERGRAPH_TEST_PG_URL is set; a throwaway database from tests/pg.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from graph.db import create_engine
from graph.ids import encode_global_id
from graph.models import organizations as om
from graph.models import products as pm
from graph.models.orders import Order, OrderLine
from graph.models.sync import OutboxEvent
from graph.resolvers.changes import decode_change_cursor
from graph.settings import Settings
from tests.pg import create_pg_database, drop_pg_database, pg_reachable, pg_required

CLI = [sys.executable, "-m", "graph.cli"]
SEED = 20240611
REFS = 60
CLIENTS = 4
KILL_AT = (0.4, 0.7)  # fractions of batches answered when the server is SIGKILLed
OVERALL_TIMEOUT = 75.0  # seconds for clients + feed + restarts, per backend
MAX_ATTEMPTS = 60

# Status paths over four versions in which every later status is reachable from every
# earlier one in a single legal step (same status, the next one, or CANCELLED): whatever
# order the versions arrive in, the highest one applies and the lower ones are STALE.
PATHS = [
    ["DRAFT", "DRAFT", "SUBMITTED", "SUBMITTED"],
    ["DRAFT", "SUBMITTED", "SUBMITTED", "CANCELLED"],
    ["SUBMITTED", "SUBMITTED", "CONFIRMED", "CONFIRMED"],
    ["SUBMITTED", "CONFIRMED", "CONFIRMED", "CANCELLED"],
    ["DRAFT", "DRAFT", "DRAFT", "CANCELLED"],
]

SYNC = """mutation($input: SyncOrdersInput!) { syncOrders(input: $input) {
  replayed errors { code message }
  results { index externalReference status errors { field code message } } } }"""

FEED = """query($after: String) { changes(after: $after, first: 100) {
  pageInfo { hasNextPage endCursor } edges { cursor node { sequence kind nodeId } } } }"""


def _env(**settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PARTNERGRAPH_")}
    env.update({f"PARTNERGRAPH_{name.upper()}": value for name, value in settings.items()})
    return env


def _cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`graph.cli serve` as a subprocess that can be killed and restarted on the same port."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log, self.port = url, log, _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as sink:
            sink.write(f"\n--- start {self.starts} ---\n")
            sink.flush()
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port), "--database-url", self.url],
                stdout=sink, stderr=subprocess.STDOUT,
                env=_env(cost_budget=str(10**9), cost_refill_per_second=str(10**6)),
            )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-4000:]
                try:
                    if (await client.get(f"{self.base}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, self.log.read_text()[-4000:]
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()[-4000:]
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# -- the plan and its reference model ----------------------------------------------------


@dataclass
class Plan:
    versions: dict[str, list[dict]]  # reference → its items, version 1..n
    clients: list[list[list[dict]]]  # client → batches → items
    resend: set[tuple[int, int]]  # (client, batch) sent twice on purpose after success

    def expected(self) -> dict[str, dict]:
        """The reference model: every item is sent (and answered) eventually, so each
        reference ends at its highest version."""
        return {ref: max(items, key=lambda i: i["sourceVersion"]) for ref, items in self.versions.items()}


def make_plan(rng: random.Random, tag: str, customers: list[int], skus: list[str]) -> Plan:
    versions: dict[str, list[dict]] = {}
    for n in range(REFS):
        ref = f"{tag}-{n:03d}"
        path = rng.choice(PATHS)
        customer = encode_global_id("Organization", rng.choice(customers))
        count = rng.randint(2, 4)
        items = []
        for v in range(1, count + 1):
            numbers = sorted(rng.sample(range(1, 6), rng.randint(1, 4)))
            items.append({
                "externalReference": ref,
                "sourceVersion": v * 10 + rng.randint(0, 9),  # gaps, still increasing
                "customerId": customer,
                "status": path[v - 1 + (4 - count)],
                "notes": f"{ref} version {v}",
                "lines": [
                    {
                        "lineNumber": number,
                        "productSku": rng.choice(skus),
                        "quantity": str(Decimal(rng.randint(1, 50_000)) / 1000),
                    }
                    for number in numbers
                ],
            })
        versions[ref] = items
    # Every version once, a third of them twice (duplicates, often through another client),
    # shuffled: versions of one reference arrive in any order.
    stream = [item for items in versions.values() for item in items]
    stream += rng.sample(stream, len(stream) // 3)
    rng.shuffle(stream)
    queues: list[list[dict]] = [[] for _ in range(CLIENTS)]
    for item in stream:
        queues[rng.randrange(CLIENTS)].append(item)
    clients: list[list[list[dict]]] = []
    for queue in queues:
        batches: list[list[dict]] = []
        pending = list(queue)
        while pending:
            size, batch, rest, refs = rng.randint(5, 20), [], [], set()
            for item in pending:
                # A reference at most once per batch (twice would be REJECTED as DUPLICATE).
                if len(batch) < size and item["externalReference"] not in refs:
                    batch.append(item)
                    refs.add(item["externalReference"])
                else:
                    rest.append(item)
            batches.append(batch)
            pending = rest
        clients.append(batches)
    resend = {(c, b) for c, batches in enumerate(clients) for b in range(len(batches)) if rng.random() < 0.15}
    return Plan(versions, clients, resend)


# -- clients -------------------------------------------------------------------------------


@dataclass
class Stats:
    total_batches: int
    answered: int = 0
    retries: int = 0
    transport_errors: int = 0
    retry_reasons: Counter = field(default_factory=Counter)
    results: dict[str, list[dict]] = field(default_factory=dict)  # idempotency key → results
    replays_checked: int = 0
    milestone: asyncio.Event = field(default_factory=asyncio.Event)
    kill_points: list[int] = field(default_factory=list)

    def answer(self) -> None:
        self.answered += 1
        if self.kill_points and self.answered >= self.kill_points[0]:
            self.milestone.set()


async def send(client: httpx.AsyncClient, server: Server, key: str, batch: list[dict], headers: dict, stats: Stats) -> dict:
    """Send one batch until it is answered: the same key and payload on every attempt."""
    payload = {"query": SYNC, "variables": {"input": {"idempotencyKey": key, "orders": batch}}}
    for attempt in range(MAX_ATTEMPTS):
        reason = None
        try:
            response = await client.post(f"{server.base}/graphql", json=payload, headers=headers, timeout=20)
            if response.status_code >= 500:
                reason = f"http {response.status_code}"
            else:
                assert response.status_code == 200, response.text
                body = response.json()
                data = (body.get("data") or {}).get("syncOrders")
                if data is None:
                    reason = "error: " + "; ".join(e.get("message", "?") for e in body.get("errors", []))
                elif any(e["code"] == "IDEMPOTENCY_KEY_IN_USE" for e in data["errors"]):
                    reason = "key in use"
                else:
                    assert data["errors"] == [], (key, data["errors"])
                    return data
        except httpx.TransportError as exc:
            stats.transport_errors += 1
            reason = type(exc).__name__
        stats.retries += 1
        stats.retry_reasons[reason] += 1
        await asyncio.sleep(min(1.0, 0.05 * 2 ** min(attempt, 5)) * (0.5 + random.random()))
    raise AssertionError(f"batch {key} unanswered after {MAX_ATTEMPTS} attempts")


async def run_client(n: int, plan: Plan, server: Server, headers: dict, stats: Stats) -> None:
    async with httpx.AsyncClient() as client:
        for b, batch in enumerate(plan.clients[n]):
            key = f"client-{n}-batch-{b}-{uuid.uuid4().hex[:8]}"
            data = await send(client, server, key, batch, headers, stats)
            statuses = [r["status"] for r in data["results"]]
            assert [r["externalReference"] for r in data["results"]] == [i["externalReference"] for i in batch]
            assert all(s in {"CREATED", "UPDATED", "UNCHANGED", "STALE"} for s in statuses), data["results"]
            stats.results[key] = data["results"]
            stats.answer()
            if (n, b) in plan.resend:
                # A retry whose first answer was lost: answered from storage, nothing applied again.
                again = await send(client, server, key, batch, headers, stats)
                assert again["replayed"] is True and again["results"] == data["results"], (data, again)
                stats.replays_checked += 1


@dataclass
class Feed:
    seen: list[int] = field(default_factory=list)
    cursor: str | None = None
    failures: int = 0
    stop: bool = False


async def read_feed(server: Server, headers: dict, feed: Feed) -> None:
    """Follow the feed, persisting the cursor after each page; on any failure start over
    with a fresh connection from the saved cursor."""
    while True:
        try:
            async with httpx.AsyncClient() as client:
                while True:
                    response = await client.post(
                        f"{server.base}/graphql", json={"query": FEED, "variables": {"after": feed.cursor}},
                        headers=headers, timeout=10,
                    )
                    if response.status_code >= 500:
                        raise RuntimeError(response.text)
                    body = response.json()
                    if not body.get("data"):
                        raise RuntimeError(body)
                    page = body["data"]["changes"]
                    for edge in page["edges"]:
                        assert decode_change_cursor(edge["cursor"]) == edge["node"]["sequence"]
                        feed.seen.append(edge["node"]["sequence"])
                    feed.cursor = page["pageInfo"]["endCursor"] or feed.cursor
                    if not page["pageInfo"]["hasNextPage"]:
                        if feed.stop:
                            return
                        await asyncio.sleep(0.05)
        except (httpx.TransportError, RuntimeError):
            feed.failures += 1
            await asyncio.sleep(0.1)


# -- the test ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'reliability.db'}"
        return
    if not await pg_reachable() and not pg_required():
        pytest.skip("PostgreSQL is not reachable (set PARTNERGRAPH_TEST_PG_URL to require it)")
    url = await create_pg_database(prefix="pg_reliability")
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def test_concurrent_sync_through_server_crashes_matches_the_reference_model(
    database: str, tmp_path: Path
) -> None:
    url = database
    _cli("migrate", "--database-url", url)
    _cli("seed", "--demo", "--customers", "12", "--seed", "5", "--database-url", url)

    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            coverage = om.DistributorCoverage.__table__
            counts = (
                await conn.execute(
                    select(coverage.c.distributor_id, func.count())
                    .where(coverage.c.archived_at.is_(None))
                    .group_by(coverage.c.distributor_id)
                    .order_by(func.count().desc(), coverage.c.distributor_id)
                )
            ).all()
            distributor = counts[0][0]
            customers = sorted((
                await conn.execute(
                    select(coverage.c.customer_id).where(
                        coverage.c.distributor_id == distributor, coverage.c.archived_at.is_(None)
                    )
                )
            ).scalars().unique())
            products = {
                row.sku: Decimal(row.list_price)
                for row in await conn.execute(
                    select(pm.Product.__table__).where(pm.Product.__table__.c.archived_at.is_(None))
                )
            }
        assert customers and len(products) >= 3

        made = _cli("apikey", "create", "--role", "distributor", "--org", str(distributor), "--database-url", url)
        headers = {"authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}

        rng = random.Random(SEED)
        tag = f"REL{uuid.uuid4().hex[:6]}"
        plan = make_plan(rng, tag, customers, sorted(products))
        total = sum(len(b) for b in plan.clients)
        stats = Stats(total_batches=total, kill_points=[max(1, int(total * f)) for f in KILL_AT])
        feed = Feed()

        server = Server(url, tmp_path / "server.log")
        await server.start()
        try:

            async def chaos() -> None:
                while stats.kill_points:
                    await stats.milestone.wait()
                    stats.milestone.clear()
                    stats.kill_points.pop(0)
                    server.kill()
                    await asyncio.sleep(0.3)  # clients and feed hit a closed port meanwhile
                    await server.start()
                    if stats.kill_points and stats.answered >= stats.kill_points[0]:
                        stats.milestone.set()

            async def scenario() -> None:
                reader = asyncio.create_task(read_feed(server, headers, feed))
                killer = asyncio.create_task(chaos())
                try:
                    await asyncio.gather(*(run_client(n, plan, server, headers, stats) for n in range(CLIENTS)))
                    await killer  # every kill point was reached before the last batch answered
                    feed.stop = True
                    await reader
                finally:
                    for task in (reader, killer):
                        task.cancel()

            started = time.monotonic()
            try:
                await asyncio.wait_for(scenario(), OVERALL_TIMEOUT)
            except Exception:
                print(f"stats: {stats}\nserver log tail:\n{server.log.read_text()[-6000:]}")
                raise
            elapsed = time.monotonic() - started

            assert server.starts == 1 + len(KILL_AT)
            assert stats.transport_errors > 0, "the restarts went unnoticed: nothing was retried"
            assert stats.answered == total and len(stats.results) == total
            assert stats.replays_checked == len(plan.resend)

            # The feed may hold back events of transactions that were in flight (PostgreSQL):
            # drain until it has caught up with everything committed, within a bound.
            visible = OutboxEvent.__table__
            async with engine.connect() as conn:
                expected_events = [
                    row.id
                    for row in await conn.execute(
                        select(visible.c.id)
                        .where(visible.c.distributor_id == distributor)
                        .order_by(func.coalesce(visible.c.txid, 0), visible.c.id)
                    )
                ]
            deadline = time.monotonic() + 15
            while len(feed.seen) < len(expected_events) and time.monotonic() < deadline:
                feed.stop = True
                await asyncio.wait_for(read_feed(server, headers, feed), 15)
                await asyncio.sleep(0.1)
        finally:
            server.stop()

        print(
            f"{url.split(':')[0]}: {total} batches, {sum(len(b) for c in plan.clients for b in c)} items, "
            f"{stats.retries} retries {dict(stats.retry_reasons)}, feed failures {feed.failures}, "
            f"{len(feed.seen)} events, {elapsed:.1f}s"
        )

        # -- the data equals the reference model ----------------------------------------
        expected = plan.expected()
        order_t, line_t = Order.__table__, OrderLine.__table__
        product_t = pm.Product.__table__
        async with engine.connect() as conn:
            orders = (
                await conn.execute(
                    select(order_t).where(
                        order_t.c.source_organization_id == distributor,
                        order_t.c.external_reference.like(f"{tag}-%"),
                    )
                )
            ).all()
            lines = (
                await conn.execute(
                    select(line_t, product_t.c.sku)
                    .join(product_t, product_t.c.id == line_t.c.product_id)
                    .where(line_t.c.order_id.in_([o.id for o in orders]), line_t.c.archived_at.is_(None))
                )
            ).all()
        per_ref = Counter(o.external_reference for o in orders)
        assert {r: n for r, n in per_ref.items() if n != 1} == {}, "duplicate orders"
        assert set(per_ref) == set(expected), "lost orders"
        created = Counter(
            r["externalReference"] for results in stats.results.values() for r in results if r["status"] == "CREATED"
        )
        assert created == Counter(set(expected)), "an order was reported CREATED more than once"

        lines_of: dict[int, list[Any]] = {}
        for line in lines:
            lines_of.setdefault(line.order_id, []).append(line)
        mismatches = []
        for order in orders:
            want = expected[order.external_reference]
            got_lines = sorted((ln.line_number, ln.sku, Decimal(ln.quantity)) for ln in lines_of.get(order.id, []))
            want_lines = sorted((ln["lineNumber"], ln["productSku"], Decimal(ln["quantity"])) for ln in want["lines"])
            line_sum = sum((Decimal(ln.line_total) for ln in lines_of.get(order.id, [])), Decimal(0))
            got = (order.source_version, order.status.name, order.notes, order.distributor_id, got_lines)
            wanted = (want["sourceVersion"], want["status"], want["notes"], distributor, want_lines)
            if got != wanted:
                mismatches.append((order.external_reference, got, wanted))
            if Decimal(order.total_amount) != line_sum:
                mismatches.append((order.external_reference, "total", order.total_amount, line_sum))
            for ln in lines_of.get(order.id, []):
                if Decimal(ln.unit_price) != products[ln.sku]:
                    mismatches.append((order.external_reference, "unit price", ln.line_number, ln.unit_price))
        assert mismatches == [], mismatches[:10]

        # -- the feed reader saw every change once, in feed order -------------------------
        repeated = [i for i, n in Counter(feed.seen).items() if n > 1]
        assert repeated == [], f"events delivered twice: {repeated[:20]}"
        missing = sorted(set(expected_events) - set(feed.seen))
        extra = sorted(set(feed.seen) - set(expected_events))
        assert missing == [] and extra == [], (missing[:20], extra[:20])
        assert feed.seen == expected_events, "events out of feed order"
        async with engine.connect() as conn:
            kinds = Counter(
                (row.record_id, row.kind)
                for row in await conn.execute(
                    select(visible.c.record_id, visible.c.kind).where(
                        visible.c.table_name == "orders", visible.c.record_id.in_([o.id for o in orders])
                    )
                )
            )
        assert all(kinds[(o.id, "order.created")] == 1 for o in orders), "order.created not exactly once per order"

        # -- no batch failed as a whole because of a concurrent sync --------------------------
        # Checked last, after the data: retries make the data right either way, but a batch
        # that races another batch creating the same new reference must still get per-item
        # results (or a typed, retryable batch error), not a masked "Internal server error."
        # with no data that also throws away every other item of the batch. (Seen on
        # PostgreSQL: the unique (source_organization_id, external_reference) violation of
        # the losing INSERT escapes syncOrders as an unexpected error.)
        masked = {r: n for r, n in stats.retry_reasons.items() if r.startswith(("error", "http 5"))}
        assert masked == {}, f"whole batches failed with masked errors under concurrent sync: {masked}"
    finally:
        await engine.dispose()
