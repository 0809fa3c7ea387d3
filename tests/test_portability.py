"""Export and import: every row of every table survives SQLite → PostgreSQL → SQLite, and an
import refuses what it must refuse without writing anything."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from graph.auth import create_api_key
from graph.db import create_engine, create_session_factory
from graph.migrate import head_revision, upgrade
from graph.models.base import Base
from graph.models.security import AuditEvent
from graph.portability import (
    FORMAT,
    VERSION,
    ImportRefused,
    PortabilityError,
    export_database,
    import_database,
)
from graph.seed import seed_demo
from graph.settings import Settings
from tests.pg import create_pg_database, drop_pg_database, pg_reachable, pg_required

EXPORTED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _engine(url: str):  # noqa: ANN202
    return create_engine(Settings(database_url=url))


async def _migrated_sqlite(tmp_path: Path, name: str) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / name}"
    await upgrade(url)
    return url


async def _export(url: str) -> str:
    engine = _engine(url)
    try:
        out = io.StringIO()
        await export_database(engine, out, now=EXPORTED_AT)
        return out.getvalue()
    finally:
        await engine.dispose()


async def _import(url: str, text: str) -> dict[str, int]:
    engine = _engine(url)
    try:
        return await import_database(engine, io.StringIO(text))
    finally:
        await engine.dispose()


async def _row_count(url: str) -> int:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            total = 0
            for table in Base.metadata.sorted_tables:
                total += (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
            return total
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A SQLite database with the demo data, API keys and audit events; and its export."""
    url = await _migrated_sqlite(tmp_path_factory.mktemp("source"), "source.db")
    engine = _engine(url)
    try:
        await seed_demo(engine, customers=20)
        async with engine.connect() as conn:
            organizations = Base.metadata.tables["organizations"]
            customer = (
                await conn.execute(
                    sa.select(sa.func.min(organizations.c.id)).where(organizations.c.is_customer)
                )
            ).scalar_one()
        async with create_session_factory(engine)() as session, session.begin():
            await create_api_key(session, role="admin", name="ops")
            await create_api_key(
                session, role="customer", name="portal", organization_id=customer, scopes=["read"]
            )
            session.add(
                AuditEvent(
                    principal_kind="api_key",
                    principal_name="ops",
                    role="admin",
                    operation="updateOrder",
                    action="update",
                    table_name="orders",
                    record_id=1,
                    node_id="T3JkZXI6MQ==",
                    changes={
                        "status": ["draft", "confirmed"],
                        "total": ["1.5000", "2.2500"],
                        "nested": {"a": [1, None]},
                    },
                )
            )
    finally:
        await engine.dispose()
    return url, await _export(url)


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


SYNC_TABLES = {"status_transitions", "idempotency_keys", "outbox_events", "webhook_endpoints", "webhook_deliveries"}


def test_the_export_is_a_header_rows_in_foreign_key_order_and_a_trailer(source: tuple[str, str]) -> None:
    lines = _lines(source[1])
    header, rows, trailer = lines[0], lines[1:-1], lines[-1]
    tables = [table.name for table in Base.metadata.sorted_tables]
    assert header == {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": head_revision(),
        "exported_at": "2025-01-02T03:04:05+00:00",
        "tables": tables,
    }
    order = [tables.index(line["table"]) for line in rows]
    assert order == sorted(order)
    counts = {name: sum(1 for line in rows if line["table"] == name) for name in tables}
    assert trailer == {"end": FORMAT, "counts": counts}
    assert counts["api_keys"] == 2 and counts["audit_events"] == 1 and counts["orders"] > 0
    # Every table is in the file; those the demo fills carry rows (sync tables start empty).
    assert all(counts[name] > 0 for name in tables if name not in SYNC_TABLES)


def test_values_are_written_by_their_column_types(source: tuple[str, str]) -> None:
    rows = {}
    for line in _lines(source[1])[1:-1]:
        rows.setdefault(line["table"], line["row"])
    order = rows["orders"]
    assert isinstance(order["total_amount"], str) and Decimal(order["total_amount"]) > 0
    assert datetime.fromisoformat(order["placed_at"]).utcoffset() is not None
    statuses = Base.metadata.tables["orders"].c.status.type.enum_class
    assert order["status"] in {status.value for status in statuses}
    contract = rows["contracts"]
    assert len(contract["valid_from"]) == 10  # an ISO date
    audit = rows["audit_events"]
    assert audit["changes"]["nested"] == {"a": [1, None]}


async def test_round_trip_sqlite_postgresql_sqlite_keeps_every_row(
    source: tuple[str, str], tmp_path: Path
) -> None:
    if not await pg_reachable() and not pg_required():
        pytest.skip("PostgreSQL is not reachable (set PARTNERGRAPH_TEST_PG_URL to require it)")
    original = source[1]
    pg_url = await create_pg_database(prefix="pg_portability")
    try:
        await upgrade(pg_url)
        counts = await _import(pg_url, original)
        assert counts == _lines(original)[-1]["counts"]
        on_postgresql = await _export(pg_url)
        assert on_postgresql == original

        # The id sequences moved past the imported ids: new rows get fresh ids.
        engine = _engine(pg_url)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                new = await create_api_key(session, role="analyst", name="after import")
            async with engine.connect() as conn:
                ids = (await conn.execute(sa.text("SELECT max(id) FROM api_keys"))).scalar_one()
            assert new.key and ids == counts["api_keys"] + 1
        finally:
            await engine.dispose()

        back = await _migrated_sqlite(tmp_path, "back.db")
        await _import(back, on_postgresql)
        assert await _export(back) == original
    finally:
        await drop_pg_database(pg_url)


async def test_sqlite_to_sqlite_round_trip(source: tuple[str, str], tmp_path: Path) -> None:
    target = await _migrated_sqlite(tmp_path, "copy.db")
    await _import(target, source[1])
    assert await _export(target) == source[1]


async def test_refuses_a_database_that_holds_data(source: tuple[str, str]) -> None:
    before = await _row_count(source[0])
    with pytest.raises(ImportRefused, match="already holds data"):
        await _import(source[0], source[1])
    assert await _row_count(source[0]) == before


async def test_refuses_an_unmigrated_database_and_says_to_migrate(
    source: tuple[str, str], tmp_path: Path
) -> None:
    with pytest.raises(ImportRefused, match="partnergraph migrate"):
        await _import(f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}", source[1])


async def test_refuses_a_database_at_another_revision(source: tuple[str, str], tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await upgrade(url, "0001_initial")
    with pytest.raises(ImportRefused, match="schema revision 0001_initial"):
        await _import(url, source[1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "version 2 is not supported"),
        ({"format": "something-else"}, "not a PartnerGraph export"),
        ({"schema_revision": "0001_initial"}, "made at schema revision '0001_initial'"),
    ],
)
async def test_refuses_a_file_of_another_format_version_or_revision(
    source: tuple[str, str], tmp_path: Path, change: dict, message: str
) -> None:
    lines = source[1].splitlines(keepends=True)
    header = json.loads(lines[0]) | change
    target = await _migrated_sqlite(tmp_path, "target.db")
    with pytest.raises(ImportRefused, match=message):
        await _import(target, json.dumps(header) + "\n" + "".join(lines[1:]))
    assert await _row_count(target) == 0


def _damaged(text: str, how: str) -> str:
    lines = text.splitlines(keepends=True)
    if how == "truncated":
        return "".join(lines[: len(lines) // 2])
    if how == "miscounted":
        trailer = json.loads(lines[-1])
        trailer["counts"]["orders"] += 1
        return "".join(lines[:-1]) + json.dumps(trailer) + "\n"
    if how == "bad value":  # a bad decimal late in the file, after thousands of rows were written
        index = max(i for i, line in enumerate(lines) if '"table":"order_lines"' in line)
        line = json.loads(lines[index])
        line["row"]["quantity"] = "lots"
        lines[index] = json.dumps(line) + "\n"
        return "".join(lines)
    raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "without its trailer"),
        ("miscounted", "row counts do not match"),
        ("bad value", "quantity"),
    ],
)
async def test_a_damaged_file_rolls_back_everything(
    source: tuple[str, str], tmp_path: Path, how: str, message: str
) -> None:
    target = await _migrated_sqlite(tmp_path, "target.db")
    with pytest.raises(PortabilityError, match=message):
        await _import(target, _damaged(source[1], how))
    assert await _row_count(target) == 0
