"""The demo dataset: deterministic, internally consistent, and refusing to touch live data."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from graph.db import create_engine
from graph.migrate import upgrade
from graph.models import organizations as morg
from graph.models import people as mp
from graph.seed import SEEDED_TABLES, SeedError, SeedSummary, seed_demo
from graph.settings import Settings

CUSTOMERS = 30
NOW = datetime(2026, 3, 1, tzinfo=UTC)

Dump = dict[str, list[dict]]


async def _seed_fresh_sqlite(path: Path, *, seed: int = 7) -> tuple[str, SeedSummary, Dump]:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(Settings(database_url=url))
    try:
        summary = await seed_demo(engine, customers=CUSTOMERS, seed=seed, now=NOW)
        async with engine.connect() as conn:
            dump = {
                table.name: [
                    dict(row._mapping) for row in await conn.execute(select(table).order_by(table.c.id))
                ]
                for table in SEEDED_TABLES
            }
    finally:
        await engine.dispose()
    return url, summary, dump


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SeedSummary, Dump]:
    return await _seed_fresh_sqlite(tmp_path_factory.mktemp("seed") / "demo.db")


async def test_same_arguments_give_identical_rows_and_another_seed_does_not(
    seeded: tuple[str, SeedSummary, Dump], tmp_path: Path
) -> None:
    _, summary, dump = seeded
    _, again_summary, again = await _seed_fresh_sqlite(tmp_path / "again.db")
    _, _, other = await _seed_fresh_sqlite(tmp_path / "other.db", seed=8)

    assert again_summary == summary
    assert again == dump
    assert other["orders"] != dump["orders"]
    assert {table: len(rows) for table, rows in dump.items()} == {
        table.name: getattr(summary, table.name) for table in SEEDED_TABLES
    }


async def test_order_totals_are_the_exact_sum_of_their_line_totals(
    seeded: tuple[str, SeedSummary, Dump],
) -> None:
    _, _, dump = seeded
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for line in dump["order_lines"]:
        assert line["line_total"] == (line["quantity"] * line["unit_price"]).quantize(
            Decimal("0.0001"), "ROUND_HALF_UP"
        )
        sums[line["order_id"]] += line["line_total"]

    assert dump["orders"]
    for order in dump["orders"]:
        assert order["total_amount"] == sums[order["id"]], order["number"]


async def test_every_role_is_present_and_some_customer_also_supplies_us(
    seeded: tuple[str, SeedSummary, Dump],
) -> None:
    _, summary, dump = seeded
    orgs = dump["organizations"]

    assert summary.customers == sum(o["is_customer"] for o in orgs) == CUSTOMERS
    assert sum(o["is_supplier"] and not o["is_customer"] for o in orgs) >= 5
    assert sum(o["is_distributor"] for o in orgs) >= 3
    assert any(o["is_customer"] and o["is_supplier"] for o in orgs)
    assert any(o["is_customer"] and o["is_distributor"] for o in orgs)
    assert {o["tier"] for o in orgs if o["is_customer"]} == set(morg.CustomerTier)
    assert {u["role"] for u in dump["users"]} >= {mp.UserRole.SALES, mp.UserRole.SERVICE, mp.UserRole.ADMIN}


async def test_each_organization_has_exactly_one_primary_contact_and_each_customer_one_owner(
    seeded: tuple[str, SeedSummary, Dump],
) -> None:
    _, _, dump = seeded
    primaries = Counter(c["organization_id"] for c in dump["contacts"] if c["is_primary"])
    current_owners = Counter(
        a["organization_id"] for a in dump["account_ownerships"] if a["ended_at"] is None
    )

    for org in dump["organizations"]:
        assert primaries[org["id"]] == 1, org["name"]
        assert current_owners[org["id"]] == (1 if org["is_customer"] else 0), org["name"]


async def test_seeding_refuses_a_database_that_already_has_organizations(
    seeded: tuple[str, SeedSummary, Dump],
) -> None:
    url, _, _ = seeded
    engine = create_engine(Settings(database_url=url))
    try:
        with pytest.raises(SeedError, match="already has organizations"):
            await seed_demo(engine, customers=CUSTOMERS, now=NOW)
    finally:
        await engine.dispose()
