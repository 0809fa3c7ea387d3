"""Migrations on both backends: a full up/down/up round trip, and the drift guard.

The drift guard compares the migrated schema with ``graph.models.Base.metadata`` the way
``alembic revision --autogenerate`` would. When it fails, a model changed without a
migration: write one (see graph/migrate.py for the command).
"""

from __future__ import annotations

import asyncio
import pprint
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, inspect, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from graph import migrate
from graph.models import Base

try:
    from tests.pg import create_pg_database, drop_pg_database, pg_reachable, pg_required
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from pg import create_pg_database, drop_pg_database, pg_reachable, pg_required

MODEL_TABLES = set(Base.metadata.tables)
VERSION_TABLE = "alembic_version"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path):  # noqa: ANN001
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    if not await pg_reachable():
        if pg_required():
            pytest.fail("PARTNERGRAPH_TEST_PG_URL is set but the PostgreSQL server is unreachable")
        pytest.skip("no PostgreSQL server at the default test URL (set PARTNERGRAPH_TEST_PG_URL)")
    url = await create_pg_database(prefix="pg_migr")
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def schema_diffs(url: str, metadata: MetaData) -> list:
    """What autogenerate would write to bring the database in line with ``metadata``."""

    def compare(sync_conn):  # noqa: ANN001, ANN202
        context = MigrationContext.configure(sync_conn, opts=migrate.context_options(sync_conn.dialect.name))
        return compare_metadata(context, metadata)

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


def test_single_head_named_after_the_first_revision() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert script.get_heads() == [migrate.head_revision()]
    assert script.get_base() == "0001_initial"


async def test_round_trip(database_url: str) -> None:
    assert await migrate.current_revision(database_url) is None

    await migrate.upgrade(database_url)
    assert await migrate.current_revision(database_url) == migrate.head_revision()
    assert await table_names(database_url) == MODEL_TABLES | {VERSION_TABLE}

    await migrate.downgrade(database_url, "base")
    assert await migrate.current_revision(database_url) is None
    # Alembic keeps its (now empty) bookkeeping table; every table of ours is gone.
    assert await table_names(database_url) - {VERSION_TABLE} == set()

    await migrate.upgrade(database_url, "head")
    assert await migrate.current_revision(database_url) == migrate.head_revision()
    assert await table_names(database_url) == MODEL_TABLES | {VERSION_TABLE}
    assert await schema_diffs(database_url, Base.metadata) == []


async def test_migrated_schema_matches_models(database_url: str) -> None:
    await migrate.upgrade(database_url)
    diffs = await schema_diffs(database_url, Base.metadata)
    assert diffs == [], (
        "the models and the migrations disagree; write a migration "
        "(alembic -c graph/migrations/alembic.ini revision --autogenerate ...):\n" + pprint.pformat(diffs)
    )


async def test_drift_guard_notices_a_model_change(database_url: str) -> None:
    await migrate.upgrade(database_url)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["organizations"].append_column(Column("nickname", String(50)))
    Table("widgets", changed, Column("id", Integer, primary_key=True))

    kinds = {diff[0] for diff in await schema_diffs(database_url, changed) if isinstance(diff, tuple)}
    assert {"add_column", "add_table"} <= kinds


async def test_migrated_schema_takes_rows(database_url: str) -> None:
    """Ids are generated (BIGSERIAL / rowid) and the custom types round-trip."""
    await migrate.upgrade(database_url)
    organizations = Base.metadata.tables["organizations"]
    now = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            ids = []
            for name in ("Acme", "Globex"):
                result = await conn.execute(
                    insert(organizations)
                    .values(
                        name=name,
                        is_customer=True,
                        is_supplier=False,
                        is_distributor=False,
                        status="active",
                        credit_limit=Decimal("12345.6789"),
                        credit_currency="CNY",
                        created_at=now,
                        updated_at=now,
                        version=1,
                    )
                    .returning(organizations.c.id)
                )
                ids.append(result.scalar_one())
            assert ids[1] > ids[0] > 0
            row = (
                await conn.execute(select(organizations.c.credit_limit, organizations.c.created_at))
            ).first()
            assert row.credit_limit == Decimal("12345.6789")
            assert row.created_at == now
    finally:
        await engine.dispose()


async def test_upgrade_sync_from_inside_a_running_loop(tmp_path) -> None:  # noqa: ANN001
    """A blocking call from the loop's own thread must still work (env.py moves to a thread)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    asyncio.get_running_loop()  # we are inside one
    migrate.upgrade_sync(url)
    assert await migrate.current_revision(url) == migrate.head_revision()


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///offline.db", "postgresql+asyncpg://nobody@localhost/offline"]
)
def test_offline_sql(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--sql`` mode renders the whole schema without touching a database."""
    command.upgrade(migrate.alembic_config(url), "head", sql=True)
    sql = capsys.readouterr().out
    assert sql.count("CREATE TABLE") == len(MODEL_TABLES) + 1  # + alembic_version
    if url.startswith("postgresql"):
        assert "NUMERIC(18, 4)" in sql and "TIMESTAMP WITH TIME ZONE" in sql
        assert "BIGSERIAL" in sql
    else:
        assert "NUMERIC" not in sql
