"""Faults: the database going away under load, a read-only database, a full disk.

Requests that meet a fault fail with a clear `DATABASE_UNAVAILABLE` error (never a hang,
never a masked "Internal server error."), no mutation is half applied, and the service
recovers by itself once the database is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from graph.app import create_app
from graph.auth import create_api_key
from graph.db import create_engine
from graph.migrate import upgrade
from graph.models.organizations import Organization
from graph.models.security import AuditEvent
from graph.seed import seed_demo
from graph.settings import Settings
from tests.pg import admin_url, create_pg_database, drop_pg_database, pg_reachable, pg_required

READ = """{ organizations(first: 5) { edges { node { name
             orders(first: 5) { edges { node { number lines(first: 3) { edges { node { quantity } } } } } } } } } }"""
CREATE = """mutation($name: String!) {
  createOrganization(input: { name: $name, roles: [CUSTOMER] }) { organization { id name } errors { code } }
}"""
BOUND = 15  # seconds no request may take, whatever the database does


async def _seeded(url: str) -> None:
    await upgrade(url)
    engine = create_engine(Settings(database_url=url))
    try:
        await seed_demo(engine, customers=10, seed=5)
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    if not await pg_reachable() and not pg_required():
        pytest.skip("PostgreSQL is not reachable (set PARTNERGRAPH_TEST_PG_URL to require it)")
    url = await create_pg_database(prefix="pg_faults")
    try:
        await _seeded(url)
        yield url
    finally:
        await drop_pg_database(url)


async def _post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[int, dict]:
    response = await asyncio.wait_for(
        client.post("/graphql", json={"query": query, "variables": variables or {}}), timeout=BOUND
    )
    return response.status_code, response.json()


def _codes(body: dict) -> set[str]:
    return {(e.get("extensions") or {}).get("code") for e in body.get("errors", [])}


# --- PostgreSQL: connections killed while requests are in flight --------------------------------


async def test_killed_connections_fail_clearly_write_nothing_partial_and_recover(pg_url: str) -> None:
    settings = Settings(
        database_url=pg_url,
        cost_budget=10**9,
        pool_size=4,
        max_overflow=4,
        pool_timeout=5,
        statement_timeout_ms=5000,
        execution_timeout_seconds=10,
    )
    app = create_app(settings)
    async with app.state.session_factory() as session, session.begin():
        key = (await create_api_key(session, role="admin", name="faults")).key
    database = make_url(pg_url).database
    transport = httpx.ASGITransport(app=app)
    stop = asyncio.Event()
    killed = 0
    outcomes: list[tuple[str, str, int, dict]] = []  # (kind, name, status, body)

    async def killer() -> None:
        nonlocal killed
        admin = await asyncpg.connect(
            make_url(admin_url()).set(drivername="postgresql").render_as_string(False)
        )
        try:
            while not stop.is_set():
                rows = await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
                killed += sum(1 for row in rows if row[0])
                await asyncio.sleep(0.03)
        finally:
            await admin.close()

    async def worker(client: httpx.AsyncClient, number: int) -> None:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            if round_ % 2:
                outcomes.append(("read", "", *await _post(client, READ)))
            else:
                name = f"fault-{number}-{round_}"
                outcomes.append(("write", name, *await _post(client, CREATE, {"name": name})))

    headers = {"authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            # Warm the pool so the first kills find connections in use and idle alike.
            assert (await _post(client, READ))[0] == 200
            workers = [asyncio.create_task(worker(client, n)) for n in range(6)]
            kill = asyncio.create_task(killer())
            await asyncio.sleep(2.0)
            stop.set()
            await asyncio.wait_for(asyncio.gather(kill, *workers), timeout=BOUND + 5)

            assert killed > 0
            failed = [o for o in outcomes if o[3].get("errors")]
            assert failed, "no request met a killed connection: the test proved nothing"
            for kind, _, status, body in outcomes:
                # Every failure is the clear one, never masked as an internal error.
                assert _codes(body) <= {"DATABASE_UNAVAILABLE"}, (kind, status, body)
                assert status in (200, 503), (kind, status, body)
                if status == 503:
                    assert body["errors"][0]["extensions"]["requestId"]

            # Recovery without a restart: the pool is renewed after a dropped connection is met.
            started = time.monotonic()
            while True:
                status, body = await _post(client, READ)
                if status == 200 and "errors" not in body:
                    break
                assert time.monotonic() - started < 5, body
                await asyncio.sleep(0.2)
            for n in range(5):
                status, body = await _post(client, CREATE, {"name": f"after-{n}"})
                assert status == 200 and "errors" not in body, body
                assert body["data"]["createOrganization"]["errors"] == []
    finally:
        stop.set()
        await app.state.engine.dispose()

    # No partial writes: every organization the mutations made has its audit event (written in
    # the same transaction), and no audit event names an organization that is not there.
    engine = create_engine(Settings(database_url=pg_url))
    try:
        async with engine.connect() as conn:
            names = set(
                (
                    await conn.execute(select(Organization.name).where(Organization.name.like("fault-%")))
                ).scalars()
            )
            org_ids = set(
                (
                    await conn.execute(
                        select(Organization.id).where(
                            Organization.name.like("fault-%") | Organization.name.like("after-%")
                        )
                    )
                ).scalars()
            )
            audited = list(
                (
                    await conn.execute(
                        select(AuditEvent.record_id).where(
                            AuditEvent.operation == "createOrganization",
                            AuditEvent.table_name == Organization.__tablename__,
                        )
                    )
                ).scalars()
            )
    finally:
        await engine.dispose()
    assert sorted(audited) == sorted(org_ids)
    for kind, name, status, body in outcomes:
        if kind == "write" and status == 200 and not body.get("errors"):
            assert name in names  # reported done means done


async def _kill_backends(database: str) -> int:
    admin = await asyncpg.connect(make_url(admin_url()).set(drivername="postgresql").render_as_string(False))
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return sum(1 for row in rows if row[0])
    finally:
        await admin.close()


@pytest.mark.parametrize("idle_seconds", [0.0, 0.2])
async def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_url: str, idle_seconds: float) -> None:
    """Pooled connections are pinged only after sitting idle (`pool_ping_idle_seconds`), not on
    every use; one the server dropped while it sat idle is replaced and no request notices."""
    settings = Settings(database_url=pg_url, pool_size=3, max_overflow=0, pool_ping_idle_seconds=idle_seconds)
    app = create_app(settings)
    async with app.state.session_factory() as session, session.begin():
        key = (await create_api_key(session, role="admin", name="idle")).key
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers={"authorization": f"Bearer {key}"}
        ) as client:
            assert (await _post(client, READ))[0] == 200  # the pool holds live connections now
            assert await _kill_backends(make_url(pg_url).database) > 0
            await asyncio.sleep(idle_seconds + 0.1)
            for _ in range(4):
                status, body = await _post(client, READ)
                assert status == 200 and "errors" not in body, body
    finally:
        await app.state.engine.dispose()


# --- SQLite: a read-only database, a full disk ---------------------------------------------------


@pytest.fixture
async def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "faults.db"
    await _seeded(f"sqlite+aiosqlite:///{path}")
    return path


async def _counts(path: Path) -> tuple[int, int, str]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    try:
        async with engine.connect() as conn:
            organizations = (await conn.execute(select(func.count()).select_from(Organization))).scalar_one()
            events = (await conn.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
            integrity = (await conn.execute(text("PRAGMA integrity_check"))).scalar_one()
    finally:
        await engine.dispose()
    return organizations, events, integrity


@pytest.fixture
async def sqlite_client() -> AsyncIterator[Any]:
    apps: list[Any] = []

    async def make(settings: Settings, prepare: Any = None) -> httpx.AsyncClient:
        app = create_app(settings)
        if prepare is not None:
            prepare(app.state.engine)
        apps.append(app)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    yield make
    for app in apps:
        await app.state.engine.dispose()


async def _assert_write_refused_clearly(client: httpx.AsyncClient) -> None:
    status, body = await _post(client, CREATE, {"name": "Never written"})
    assert status == 200
    [error] = body["errors"]
    assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", body
    assert error["extensions"]["requestId"]
    assert "read-only or out of space" in error["message"]
    # Reads still work.
    status, body = await _post(client, READ)
    assert status == 200 and "errors" not in body, body
    assert body["data"]["organizations"]["edges"]


async def test_a_read_only_sqlite_database_refuses_writes_clearly_and_stays_intact(
    sqlite_path: Path, sqlite_client: Any
) -> None:
    before = await _counts(sqlite_path)
    # Root ignores file modes, so open the file read-only the way SQLite itself offers.
    url = f"sqlite+aiosqlite:///file:{sqlite_path}?mode=ro&uri=true"
    async with await sqlite_client(Settings(database_url=url, auth_required=False)) as client:
        await _assert_write_refused_clearly(client)
    after = await _counts(sqlite_path)
    assert after == before
    assert after[2] == "ok"


async def test_a_full_sqlite_disk_refuses_writes_clearly_and_stays_intact(
    sqlite_path: Path, sqlite_client: Any
) -> None:
    before = await _counts(sqlite_path)

    def no_room_to_grow(engine: Any) -> None:
        # A database may not grow past the pages it has: SQLite reports SQLITE_FULL, as on
        # a full disk.
        @event.listens_for(engine.sync_engine, "connect")
        def cap(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {int(pages)}")
            cursor.close()

    settings = Settings(database_url=f"sqlite+aiosqlite:///{sqlite_path}", auth_required=False)
    async with await sqlite_client(settings, no_room_to_grow) as client:
        # Several writes: free pages inside the file may absorb the first one.
        for n in range(200):
            status, body = await _post(client, CREATE, {"name": f"Filler {n} " + "x" * 150})
            if body.get("errors"):
                break
        assert body.get("errors"), "the capped database never filled up"
        assert _codes(body) == {"DATABASE_UNAVAILABLE"}, body
        await _assert_write_refused_clearly(client)
    organizations, events, integrity = await _counts(sqlite_path)
    assert integrity == "ok"
    # Whatever was written was written whole: one audit event per organization created.
    assert organizations - before[0] == events - before[1]


def test_a_bad_statement_is_not_mistaken_for_an_unavailable_database() -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from graph.db import database_unavailable

    def sqlite_error(message: str, name: str) -> OperationalError:
        orig = sqlite3.OperationalError(message)
        orig.sqlite_errorname = name  # type: ignore[attr-defined]
        return OperationalError("SELECT 1", {}, orig)

    assert not database_unavailable(sqlite_error("no such table: nope", "SQLITE_ERROR"))
    assert database_unavailable(sqlite_error("database or disk is full", "SQLITE_FULL"))
    assert database_unavailable(sqlite_error("attempt to write a readonly database", "SQLITE_READONLY"))
    assert not database_unavailable(ValueError("not a database error"))
