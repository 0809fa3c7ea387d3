"""`python -m bench run`: every scenario against PartnerGraph and its baselines, over HTTP.

For each database and scale: build (or reuse) the dataset, make API keys with
`partnergraph apikey create`, start `partnergraph serve` in its own process, drive each scenario
from a load-generator process (bench/load.py) at fixed concurrency, then do the same against the
raw-SQL baseline (bench/raw_app.py) and, on PostgreSQL, PostGraphile v5 (bench/postgraphile).
Results go to bench/results/<date>.json (merged with earlier runs of the same day), with a
Markdown table and PNG plots beside it (bench/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import dataset, queries, servers
from graph.ids import encode_global_id

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PORTAL_CUSTOMERS = 8
NODE_IDS = 500
DEEP_ROWS = 900_000


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- API keys, through the product's CLI --------------------------------------------------------


def _create_key(url: str, role: str, org: int | None, name: str) -> str:
    argv = [
        sys.executable,
        "-m",
        "graph.cli",
        "apikey",
        "create",
        "--database-url",
        url,
        "--role",
        role,
        "--name",
        name,
    ]
    if org is not None:
        argv += ["--org", str(org)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env, cwd=servers.ROOT).stdout
    return out.strip().splitlines()[-1].strip()


async def _valid_keys(url: str, keys: dict[str, Any]) -> bool:
    prefixes = [k.split("_")[1] for k in _all_keys(keys)]
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = (
                await conn.execute(
                    text(
                        "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND prefix IN ("
                        + ", ".join(f"'{p}'" for p in prefixes)
                        + ")"
                    )
                )
            ).scalar_one()
        return found == len(prefixes)
    finally:
        await engine.dispose()


def _all_keys(keys: dict[str, Any]) -> list[str]:
    return [keys["admin"], keys["distributor"], *keys["customers"].values()]


async def api_keys(url: str, cache: Path, sizes: dataset.Sizes) -> dict[str, Any]:
    """An admin key, a distributor's key and the portal customers' keys (kept beside the data)."""
    if cache.exists():
        keys = json.loads(cache.read_text())
        if await _valid_keys(url, keys):
            return keys
    C, D = sizes.customers, sizes.distributors
    customers = [1 + i * C // PORTAL_CUSTOMERS for i in range(PORTAL_CUSTOMERS)]
    distributor = sizes.customers + sizes.suppliers + 1
    jobs = [("admin", None), ("distributor", distributor), *[("customer", c) for c in customers]]
    log(f"creating {len(jobs)} API keys with `partnergraph apikey create`")
    created = await asyncio.gather(
        *[
            asyncio.to_thread(_create_key, url, role, org, f"bench {role} {org or ''}".strip())
            for role, org in jobs
        ]
    )
    keys = {
        "admin": created[0],
        "distributor": created[1],
        "distributor_id": distributor,
        "distributor_customers": [n for n in range(D, C + 1, D)][:200],
        "customers": {str(c): k for c, k in zip(customers, created[2:], strict=True)},
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(keys, indent=1))
    return keys


# -- facts about the dataset the scenarios need ------------------------------------------------


def _iso(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()


async def dataset_facts(url: str) -> dict[str, Any]:
    engine = create_async_engine(url)
    statuses = ", ".join(f"'{s.lower()}'" for s in queries.LIST_STATUSES)
    where = f"status IN ({statuses}) AND archived_at IS NULL"
    try:
        async with engine.connect() as conn:
            counts = {}
            for table in (
                "organizations",
                "products",
                "supplier_products",
                "orders",
                "order_lines",
                "shipments",
                "service_records",
            ):
                counts[table] = (await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one()
            matched = (await conn.execute(text(f"SELECT COUNT(*) FROM orders WHERE {where}"))).scalar_one()
            depth = max(0, min(DEEP_ROWS, matched - queries.LIST_PAGE))
            row = (
                await conn.execute(
                    text(
                        f"SELECT id, placed_at FROM orders WHERE {where} ORDER BY placed_at DESC, id DESC"
                        f" LIMIT 1 OFFSET {max(0, depth - 1)}"
                    )
                )
            ).one()
            max_order = (await conn.execute(text("SELECT MAX(id) FROM orders"))).scalar_one()
    finally:
        await engine.dispose()
    return {
        "counts": counts,
        "list_matched": matched,
        "deep_rows": depth,
        "deep_id": row[0],
        "deep_placed_at": _iso(row[1]),
        "max_order_id": max_order,
    }


def partnergraph_cursor(facts: dict[str, Any]) -> str:
    raw = json.dumps(
        ["k1", "placed_at", facts["deep_placed_at"], facts["deep_id"]], separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def postgraphile_cursor(page_one_cursor: str, facts: dict[str, Any]) -> str:
    """PostGraphile's cursor is base64 JSON [ordering digest, sort value, id]: keep the digest."""
    digest = json.loads(base64.b64decode(page_one_cursor))[0]
    moment = datetime.fromisoformat(facts["deep_placed_at"]).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return base64.b64encode(json.dumps([digest, moment, str(facts["deep_id"])]).encode()).decode()


# -- the load generator -------------------------------------------------------------------------


def drive(port: int, groups: list[dict[str, Any]], duration: float, warmup: float) -> list[dict[str, Any]]:
    spec = {"port": port, "duration": duration, "warmup": warmup, "groups": groups}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.load", f.name],
            check=True,
            capture_output=True,
            text=True,
            cwd=servers.ROOT,
        )
    finally:
        os.unlink(f.name)
    return json.loads(out.stdout)


def gql(query: str, variables: dict[str, Any] | None, key: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return {
        "method": "POST",
        "path": "/graphql",
        "headers": headers,
        "body": json.dumps({"query": query, "variables": variables or {}}),
    }


def get(path: str, key: str) -> dict[str, Any]:
    return {"method": "GET", "path": path, "headers": {"authorization": f"Bearer {key}"}, "body": ""}


def sync_batches(
    keys: dict[str, Any], sizes: dataset.Sizes, orders: int, batch: int, tag: str
) -> tuple[list, int]:
    rng = random.Random(7)
    customers = [encode_global_id("Organization", c) for c in keys["distributor_customers"]]
    lines = 0
    items = []
    for n in range(orders):
        count = rng.randint(2, 6)  # 4 lines on average
        lines += count
        items.append(
            {
                "externalReference": f"BENCH-{tag}-{n:06d}",
                "sourceVersion": 1,
                "customerId": rng.choice(customers),
                "status": "SUBMITTED",
                "currency": "CNY",
                "lines": [
                    {
                        "lineNumber": i + 1,
                        "productId": encode_global_id("Product", rng.randint(1, sizes.products)),
                        "quantity": str(rng.randint(1, 50)),
                        "unitPrice": f"{rng.randint(100, 99999) / 100:.2f}",
                    }
                    for i in range(count)
                ],
            }
        )
    requests = [
        gql(queries.SYNC, {"input": {"orders": items[i : i + batch]}}, keys["distributor"])
        for i in range(0, len(items), batch)
    ]
    return requests, lines


# -- one database at one scale ------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.rows: list[dict[str, Any]] = []
        self.parity: list[dict[str, Any]] = []
        self.datasets: dict[str, Any] = {}

    def record(
        self, base: dict[str, Any], server: str, scenario: str, result: dict[str, Any], **extra: Any
    ) -> None:
        row = {**base, "server": server, "scenario": scenario, **result, **extra}
        row.pop("group", None)
        self.rows.append(row)
        errors = f", {row.get('errors')} errors" if row.get("errors") else ""
        log(
            f"  {server:<13} {scenario:<16} {row.get('rps') or 0:>8.1f} req/s  p50 {row.get('p50_ms')} ms"
            f"  p99 {row.get('p99_ms')} ms  {row.get('sql_statements_per_request')} stmts{errors}"
        )

    def unavailable(self, base: dict[str, Any], server: str, scenario: str, reason: str) -> None:
        self.rows.append({**base, "server": server, "scenario": scenario, "available": False, "note": reason})
        log(f"  {server:<13} {scenario:<16} not available: {reason}")

    def load(
        self, port: int, requests: list[dict[str, Any]], connections: int | None = None
    ) -> dict[str, Any]:
        group = {"name": "main", "connections": connections or self.args.concurrency, "requests": requests}
        return drive(port, [group], self.args.duration, self.args.warmup)[0]

    async def one(self, db: str, scale: str) -> None:
        args = self.args
        started = time.perf_counter()
        url = await dataset.build(db, scale, args.data_dir, args.pg_prefix, log=lambda m: log(m))
        build_seconds = round(time.perf_counter() - started, 1)
        sizes = dataset.Sizes(dataset.SCALES[scale])
        name = (
            dataset.sqlite_path(scale, args.data_dir).stem
            if db == "sqlite"
            else dataset.pg_database(scale, args.pg_prefix)
        )
        keys = await api_keys(url, args.data_dir / f"keys-{db}-{name}.json", sizes)
        facts = await dataset_facts(url)
        self.datasets[f"{db}/{scale}"] = {
            "customers": sizes.customers,
            "ready_seconds": build_seconds,
            **facts,
        }
        base = {
            "db": db,
            "scale": scale,
            "customers": sizes.customers,
            "orders": facts["counts"]["orders"],
            "load_before": round(os.getloadavg()[0], 2),
        }
        log(
            f"{db} {scale}: {facts['counts']['orders']:,} orders, {facts['counts']['order_lines']:,} lines;"
            f" deep page after {facts['deep_rows']:,} rows"
        )

        rng = random.Random(3)
        node_ids = [rng.randint(1, facts["max_order_id"]) for _ in range(NODE_IDS)]
        status = list(queries.LIST_STATUSES)
        deep = partnergraph_cursor(facts)
        customer_keys = list(keys["customers"].items())
        admin = keys["admin"]
        ours = {
            "portal": [gql(queries.portal(), None, k) for _, k in customer_keys],
            "node": [gql(queries.NODE, {"id": encode_global_id("Order", i)}, admin) for i in node_ids],
            "list_first": [gql(queries.LIST, {"status": status}, admin)],
            "list_deep": [gql(queries.LIST, {"status": status, "after": deep}, admin)],
        }
        raw_requests = {
            "portal": [get("/portal", k) for _, k in customer_keys],
            "node": [get(f"/node/{encode_global_id('Order', i)}", admin) for i in node_ids],
            "list_first": [get(f"/orders?first={queries.LIST_PAGE}&status={','.join(status)}", admin)],
            "list_deep": [
                get(f"/orders?first={queries.LIST_PAGE}&status={','.join(status)}&after={deep}", admin)
            ],
        }
        samples: dict[str, Any] = {}

        log(f"starting partnergraph serve --workers {args.workers} ({db}, {scale})")
        with servers.partnergraph(url, args.workers, self.work / f"partnergraph-{db}-{scale}.log") as server:
            for scenario, requests in ours.items():
                status_code, body = servers.post_json(
                    server.port, "/graphql", json.loads(requests[0]["body"]), requests[0]["headers"]
                )
                samples[scenario] = json.loads(body).get("data")
                extra = {}
                if scenario.startswith("list_"):  # also alone: what the data size costs, without queueing
                    alone = self.load(server.port, requests, connections=1)
                    extra = {
                        "rps_1conn": alone["rps"],
                        "p50_ms_1conn": alone["p50_ms"],
                        "p99_ms_1conn": alone["p99_ms"],
                    }
                self.record(base, "partnergraph", scenario, self.load(server.port, requests), **extra)
            self.sales(base, server.port, admin)
        log("starting the raw-SQL baseline")
        with servers.raw(url, args.workers, self.work / f"raw-{db}-{scale}.log") as server:
            for scenario, requests in raw_requests.items():
                status_code, body = servers.post_json(
                    server.port, requests[0]["path"], {}, requests[0]["headers"], method="GET"
                )
                same = json.loads(body).get("data") == samples[scenario]
                self.parity.append({"db": db, "scale": scale, "scenario": scenario, "same_json": same})
                if not same:
                    log(f"  raw-sql {scenario}: JSON differs from PartnerGraph's (kept in the results)")
                    self.parity[-1].update(raw=json.loads(body).get("data"), partnergraph=samples[scenario])
                self.record(base, "raw-sql", scenario, self.load(server.port, requests))
        if db == "postgresql" and args.no_postgraphile:
            self.unavailable(base, "postgraphile", "portal", "skipped (--no-postgraphile)")
        elif db == "postgresql":
            self.postgraphile(base, url, scale, facts, customer_keys, node_ids)
        # The writes run on a scratch copy, so the dataset stays as built for the next run.
        scratch = await dataset.scratch_copy(url, self.work)
        # Keys idle for over a minute, as after any pause: their first uses under load write
        # `last_used_at` (graph/auth.py), which is part of what the locking scenario must survive.
        await dataset.forget_key_use(scratch)
        try:
            log(f"starting partnergraph serve on a scratch copy for the writes ({db}, {scale})")
            with servers.partnergraph(
                scratch, args.workers, self.work / f"partnergraph-{db}-{scale}-writes.log"
            ) as server:
                self.sync(base, server.port, keys, sizes, db)
                if db == "sqlite":
                    self.locking(base, server, ours, keys)
        finally:
            await dataset.drop_copy(scratch)

    def postgraphile(
        self,
        base: dict[str, Any],
        url: str,
        scale: str,
        facts: dict[str, Any],
        customer_keys: list[tuple[str, str]],
        node_ids: list[int],
    ) -> None:
        log("starting PostGraphile v5 (Amber preset)")
        with servers.postgraphile(url, self.args.workers, self.work / f"postgraphile-{scale}.log") as server:
            _, body = servers.post_json(server.port, "/graphql", {"query": queries.PGL_LIST})
            page_one = json.loads(body)["data"]["allOrders"]["pageInfo"]["endCursor"]
            customers = [int(c) for c, _ in customer_keys]
            theirs = {
                "portal": [gql(queries.PGL_PORTAL, {"id": str(c)}, None) for c in customers],
                "node": [gql(queries.PGL_NODE, {"id": str(i)}, None) for i in node_ids],
                "list_first": [gql(queries.PGL_LIST, {}, None)],
                "list_deep": [gql(queries.PGL_LIST, {"after": postgraphile_cursor(page_one, facts)}, None)],
            }
            for scenario, requests in theirs.items():
                self.record(base, "postgraphile", scenario, self.load(server.port, requests))
        statements = self.postgraphile_statements(url, scale, theirs)
        for row in self.rows:
            if (row["db"], row["scale"], row["server"]) == ("postgresql", scale, "postgraphile"):
                row["sql_statements_per_request"] = statements.get(row["scenario"])
        log(f"  postgraphile statements per request: {statements}")

    def postgraphile_statements(self, url: str, scale: str, theirs: dict[str, list]) -> dict[str, float]:
        """Statements per request of each scenario, counted on the wire by a probe instance of
        PostGraphile behind bench/pgproxy.py (never under load)."""
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        counts = self.work / f"pgproxy-{scale}.json"
        target = f"{parsed.host or '127.0.0.1'}:{parsed.port or 5432}"
        found: dict[str, float] = {}
        with servers.pg_statement_counter(target, counts, self.work / f"pgproxy-{scale}.log") as relay:
            probe_url = parsed.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
            with servers.postgraphile(probe_url, 1, self.work / f"postgraphile-probe-{scale}.log") as server:
                for scenario, requests in theirs.items():
                    payload = json.loads(requests[0]["body"])
                    servers.post_json(server.port, "/graphql", payload)  # plans and prepares once
                    time.sleep(0.2)
                    before = json.loads(counts.read_text())["statements"]
                    for _ in range(5):
                        servers.post_json(server.port, "/graphql", payload)
                    time.sleep(0.2)
                    found[scenario] = round((json.loads(counts.read_text())["statements"] - before) / 5, 2)
        return found

    def sales(self, base: dict[str, Any], port: int, admin: str) -> None:
        request = gql(queries.SALES_DYNAMICS, None, admin)
        status, body = servers.post_json(port, "/graphql", json.loads(request["body"]), request["headers"])
        answer = json.loads(body)
        if status != 200 or answer.get("errors") or not answer.get("data"):
            message = (answer.get("errors") or [{}])[0].get("message", f"HTTP {status}")
            self.unavailable(base, "partnergraph", "sales_dynamics", f"not available: {message[:200]}")
            return
        # A report is an analyst's request, not a hot path: two at a time, not sixteen.
        self.record(base, "partnergraph", "sales_dynamics", self.load(port, [request], connections=2))

    def sync(
        self, base: dict[str, Any], port: int, keys: dict[str, Any], sizes: dataset.Sizes, db: str
    ) -> None:
        args = self.args
        tag = f"{datetime.now(UTC):%Y%m%d%H%M%S}"
        requests, lines = sync_batches(keys, sizes, args.sync_orders, args.sync_batch, tag)
        group = {"name": "sync", "connections": 1, "once": True, "requests": requests}
        result = drive(port, [group], args.duration, 0)[0]
        seconds = result["seconds"] or float("nan")
        self.record(
            base,
            "partnergraph",
            "sync",
            result,
            sync_orders=args.sync_orders,
            sync_lines=lines,
            batch=args.sync_batch,
            orders_per_s=round(args.sync_orders / seconds, 1),
            lines_per_s=round(lines / seconds, 1),
        )

    def locking(
        self, base: dict[str, Any], server: servers.Server, ours: dict[str, list], keys: dict[str, Any]
    ) -> None:
        """16 readers and 2 writers at once on SQLite: any "database is locked" is a failure."""
        writers = [
            gql(queries.COMPLAIN, {"customer": encode_global_id("Organization", int(c))}, k)
            for c, k in keys["customers"].items()
        ]
        readers = ours["portal"] + ours["node"][:50] + ours["list_first"]
        groups = [
            {"name": "readers", "connections": 16, "requests": readers},
            {"name": "writers", "connections": 2, "requests": writers},
        ]
        before = server.log.read_bytes().count(b"database is locked")
        read, write = drive(server.port, groups, self.args.lock_duration, 0)
        logged = server.log.read_bytes().count(b"database is locked") - before
        for name, result in (("lock_readers", read), ("lock_writers", write)):
            self.record(
                base, "partnergraph", name, result, logged_locked=logged, lock_seconds=self.args.lock_duration
            )


def run(args: argparse.Namespace) -> Path:
    from bench import report

    args.data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    runner = Run(args, work)
    started = datetime.now(UTC)
    old = report.earlier(args.out, started.date().isoformat())
    load_start = os.getloadavg()
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"}
    failures = []
    path = None
    for db in args.db:
        for scale in args.scale:
            try:
                asyncio.run(runner.one(db, scale))
            except Exception as exc:  # noqa: BLE001 - one failed combination must not lose the others
                log(f"{db} {scale} FAILED: {exc!r} (server logs in {work})")
                failures.append({"db": db, "scale": scale, "error": repr(exc)[:1000]})
            result = {
                "started_at": started.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "loadavg_start": load_start,
                    "loadavg_end": os.getloadavg(),
                },
                "settings": settings,
                "server_logs": str(work),
                "failures": failures,
                "datasets": runner.datasets,
                "rows": runner.rows,
                "parity": runner.parity,
            }
            path = report.write(result, args.out, old)  # after each combination: a crash keeps the rest
    log(f"results: {path}")
    if failures:
        raise SystemExit(f"{len(failures)} combination(s) failed: {failures}")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale",
        action="append",
        choices=[*dataset.SCALES, "all"],
        help="small (1k customers, the default), medium (10k), large (100k), or all; repeatable",
    )
    parser.add_argument(
        "--db",
        action="append",
        choices=["sqlite", "postgresql"],
        help="the database (repeatable; default both)",
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds each scenario is measured (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2, help="seconds of load before measuring (default 2)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="connections of the load generator (16)")
    parser.add_argument("--workers", type=int, default=2, help="server processes of each server (2)")
    parser.add_argument(
        "--lock-duration", type=float, default=60, help="seconds of the SQLite locking scenario"
    )
    parser.add_argument("--sync-orders", type=int, default=10_000, help="orders of the bulk sync (10,000)")
    parser.add_argument("--sync-batch", type=int, default=500, help="orders per syncOrders batch (500)")
    parser.add_argument("--no-postgraphile", action="store_true", help="skip the PostGraphile baseline")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where results go (bench/results)")
    parser.add_argument(
        "--data-dir", type=Path, default=dataset.DATA_DIR, help="SQLite datasets and key files"
    )
    parser.add_argument("--pg-prefix", default="pgbench", help="prefix of the PostgreSQL dataset databases")
    parser.add_argument(
        "--update-doc", action="store_true", help="then put the results into docs/performance.md"
    )


def normalize(args: argparse.Namespace) -> argparse.Namespace:
    scales = args.scale or ["small"]
    args.scale = list(dataset.SCALES) if "all" in scales else list(dict.fromkeys(scales))
    args.db = list(dict.fromkeys(args.db or ["sqlite", "postgresql"]))
    return args
