"""Scale-out: budgets shared through Redis, pool and timeout settings, a read replica."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from graph.app import create_app
from graph.db import create_engine
from graph.ids import encode_global_id
from graph.limits import BudgetStoreUnavailable, RedisCostBudgets
from graph.migrate import upgrade
from graph.models.organizations import Organization
from graph.seed import seed_demo
from graph.settings import Settings
from tests.pg import create_pg_database, drop_pg_database, pg_reachable, pg_required

REDIS_ENV_VAR = "PARTNERGRAPH_TEST_REDIS_URL"
SMALL = """{ orders(first: 3) { totalCount edges { node { number
              lines(first: 2) { edges { node { quantity product { sku } } } } } } } }"""
SMALL_COST = 28
NOBODY_LISTENS = "redis://127.0.0.1:1/0"


def redis_url() -> str:
    return os.environ.get(REDIS_ENV_VAR) or "redis://127.0.0.1:6379/0"


def redis_required() -> bool:
    """CI (which sets the PostgreSQL URL, and has Redis too) must run these, not skip them."""
    return bool(os.environ.get(REDIS_ENV_VAR)) or pg_required()


@pytest.fixture
async def redis() -> str:
    import redis.asyncio as redis_client

    client = redis_client.Redis.from_url(redis_url(), socket_connect_timeout=2)
    try:
        await client.ping()
    except (redis_client.RedisError, OSError):
        if redis_required():
            raise
        pytest.skip(f"Redis is not reachable at {redis_url()} (set {REDIS_ENV_VAR} to require it)")
    finally:
        await client.aclose()
    return redis_url()


@pytest.fixture(scope="module")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('scaleout') / 'scaleout.db'}"
    await upgrade(url)
    return url


async def _seeded_pg(seed: int) -> str:
    url = await create_pg_database(prefix="pg_scaleout")
    await upgrade(url)
    engine = create_engine(Settings(database_url=url))
    try:
        await seed_demo(engine, customers=10, seed=seed)
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def apps() -> AsyncIterator[Any]:
    """`make(settings)` → a client of a new app; every app is disposed of afterwards."""
    built: list[Any] = []

    async def make(settings: Settings) -> httpx.AsyncClient:
        app = create_app(settings)
        built.append(app)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    yield make
    for app in built:
        await app.state.engine.dispose()
        if app.state.replica_engine is not None:
            await app.state.replica_engine.dispose()


# --- budgets in Redis ------------------------------------------------------------------------


async def test_redis_buckets_deplete_refuse_and_refill(redis: str) -> None:
    budgets = RedisCostBudgets(redis, 100, 50, prefix=f"test-{secrets.token_hex(6)}")
    try:
        assert await budgets.take("k", 60) == (True, pytest.approx(40, abs=1))
        allowed, left = await budgets.take("k", 60)
        assert not allowed and left == pytest.approx(40, abs=2)  # a refusal spends nothing
        assert (await budgets.take("other", 60))[0]  # buckets are per principal
        await asyncio.sleep(0.5)  # + 25 points
        allowed, left = await budgets.take("k", 60)
        assert allowed and left == pytest.approx(5, abs=3)
        await asyncio.sleep(2.2)
        assert await budgets.take("k", 0) == (True, 100)  # full, not more
    finally:
        await budgets.aclose()


async def test_two_processes_sharing_redis_share_one_budget(redis: str, sqlite_url: str, apps: Any) -> None:
    # Two apps stand for two server processes: each has its own memory, Redis is shared.
    shared = {
        "database_url": sqlite_url,
        "auth_required": False,
        "debug": True,
        "max_query_cost": 30,
        "cost_budget": 60,
        "cost_refill_per_second": 1,
        "redis_url": redis,
        "redis_key_prefix": f"test-{secrets.token_hex(6)}",
    }
    async with await apps(Settings(**shared)) as one, await apps(Settings(**shared)) as two:
        assert "errors" not in (await one.post("/graphql", json={"query": SMALL})).json()
        body = (await two.post("/graphql", json={"query": SMALL})).json()
        assert "errors" not in body, body
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] <= 60 - 2 * SMALL_COST + 1
        refused = await one.post("/graphql", json={"query": SMALL})
        [error] = refused.json()["errors"]
        assert error["extensions"]["code"] == "BUDGET_EXHAUSTED"
        assert refused.json()["extensions"]["sqlStatements"] == 0

    # Without Redis, each process would have had a budget of its own.
    alone = {**shared, "redis_url": None}
    async with await apps(Settings(**alone)) as one, await apps(Settings(**alone)) as two:
        for client in (one, two, one, two):
            assert "errors" not in (await client.post("/graphql", json={"query": SMALL})).json()


async def test_an_unreachable_redis_refuses_requests_clearly(sqlite_url: str, apps: Any) -> None:
    with pytest.raises(BudgetStoreUnavailable):
        budgets = RedisCostBudgets(NOBODY_LISTENS, 100, 10)
        try:
            await budgets.take("k", 1)
        finally:
            await budgets.aclose()

    settings = Settings(database_url=sqlite_url, auth_required=False, debug=True, redis_url=NOBODY_LISTENS)
    async with await apps(settings) as client:
        response = await asyncio.wait_for(client.post("/graphql", json={"query": SMALL}), timeout=10)
        body = response.json()
        assert body.get("data") is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BUDGETS_UNAVAILABLE", "retryAfterSeconds": 5}
        assert "budget store is unreachable" in error["message"]
        assert response.headers["retry-after"] == "5"
        assert body["extensions"]["sqlStatements"] == 0  # fail closed: nothing executed


# --- pools and timeouts ------------------------------------------------------------------------


async def test_pool_sizes_and_the_statement_timeout_are_applied() -> None:
    if not await pg_reachable() and not pg_required():
        pytest.skip("PostgreSQL is not reachable (set PARTNERGRAPH_TEST_PG_URL to require it)")
    url = await create_pg_database(prefix="pg_scaleout")
    settings = Settings(
        database_url=url, pool_size=3, max_overflow=2, pool_timeout=4, statement_timeout_ms=200
    )
    engine = create_engine(settings)
    try:
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
        assert engine.pool._timeout == 4  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "200ms"
            with pytest.raises(Exception, match="statement timeout"):
                await conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()
        await drop_pg_database(url)


def test_a_replica_must_be_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="replica_database_url"):
        Settings(replica_database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


# --- a read replica ---------------------------------------------------------------------------


@pytest.fixture
async def primary_and_replica() -> AsyncIterator[tuple[str, str]]:
    if not await pg_reachable() and not pg_required():
        pytest.skip("PostgreSQL is not reachable (set PARTNERGRAPH_TEST_PG_URL to require it)")
    # Two databases with different data stand for a primary and a replica, so every answer
    # tells which one it came from.
    primary, replica = await _seeded_pg(seed=1), await _seeded_pg(seed=2)
    try:
        yield primary, replica
    finally:
        await drop_pg_database(primary)
        await drop_pg_database(replica)


async def _names(url: str) -> dict[int, str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            return dict((await conn.execute(select(Organization.id, Organization.name))).all())
    finally:
        await engine.dispose()


async def test_queries_read_the_replica_and_mutations_the_primary(
    primary_and_replica: tuple[str, str], apps: Any
) -> None:
    primary, replica = primary_and_replica
    on_primary, on_replica = await _names(primary), await _names(replica)
    organization_id = min(set(on_primary) & set(on_replica))
    assert on_primary[organization_id] != on_replica[organization_id]
    settings = Settings(
        database_url=primary, replica_database_url=replica, auth_required=False, cost_budget=10**9
    )
    node = encode_global_id("Organization", organization_id)
    async with await apps(settings) as client:
        query = {
            "query": "query($id: ID!) { node(id: $id) { ... on Organization { name } } }",
            "variables": {"id": node},
        }
        body = (await client.post("/graphql", json=query)).json()
        assert body["data"]["node"]["name"] == on_replica[organization_id]

        create = """mutation($org: ID!) { createContact(input: { organizationId: $org, name: "Ada Replica" }) {
                      contact { name organization { name } } errors { code } } }"""
        body = (await client.post("/graphql", json={"query": create, "variables": {"org": node}})).json()
        assert "errors" not in body, body
        payload = body["data"]["createContact"]
        assert payload["errors"] == []
        # The payload, nested reads included, comes from the primary the write went to.
        assert payload["contact"]["organization"]["name"] == on_primary[organization_id]

        contacts = """query($id: ID!) { node(id: $id) { ... on Organization {
                        contacts(first: 100) { edges { node { name } } } } } }"""
        body = (await client.post("/graphql", json={"query": contacts, "variables": {"id": node}})).json()
        names = [e["node"]["name"] for e in body["data"]["node"]["contacts"]["edges"]]
        assert "Ada Replica" not in names  # this "replica" never receives the write

    for url, expected in ((primary, 1), (replica, 0)):
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.connect() as conn:
                written = await conn.execute(text("SELECT count(*) FROM contacts WHERE name = 'Ada Replica'"))
                assert written.scalar_one() == expected
        finally:
            await engine.dispose()
