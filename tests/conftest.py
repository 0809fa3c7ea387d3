"""Shared fixtures: every test that takes `backend` runs on SQLite and on PostgreSQL.

Each backend gets one database per test session, built by the Alembic migrations (never
create_all) and loaded with a small deterministic demo dataset; `client` talks to the
real ASGI app over httpx, so tests exercise the same HTTP path users do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from graph.app import create_app
from graph.auth import create_api_key
from graph.db import create_engine
from graph.migrate import upgrade
from graph.seed import seed_demo
from graph.settings import Settings
from tests.pg import create_pg_database, drop_pg_database, pg_reachable, pg_required

DEMO_CUSTOMERS = 30


@dataclass
class Backend:
    name: str
    url: str
    settings: Settings
    client: httpx.AsyncClient  # authenticated as an admin
    session_factory: Any = None

    async def key(
        self, role: str, organization_id: int | None = None, user_id: int | None = None, **kwargs: Any
    ) -> str:
        """A fresh API key for `role` (partners: bound to `organization_id`)."""
        async with self.session_factory() as session, session.begin():
            new = await create_api_key(
                session, role=role, name=f"test {role}", organization_id=organization_id, user_id=user_id, **kwargs
            )
        return new.key

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, errors: bool = False, key: str | None = None
    ) -> dict:
        """POST a GraphQL request (as `key`, else as admin); fail on errors unless `errors=True`
        (then return the whole body)."""
        headers = {"authorization": f"Bearer {key}"} if key else None
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = response.json()
        if errors:
            return body
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def statements(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None
    ) -> tuple[dict, int]:
        """Run a query (as `key`, else as admin) and return (data, SQL statements it took)."""
        headers = {"authorization": f"Bearer {key}"} if key else None
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"], body["extensions"]["sqlStatements"]


async def _database(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str | None]:
    if name == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        return f"sqlite+aiosqlite:///{path}", None
    if not await pg_reachable() and not pg_required():
        pytest.skip("PostgreSQL is not reachable (set PARTNERGRAPH_TEST_PG_URL to require it)")
    url = await create_pg_database(prefix="pg_graph")
    return url, url


@asynccontextmanager
async def _started_backend(
    name: str, tmp_path_factory: pytest.TempPathFactory, customers: int | None
) -> AsyncIterator[Backend]:
    """A migrated database on `name` with an app and an admin client; demo data for
    `customers` customers, or none when `customers` is None."""
    url, to_drop = await _database(name, tmp_path_factory)
    # A budget no test session exhausts: tests/test_limits.py builds its own apps to test budgets.
    settings = Settings(database_url=url, debug=True, cost_budget=10**9)
    await upgrade(url)
    if customers is not None:
        engine = create_engine(settings)
        await seed_demo(engine, customers=customers, seed=11)
        await engine.dispose()
    app = create_app(settings)
    backend = Backend(name, url, settings, None, app.state.session_factory)  # type: ignore[arg-type]
    admin_key = await backend.key("admin")
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {admin_key}"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            backend.client = client
            yield backend
    finally:
        await app.state.engine.dispose()
        if to_drop:
            await drop_pg_database(to_drop)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    """The shared demo database (30 customers): read it, and write only what you add yourself."""
    async with _started_backend(request.param, tmp_path_factory, DEMO_CUSTOMERS) as started:
        yield started


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def blank_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    """An empty migrated database per test module, for hand-built fixtures whose figures are
    computed by hand (insert rows through `blank_backend.session_factory`)."""
    async with _started_backend(request.param, tmp_path_factory, None) as started:
        yield started


async def first_node_id(backend: Backend, connection: str, args: str = "") -> str:
    """The global id of the first node of a top-level connection."""
    data = await backend.gql(f"{{ {connection}(first: 1{', ' + args if args else ''}) {{ edges {{ node {{ id }} }} }} }}")
    return data[connection]["edges"][0]["node"]["id"]
