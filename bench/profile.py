"""`python -m bench profile`: CPU per request through the whole app, in one process.

Throughput over HTTP moves with how connections spread over workers and with whatever else the
machine is doing; CPU time per request does not, so this is how a change is A/B-measured:

    python -m bench profile --scenario node                    # min of 3 rounds, ms of CPU
    python -m bench profile --scenario portal --profile cprofile   # and where it went

It builds the app as `partnergraph serve` does (`create_served_app`, on uvloop), makes its own
API key in the dataset, and calls the ASGI app directly with the benchmark's own requests
(bench/queries.py): middleware, authentication, strawberry, graphql-core and SQL all count,
HTTP parsing does not.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import dataset, queries
from bench.servers import PARTNERGRAPH_ENV

SCENARIOS = ("node", "portal", "list", "typename", "sales")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", choices=SCENARIOS, default="node")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scale", choices=list(dataset.SCALES), default="small")
    parser.add_argument("--requests", type=int, default=0, help="per round (default: 600, portal 200, sales 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the fastest is reported (3)")
    parser.add_argument("--profile", choices=["cprofile"], help="print the hottest functions of one more round")
    parser.add_argument("--sort", choices=["tottime", "cumulative"], default="tottime", help="cProfile order (tottime)")
    parser.add_argument("--top", type=int, default=30, help="functions cProfile prints (30)")
    parser.add_argument("--callers", help="also print the callers of the functions matching this regex")
    parser.add_argument("--data-dir", type=Path, default=dataset.DATA_DIR, help="where SQLite datasets live")
    parser.add_argument("--pg-prefix", default="pgbench", help="prefix of the PostgreSQL dataset databases")


async def _bodies(url: str, scenario: str) -> tuple[str, list[dict[str, Any]]]:
    """(role and organization of the caller, the requests it sends in turn)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from graph.ids import encode_global_id

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            customer = (await conn.execute(text("SELECT min(id) FROM organizations WHERE is_customer"))).scalar()
            orders = (await conn.execute(text("SELECT id FROM orders ORDER BY id LIMIT 500"))).scalars().all()
    finally:
        await engine.dispose()
    if scenario == "portal":
        return f"customer:{customer}", [{"query": queries.portal()}]
    if scenario == "node":
        return "admin", [{"query": queries.NODE, "variables": {"id": encode_global_id("Order", i)}} for i in orders]
    if scenario == "list":
        return "admin", [{"query": queries.LIST, "variables": {"status": list(queries.LIST_STATUSES)}}]
    if scenario == "sales":
        return "admin", [{"query": queries.SALES_DYNAMICS}]
    return "admin", [{"query": "{ __typename }"}]


async def _key(session_factory: Any, caller: str) -> str:
    from graph.auth import create_api_key

    role, _, organization = caller.partition(":")
    async with session_factory() as session, session.begin():
        made = await create_api_key(
            session, role=role, name="bench profile", organization_id=int(organization) if organization else None
        )
    return made.key


def _caller(app: Any, key: str) -> Callable[[dict[str, Any]], Any]:
    async def call(body: dict[str, Any]) -> bytes:
        raw = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-length", str(len(raw)).encode()),
        ]
        scope = {
            "type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
            "scheme": "http", "query_string": b"", "server": ("bench", 80), "client": ("bench", 1),
            "asgi": {"version": "3.0"}, "http_version": "1.1", "headers": headers, "state": {},
        }  # fmt: skip
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            return {}

        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return b"".join(chunks)

    return call


async def measure(
    url: str, scenario: str, requests: int, rounds: int, profile: str | None, options: Any = None
) -> dict[str, Any]:
    from graph.app import create_served_app

    caller, bodies = await _bodies(url, scenario)
    app = create_served_app()
    key = await _key(app.state.session_factory, caller)
    call = _caller(app, key)
    try:
        first = json.loads(await call(bodies[0]))
        if first.get("errors"):
            raise RuntimeError(f"the {scenario} request failed: {first['errors']}")
        for i in range(min(50, requests)):  # warm: kept statements, caches, prepared statements
            await call(bodies[i % len(bodies)])
        cpu = []
        for _ in range(rounds):
            started = time.process_time()
            for i in range(requests):
                await call(bodies[i % len(bodies)])
            cpu.append((time.process_time() - started) / requests * 1000)
        report = {
            "scenario": scenario,
            "cpu_ms_per_request": round(min(cpu), 3),
            "rounds_ms": [round(c, 3) for c in cpu],
            "sql_statements": first.get("extensions", {}).get("sqlStatements"),
            "response_bytes": len(json.dumps(first)),
        }
        if profile == "cprofile":
            options = options or argparse.Namespace(sort="tottime", top=30, callers=None)
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(requests):
                await call(bodies[i % len(bodies)])
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats(options.sort).print_stats(options.top)
            if options.callers:
                stats.print_callers(options.callers)
        return report
    finally:
        await app.state.engine.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = asyncio.run(dataset.build(args.db, args.scale, args.data_dir, args.pg_prefix))
    # The server's benchmark settings (no budgets in the way, statement counts in the answer),
    # and quiet logs: a line per request would be measured too.
    for name, value in {**PARTNERGRAPH_ENV, "PARTNERGRAPH_DATABASE_URL": url, "PARTNERGRAPH_LOG_LEVEL": "WARNING"}.items():
        os.environ[name] = value
    requests = args.requests or {"portal": 200, "sales": 5}.get(args.scenario, 600)
    try:
        import uvloop

        return uvloop.run(measure(url, args.scenario, requests, args.rounds, args.profile, args))
    except ImportError:  # plain asyncio: a little more CPU per request
        return asyncio.run(measure(url, args.scenario, requests, args.rounds, args.profile, args))
