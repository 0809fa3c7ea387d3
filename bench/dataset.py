"""Benchmark datasets at three scales, generated set-based inside the database.

    python -m bench.dataset --scale small|medium|large --db sqlite|postgresql

Every table is filled by one `INSERT … SELECT` over a number series (`generate_series` on
PostgreSQL, a recursive CTE on SQLite), so a million orders take seconds-to-minutes, not the
hours that row-by-row Python would. Values come from a deterministic integer hash of the row
number, so the same scale gives the same rows on both databases. The product's migrations run
first (graph.migrate.upgrade); the generator only writes rows that satisfy every constraint.

Shape (C customers): C/50 suppliers (≥20), C/500 distributors (≥5), C/10 products (≥200) each
offered by 3 suppliers, 2 contacts per organization, an owner per customer, 10.5 orders per
customer over two years with 1–5 lines (3 on average, each naming one of the product's
suppliers), one shipment per shipped order, 2 service records per customer (30 % open).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from graph.migrate import upgrade
from graph.models import Base
from graph.seed import reset_sequences

GENERATOR_VERSION = 1
SCALES = {"small": 1_000, "medium": 10_000, "large": 100_000}
DEFAULT_PG_SERVER = os.environ.get(
    "PARTNERGRAPH_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
DATA_DIR = Path(__file__).resolve().parent / "data"

START_EPOCH = 1_700_000_000 - 1_700_000_000 % 86_400  # 2023-11-14 00:00 UTC: two years of history
SPAN_SECONDS = 730 * 86_400
REGIONS = ("East", "North", "South", "West", "Central", "Northeast", "Southwest", "Northwest")
CARRIERS = ("SF Express", "JD Logistics", "ZTO", "YTO", "EMS", "DHL")


@dataclass(frozen=True)
class Sizes:
    customers: int

    @property
    def suppliers(self) -> int:
        return max(20, self.customers // 50)

    @property
    def distributors(self) -> int:
        return max(5, self.customers // 500)

    @property
    def organizations(self) -> int:
        return self.customers + self.suppliers + self.distributors

    @property
    def products(self) -> int:
        return max(200, self.customers // 10)

    @property
    def orders(self) -> int:
        return self.customers * 21 // 2

    @property
    def service_records(self) -> int:
        return self.customers * 2

    @property
    def users(self) -> int:
        return 50


class Dialect:
    """The few expressions that differ between SQLite and PostgreSQL storage."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pg = name == "postgresql"

    def series(self, count: int) -> str:
        if self.pg:
            return f"generate_series(CAST(1 AS BIGINT), CAST({count} AS BIGINT)) AS g(n)"
        return f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s) AS g"

    def ts(self, seconds: str) -> str:
        """A timestamp `seconds` after START_EPOCH (UTC)."""
        if self.pg:
            return f"(to_timestamp({START_EPOCH}) + ({seconds}) * interval '1 second')"
        # SQLAlchemy's SQLite DATETIME storage format, microseconds included.
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', {START_EPOCH} + ({seconds}), 'unixepoch')"

    def day(self, seconds: str) -> str:
        """The UTC date `seconds` after START_EPOCH."""
        if self.pg:
            return f"CAST(to_timestamp({START_EPOCH} + ({seconds})) AT TIME ZONE 'UTC' AS DATE)"
        return f"date({START_EPOCH} + ({seconds}), 'unixepoch')"

    def ts_plus(self, column: str, days: int) -> str:
        if self.pg:
            return f"({column} + interval '{days} days')"
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', {column}, '+{days} days')"

    def money(self, cents: str) -> str:
        return f"CAST({cents} AS NUMERIC) / 100" if self.pg else f"({cents}) * 100"

    def quantity(self, units: str) -> str:
        return f"CAST({units} AS NUMERIC)" if self.pg else f"({units}) * 1000"

    def boolean(self, condition: str) -> str:
        return f"({condition})"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"


def h(x: str, salt: int) -> str:
    """A deterministic hash of an integer expression, 0 ≤ h < 2^31, identical on both databases.

    Squaring (mod a prime below 2^31, so no product overflows 64 bits) makes the hashes of
    different salts independent of each other; an affine hash would correlate them."""
    t = f"((({x}) + {salt * 1000003 + 12345}) % 2147483629)"
    return f"((({t} * {t}) % 2147483587 * 48271 + {salt}) % 2147483647)"


def pick(x: str, salt: int, values: tuple[str, ...]) -> str:
    cases = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE {h(x, salt)} % {len(values)} {cases} END)"


def statements(d: Dialect, z: Sizes) -> list[tuple[str, str]]:
    """(table, SQL) in dependency order."""
    C, S, D, P, N = z.customers, z.suppliers, z.distributors, z.products, z.orders
    first_supplier, first_distributor = C + 1, C + S + 1
    base = d.ts("0")
    record = "created_at, updated_at, version, archived_at"
    # An order's lines: count, product, supplier (one of the product's three offers), quantity.
    # The unit price is the product's list price, so the order total is computable up front.
    line_count = f"(1 + {h('o', 1)} % 5)"
    product = f"(1 + {h('o * 8 + k', 2)} % {P})"
    supplier = f"({first_supplier} + ({product} + (k % 3) * {S // 3}) % {S})"
    qty = f"(1 + {h('o * 8 + k', 3)} % 20)"
    price = lambda p: f"(500 + {h(p, 4)} % 99500)"  # noqa: E731 - cents
    age_days = f"(({N} - o) * 730 / {N})"
    status = (
        f"(CASE WHEN {h('o', 7)} % 100 < 3 THEN 'cancelled'"
        f" WHEN {age_days} > 30 THEN (CASE WHEN {h('o', 8)} % 10 < 8 THEN 'closed' ELSE 'delivered' END)"
        f" WHEN {age_days} > 14 THEN 'shipped' WHEN {age_days} > 7 THEN 'in_fulfilment'"
        f" WHEN {age_days} > 2 THEN 'confirmed' ELSE 'submitted' END)"
    )
    placed = f"(CAST(o - 1 AS BIGINT) * {SPAN_SECONDS} / {N} + {h('o', 6)} % 3600)"
    customer = f"(1 + {h('o', 5)} % {C})"
    total = f"(SELECT SUM({qty} * {price(product)}) FROM bench_k WHERE k <= {line_count})"
    org_kind = f"(CASE WHEN n <= {C} THEN 'c' WHEN n < {first_distributor} THEN 's' ELSE 'd' END)"
    sr_kind = pick(
        "n", 12, ("service_request", "complaint", "quality_objection", "visit", "satisfaction_survey")
    )
    sr_status = (
        f"(CASE WHEN {h('n', 13)} % 10 < 2 THEN 'open' WHEN {h('n', 13)} % 10 < 3 THEN 'in_progress'"
        f" WHEN {h('n', 13)} % 10 < 7 THEN 'resolved' ELSE 'closed' END)"
    )
    return [
        (
            "organizations",
            f"""
INSERT INTO organizations (id, name, legal_name, registration_number, is_customer, is_supplier, is_distributor,
    email, region, status, tier, credit_limit, credit_currency, credit_standing, {record})
SELECT n,
    (CASE {org_kind} WHEN 'c' THEN 'Customer ' WHEN 's' THEN 'Supplier ' ELSE 'Distributor ' END) || {d.text("n")},
    'Bench Org ' || {d.text("n")} || ' Ltd.', 'REG-' || {d.text("n")},
    {d.boolean(f"{org_kind} = 'c'")}, {d.boolean(f"{org_kind} = 's'")}, {d.boolean(f"{org_kind} = 'd'")},
    'office' || {d.text("n")} || '@bench.example', {pick("n", 20, REGIONS)}, 'active',
    (CASE WHEN n <= {C} THEN {pick("n", 21, ("strategic", "key", "general", "general", "potential"))} END),
    (CASE WHEN n <= {C} THEN {d.money(f"(1 + {h('n', 22)} % 100) * 1000000")} END), 'CNY',
    (CASE WHEN n <= {C} THEN {pick("n", 23, ("good", "good", "good", "watch", "poor"))} END),
    {base}, {base}, 1, NULL
FROM {d.series(z.organizations)}""",
        ),
        (
            "users",
            f"""
INSERT INTO users (id, name, email, role, region, active, {record})
SELECT n, 'Sales Rep ' || {d.text("n")}, 'rep' || {d.text("n")} || '@bench.example', 'sales',
    {pick("n", 24, REGIONS)}, {d.boolean("1 = 1")}, {base}, {base}, 1, NULL
FROM {d.series(z.users)}""",
        ),
        (
            "account_ownerships",
            f"""
INSERT INTO account_ownerships (id, organization_id, user_id, started_at, ended_at, reason, {record})
SELECT n, n, 1 + n % {z.users}, {base}, NULL, NULL, {base}, {base}, 1, NULL
FROM {d.series(C)}""",
        ),
        (
            "distributor_coverage",
            f"""
INSERT INTO distributor_coverage (id, distributor_id, customer_id, region, since, {record})
SELECT n, {first_distributor} + n % {D}, n, NULL, NULL, {base}, {base}, 1, NULL
FROM {d.series(C)}""",
        ),
        (
            "contacts",
            f"""
INSERT INTO contacts (id, organization_id, name, title, email, phone, is_primary, notes, {record})
SELECT n, (n + 1) / 2, 'Contact ' || {d.text("n")}, {pick("n", 25, ("Buyer", "Purchasing manager", "CFO", "Logistics lead"))},
    'contact' || {d.text("n")} || '@bench.example', NULL, {d.boolean("n % 2 = 1")}, NULL, {base}, {base}, 1, NULL
FROM {d.series(z.organizations * 2)}""",
        ),
        (
            "products",
            f"""
INSERT INTO products (id, sku, name, description, unit, list_price, cost, currency, status, {record})
SELECT n, 'SKU-' || {d.text("n")}, 'Product ' || {d.text("n")}, NULL, 'pcs', {d.money(price("n"))},
    {d.money(f"{price('n')} * 7 / 10")}, 'CNY', 'active', {base}, {base}, 1, NULL
FROM {d.series(P)}""",
        ),
        (
            "supplier_products",
            f"""
INSERT INTO supplier_products (id, supplier_id, product_id, supplier_sku, price, currency, lead_time_days, is_preferred, {record})
SELECT n, {first_supplier} + (p + k3 * {S // 3}) % {S}, p, 'S-' || {d.text("n")}, {d.money(f"{price('p')} * 7 / 10")}, 'CNY',
    3 + n % 30, {d.boolean("k3 = 0")}, {base}, {base}, 1, NULL
FROM (SELECT n, (n + 2) / 3 AS p, (n + 2) % 3 AS k3 FROM {d.series(P * 3)}) AS offers""",
        ),
        (
            "orders",
            f"""
INSERT INTO orders (id, number, customer_id, distributor_id, status, currency, total_amount, placed_at,
    requested_date, promised_date, source, source_organization_id, external_reference, source_version, notes, {record})
SELECT o, 'SO-' || {d.text("o")}, {customer},
    (CASE WHEN {h("o", 9)} % 10 < 6 THEN {first_distributor} + {customer} % {D} END),
    {status}, 'CNY', {d.money(total)}, {d.ts(placed)},
    {d.day(f"{placed} + 14 * 86400")}, {d.day(f"{placed} + 21 * 86400")},
    (CASE WHEN {h("o", 10)} % 4 = 0 THEN 'portal' ELSE 'internal' END), NULL, NULL, NULL, NULL,
    {d.ts(placed)}, {d.ts(placed)}, 1, NULL
FROM (SELECT n AS o FROM {d.series(N)}) AS numbered""",
        ),
        (
            "order_lines",
            f"""
INSERT INTO order_lines (order_id, line_number, product_id, supplier_id, quantity, unit_price, line_total, {record})
SELECT o, k, {product}, {supplier}, {d.quantity(qty)}, {d.money(price(product))}, {d.money(f"{qty} * {price(product)}")},
    {d.ts(placed)}, {d.ts(placed)}, 1, NULL
FROM (SELECT n AS o FROM {d.series(N)}) AS numbered JOIN bench_k ON k <= {line_count}
ORDER BY o, k""",
        ),
        (
            "shipments",
            f"""
INSERT INTO shipments (order_id, carrier, tracking_number, status, shipped_at, expected_at, delivered_at, {record})
SELECT id, {pick("id", 30, CARRIERS)}, 'TRK' || {d.text("id")},
    (CASE WHEN status = 'shipped' THEN 'in_transit' ELSE 'delivered' END),
    {d.ts_plus("placed_at", 3)}, {d.ts_plus("placed_at", 7)},
    (CASE WHEN status = 'shipped' THEN NULL ELSE {d.ts_plus("placed_at", 6)} END),
    {d.ts_plus("placed_at", 3)}, {d.ts_plus("placed_at", 3)}, 1, NULL
FROM orders WHERE status IN ('shipped', 'delivered', 'closed') ORDER BY id""",
        ),
        (
            "service_records",
            f"""
INSERT INTO service_records (id, kind, organization_id, contact_id, order_id, order_line_id, product_id, assignee_id,
    title, description, status, severity, opened_at, closed_at, resolution, cost, currency, evidence_links,
    compensation, planned_at, done_at, purpose, feedback, score, comments, {record})
SELECT n, kind, org, org * 2 - 1, NULL, NULL,
    (CASE WHEN kind = 'quality_objection' THEN 1 + {h("n", 14)} % {P} END), NULL,
    'Case ' || {d.text("n")}, NULL, (CASE WHEN kind = 'satisfaction_survey' THEN 'closed' ELSE st END),
    (CASE WHEN kind IN ('complaint', 'quality_objection') THEN {pick("n", 15, ("low", "medium", "high", "critical"))} END),
    {d.ts(f"{h('n', 16)} % {SPAN_SECONDS}")},
    (CASE WHEN st IN ('resolved', 'closed') OR kind = 'satisfaction_survey' THEN {d.ts(f"{h('n', 16)} % {SPAN_SECONDS} + 86400")} END),
    NULL, NULL, 'CNY', NULL, NULL,
    (CASE WHEN kind = 'visit' THEN {d.ts(f"{h('n', 16)} % {SPAN_SECONDS} + 3600")} END), NULL,
    (CASE WHEN kind = 'visit' THEN 'Quarterly review' END), NULL,
    (CASE WHEN kind = 'satisfaction_survey' THEN 1 + {h("n", 17)} % 10 END), NULL,
    {d.ts(f"{h('n', 16)} % {SPAN_SECONDS}")}, {d.ts(f"{h('n', 16)} % {SPAN_SECONDS}")}, 1, NULL
FROM (SELECT n, 1 + {h("n", 11)} % {C} AS org, {sr_kind} AS kind, {sr_status} AS st FROM {d.series(z.service_records)}) AS cases""",
        ),
    ]


def sqlite_path(scale: str, data_dir: Path = DATA_DIR) -> Path:
    return data_dir / f"{scale}-v{GENERATOR_VERSION}.db"


def pg_database(scale: str, prefix: str = "pgbench") -> str:
    return f"{prefix}_{scale}_v{GENERATOR_VERSION}"


def pg_url(database: str, server_url: str = DEFAULT_PG_SERVER) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + database


async def _fill(conn: AsyncConnection, dialect: Dialect, sizes: Sizes, log) -> None:  # noqa: ANN001
    await conn.execute(text("CREATE TEMPORARY TABLE bench_k (k BIGINT NOT NULL)"))
    await conn.execute(text("INSERT INTO bench_k (k) VALUES (1), (2), (3), (4), (5)"))
    for table, sql in statements(dialect, sizes):
        started = time.perf_counter()
        result = await conn.execute(text(sql))
        log(f"  {table}: {result.rowcount:,} rows in {time.perf_counter() - started:.1f} s")
    await reset_sequences(conn, [t for t in Base.metadata.sorted_tables if "id" in t.c])


async def build_sqlite(scale: str, data_dir: Path = DATA_DIR, log=print) -> str:  # noqa: ANN001
    """The SQLite file of `scale`, built when missing; returns its database URL."""
    path = sqlite_path(scale, data_dir)
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists():
        await upgrade(url)  # a dataset built before a migration gets it, as a user's database would
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for stale in data_dir.glob(building.name + "*"):
        stale.unlink()
    building_url = f"sqlite+aiosqlite:///{building}"
    started = time.perf_counter()
    log(f"building {path.name} ({SCALES[scale]:,} customers)")
    await upgrade(building_url)
    engine = create_async_engine(building_url)
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        await conn.exec_driver_sql("PRAGMA synchronous=OFF")
        await conn.exec_driver_sql("PRAGMA cache_size=-400000")
        await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        await _fill(conn, Dialect("sqlite"), Sizes(SCALES[scale]), log)
        await conn.commit()
        await conn.exec_driver_sql("ANALYZE")
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()
    building.rename(path)
    log(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    return url


async def build_postgresql(
    scale: str, prefix: str = "pgbench", server_url: str = DEFAULT_PG_SERVER, log=print
) -> str:  # noqa: ANN001
    """The PostgreSQL database of `scale`, built when missing; returns its URL."""
    name = pg_database(scale, prefix)
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            names = set((await conn.execute(text("SELECT datname FROM pg_database"))).scalars())
            if name in names:
                await upgrade(pg_url(name, server_url))  # as a user's database would be migrated
                return pg_url(name, server_url)
            building = name + "_building"
            if building in names:
                await conn.execute(text(f'DROP DATABASE "{building}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{building}"'))
        started = time.perf_counter()
        log(f"building PostgreSQL database {name} ({SCALES[scale]:,} customers)")
        building_url = pg_url(building, server_url)
        await upgrade(building_url)
        engine = create_async_engine(building_url)
        async with engine.connect() as conn:
            await conn.execute(text("SET synchronous_commit = off"))
            await conn.execute(text("SET work_mem = '256MB'"))
            await conn.execute(text("SET maintenance_work_mem = '512MB'"))
            await _fill(conn, Dialect("postgresql"), Sizes(SCALES[scale]), log)
            await conn.commit()
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
        log(f"built {name} in {time.perf_counter() - started:.0f} s")
        return pg_url(name, server_url)
    finally:
        await admin.dispose()


async def build(db: str, scale: str, data_dir: Path = DATA_DIR, pg_prefix: str = "pgbench", log=print) -> str:  # noqa: ANN001
    if db == "sqlite":
        return await build_sqlite(scale, data_dir, log)
    return await build_postgresql(scale, pg_prefix, log=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    print(asyncio.run(build(args.db, args.scale)))


if __name__ == "__main__":
    main()


async def scratch_copy(url: str, workdir: Path) -> str:
    """A throwaway copy of a dataset for the write scenarios (SQLite's backup API; a PostgreSQL
    template copy), so a run's writes never change the data the next run reads."""
    if url.startswith("sqlite"):
        import sqlite3

        source, target = Path(url.split(":///", 1)[1]), workdir / "scratch.db"
        target.unlink(missing_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return f"sqlite+aiosqlite:///{target}"
    name = url.rsplit("/", 1)[1]
    copy = f"{name}_scratch"
    admin = create_async_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
    finally:
        await admin.dispose()
    return pg_url(copy, url)


async def drop_copy(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = create_async_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def forget_key_use(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE api_keys SET last_used_at = NULL"))
    finally:
        await engine.dispose()
