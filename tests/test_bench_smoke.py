"""The benchmark harness runs end to end at the smallest scale, on both databases.

`python -m bench run` with very short scenarios: datasets, API keys through the CLI, the
server, the raw-SQL baseline and PostGraphile (installed by the harness itself when missing)
as real processes. No timing is asserted (CI machines vary); the results file must hold
every scenario with sane figures, and the reads must have succeeded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.pg import admin_url

ROOT = Path(__file__).resolve().parents[1]
PG_PREFIX = "pgbench_smoke"
READS = ("portal", "node", "list_first", "list_deep")


async def _drop_smoke_databases() -> None:
    engine = create_async_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            names = (
                (
                    await conn.execute(
                        text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{PG_PREFIX}_%"}
                    )
                )
                .scalars()
                .all()
            )
            for name in names:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "PARTNERGRAPH_TEST_PG_URL": admin_url()}
    argv = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--scale",
        "small",
        "--db",
        "sqlite",
        "--db",
        "postgresql",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--lock-duration",
        "2",
        "--sync-orders",
        "500",
        "--out",
        str(out),
        "--data-dir",
        str(out / "data"),
        "--pg-prefix",
        PG_PREFIX,
    ]
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    finally:
        asyncio.run(_drop_smoke_databases())
    assert done.returncode == 0, done.stderr[-4000:]
    files = list(out.glob("*.json"))
    assert len(files) == 1, files
    result = json.loads(files[0].read_text())
    result["_dir"] = out
    return result


def _row(result: dict, db: str, server: str, scenario: str) -> dict:
    rows = [r for r in result["rows"] if (r["db"], r["server"], r["scenario"]) == (db, server, scenario)]
    assert len(rows) == 1, f"{db} {server} {scenario}: {len(rows)} rows"
    return rows[0]


def _sane(row: dict) -> None:
    assert row["requests"] > 0 and row["rps"] > 0, row
    assert 0 < row["p50_ms"] <= row["p99_ms"], row
    assert row["bytes_per_response"] > 0, row
    assert set(row["statuses"]) == {"200"}, row


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_every_read_scenario_against_every_server(results: dict, db: str) -> None:
    servers = ["partnergraph", "raw-sql"] + (["postgraphile"] if db == "postgresql" else [])
    for server in servers:
        for scenario in READS:
            row = _row(results, db, server, scenario)
            _sane(row)
            assert row["errors"] == 0, row["error_samples"]
            if server != "postgraphile":  # PostGraphile does not report its statements
                assert row["sql_statements_per_request"] >= 1, row
    assert not [r for r in results["rows"] if r["db"] == "sqlite" and r["server"] == "postgraphile"]


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_bulk_sync_applies_every_order(results: dict, db: str) -> None:
    row = _row(results, db, "partnergraph", "sync")
    assert row["requests"] == 1 and row["sync_orders"] == 500 and row["batch"] == 500, row
    assert row["errors"] == 0, row["error_samples"]
    assert row["lines_per_s"] > 0 and row["sync_lines"] >= 1000, row


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_sales_report_is_measured_or_said_to_be_unavailable(results: dict, db: str) -> None:
    row = _row(results, db, "partnergraph", "sales_dynamics")
    if row.get("available", True):
        _sane(row)
    else:
        assert "not available" in row["note"]


def test_sqlite_readers_and_writers_together(results: dict) -> None:
    readers = _row(results, "sqlite", "partnergraph", "lock_readers")
    writers = _row(results, "sqlite", "partnergraph", "lock_writers")
    assert readers["connections"] == 16 and writers["connections"] == 2
    assert readers["requests"] > 0 and writers["requests"] > 0
    assert "database_locked" in readers and "logged_locked" in readers


def test_report_lists_targets_datasets_and_tables(results: dict) -> None:
    assert {"sqlite/small", "postgresql/small"} <= set(results["datasets"])
    for facts in results["datasets"].values():
        assert (
            facts["counts"]["orders"] >= 10_000 and facts["counts"]["order_lines"] > facts["counts"]["orders"]
        )
    names = {t["target"] for t in results["targets"]}
    assert "portal page ≤ 6 SQL statements" in names and "node lookup ≥ 1,500 req/s" in names
    assert any(name.startswith("portal ≥ 1/3 of PostGraphile") for name in names)
    markdown = next(results["_dir"].glob("*.md")).read_text()
    assert "| target |" in markdown and "| partnergraph | portal |" in markdown


@pytest.mark.parametrize("scenario, statements", [("node", 1), ("portal", 6), ("list", 1), ("typename", 0)])
def test_bench_profile_measures_cpu_per_request_in_process(tmp_path: Path, scenario: str, statements: int) -> None:
    """`python -m bench profile` (bench/profile.py) on a fresh small SQLite dataset."""
    argv = [sys.executable, "-m", "bench", "profile", "--scenario", scenario, "--requests", "3", "--rounds", "1"]
    done = subprocess.run([*argv, "--data-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["scenario"] == scenario and report["cpu_ms_per_request"] > 0
    assert report["sql_statements"] == statements
