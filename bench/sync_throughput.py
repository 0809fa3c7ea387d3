"""Order-sync throughput: apply N synced orders in batches through the HTTP API.

    python -m bench.sync_throughput --db sqlite|postgresql --orders 10000 --batch 500

Builds a fresh database (migrations + the demo seed), then posts `syncOrders` batches over
an in-process ASGI transport (the same HTTP path clients take, minus the network) and
prints orders/s and order lines/s, the CPU seconds this process spent posting (client and
server; on SQLite the database engine too, PostgreSQL's own work is not in it) and the SQL
statements per batch. PostgreSQL needs PARTNERGRAPH_TEST_PG_URL (or the default of
tests/pg.py); the database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event, select

from graph.app import create_app
from graph.auth import create_api_key
from graph.db import create_engine
from graph.ids import encode_global_id
from graph.migrate import upgrade
from graph.models import organizations as om
from graph.models import products as pm
from graph.seed import seed_demo
from graph.settings import Settings

MUTATION = """mutation($input: SyncOrdersInput!) {
  syncOrders(input: $input) { errors { code message } results { status } }
}"""


async def _database(kind: str, workdir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'bench.db'}", None
    from tests.pg import create_pg_database

    url = await create_pg_database(prefix="bench_sync")
    return url, url


def _batches(refs: dict, orders: int, batch: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    items = []
    for n in range(orders):
        lines = [
            {
                "lineNumber": i + 1,
                "productId": rng.choice(refs["products"]),
                "quantity": str(rng.randint(1, 50)),
                "unitPrice": f"{rng.randint(100, 99999) / 100:.2f}",
                "supplierId": rng.choice(refs["suppliers"]),
            }
            for i in range(rng.randint(2, 6))  # 4 on average
        ]
        items.append({
            "externalReference": f"ERP-{n:07d}", "sourceVersion": 1, "customerId": rng.choice(refs["customers"]),
            "status": "SUBMITTED", "currency": "CNY", "lines": lines,
        })
    return [items[i : i + batch] for i in range(0, len(items), batch)]


async def run(kind: str, orders: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, to_drop = await _database(kind, Path(tmp))
        try:
            settings = Settings(database_url=url, cost_budget=10**9, max_query_cost=10**6, execution_timeout_seconds=600)
            await upgrade(url)
            engine = create_engine(settings)
            await seed_demo(engine, customers=200, seed=7)
            await engine.dispose()
            app = create_app(settings)
            factory = app.state.session_factory
            async with factory() as session, session.begin():
                key = (await create_api_key(session, role="admin", name="bench")).key
                orgs = (await session.execute(select(om.Organization).where(om.Organization.archived_at.is_(None)))).scalars().all()
                products = (await session.execute(select(pm.Product.id).where(pm.Product.archived_at.is_(None)))).scalars().all()
            org = lambda i: encode_global_id("Organization", i)  # noqa: E731
            refs = {
                "customers": [org(o.id) for o in orgs if o.is_customer],
                "suppliers": [org(o.id) for o in orgs if o.is_supplier],
                "products": [encode_global_id("Product", p) for p in products],
            }
            source = org(refs and next(o.id for o in orgs if o.is_distributor))
            batches = _batches(refs, orders, batch, seed=1)
            lines = sum(len(item["lines"]) for b in batches for item in b)
            transport = httpx.ASGITransport(app=app)
            headers = {"authorization": f"Bearer {key}"}
            statements = 0

            def count(*_: object) -> None:
                nonlocal statements
                statements += 1

            event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers, timeout=600) as client:
                started, cpu_started = time.perf_counter(), time.process_time()
                for items in batches:
                    response = await client.post(
                        "/graphql", json={"query": MUTATION, "variables": {"input": {"orders": items, "sourceOrganizationId": source}}}
                    )
                    body = response.json()
                    payload = body.get("data", {}) and body["data"]["syncOrders"]
                    if not payload or payload["errors"] or any(r["status"] != "CREATED" for r in payload["results"]):
                        raise SystemExit(f"batch failed: {str(body)[:500]}")
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            await app.state.engine.dispose()
        finally:
            if to_drop:
                from tests.pg import drop_pg_database

                await drop_pg_database(to_drop)
    print(f"{kind}: {orders} orders, {lines} lines in {len(batches)} batches of {batch}: {elapsed:.2f} s")
    print(f"  {orders / elapsed:,.0f} orders/s, {lines / elapsed:,.0f} order lines/s")
    print(f"  CPU {cpu:.2f} s in this process; {statements / len(batches):.1f} SQL statements per batch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.orders, args.batch))


if __name__ == "__main__":
    main()
