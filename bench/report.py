"""Results: the JSON file of a day (runs of the same day merged), its Markdown table, the
targets against what was measured, and two PNG plots (matplotlib, from the `bench` extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.dataset import SCALES

SCENARIOS = (
    "portal",
    "node",
    "list_first",
    "list_deep",
    "sync",
    "sales_dynamics",
    "lock_readers",
    "lock_writers",
)
SERVERS = ("partnergraph", "raw-sql", "postgraphile")
COMPARED = ("portal", "node", "list_first", "list_deep")


def _key(row: dict[str, Any]) -> tuple:
    return row["db"], row["scale"], row["server"], row["scenario"]


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Rows of `new` replace the same (db, scale, server, scenario) of `old`; the rest stay."""
    replaced = {_key(r) for r in new["rows"]}
    parity_replaced = {(p["db"], p["scale"], p["scenario"]) for p in new["parity"]}
    merged = dict(new)
    merged["rows"] = [r for r in old.get("rows", []) if _key(r) not in replaced] + new["rows"]
    merged["parity"] = [
        p for p in old.get("parity", []) if (p["db"], p["scale"], p["scenario"]) not in parity_replaced
    ] + new["parity"]
    merged["datasets"] = {**old.get("datasets", {}), **new["datasets"]}
    runs = old.get("runs", [])
    merged["runs"] = [*runs, {k: new[k] for k in ("started_at", "finished_at", "machine", "settings")}]
    order = {s: i for i, s in enumerate(SCALES)}
    merged["rows"].sort(
        key=lambda r: (
            r["db"],
            order.get(r["scale"], 9),
            SERVERS.index(r["server"]),
            SCENARIOS.index(r["scenario"]) if r["scenario"] in SCENARIOS else 99,
        )
    )
    return merged


def earlier(out: Path, date: str) -> dict[str, Any]:
    """What earlier runs of the same day left in `out` (merged into this run's file)."""
    path = out / f"{date}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write(result: dict[str, Any], out: Path, old: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    date = result["started_at"][:10]
    path = out / f"{date}.json"
    merged = merge(old, result)
    merged["targets"] = targets(merged)
    path.write_text(json.dumps(merged, indent=1, default=str) + "\n")
    (out / f"{date}.md").write_text(markdown(merged, date))
    plots(merged, out, date)
    return path


def _find(rows: list[dict], **match: Any) -> dict[str, Any] | None:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()) and row.get("available", True):
            return row
    return None


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of issue 7 against each measurement that decides it."""
    rows = result["rows"]
    checks: list[dict[str, Any]] = []

    def check(target: str, where: str, measured: Any, ok: bool | None) -> None:
        checks.append({"target": target, "where": where, "measured": measured, "met": ok})

    combos = sorted({(r["db"], r["scale"]) for r in rows}, key=lambda c: (c[0], list(SCALES).index(c[1])))
    for db, scale in combos:
        where = f"{db} {scale}"
        portal = _find(rows, db=db, scale=scale, server="partnergraph", scenario="portal")
        raw = _find(rows, db=db, scale=scale, server="raw-sql", scenario="portal")
        pgl = _find(rows, db=db, scale=scale, server="postgraphile", scenario="portal")
        node = _find(rows, db=db, scale=scale, server="partnergraph", scenario="node")
        first = _find(rows, db=db, scale=scale, server="partnergraph", scenario="list_first")
        deep = _find(rows, db=db, scale=scale, server="partnergraph", scenario="list_deep")
        sync = _find(rows, db=db, scale=scale, server="partnergraph", scenario="sync")
        if portal:
            stmts = portal.get("sql_statements_per_request")
            check("portal page ≤ 6 SQL statements", where, stmts, stmts is not None and stmts <= 6)
            check("portal ≥ 200 req/s", where, portal.get("rps"), (portal.get("rps") or 0) >= 200)
            p99 = portal.get("p99_ms")
            check("portal p99 ≤ 100 ms", where, p99, p99 is not None and p99 <= 100)
        if portal and raw and raw.get("p50_ms") and portal.get("p50_ms"):
            ratio = round(portal["p50_ms"] / raw["p50_ms"], 2)
            check(
                "portal p50 within 2× raw SQL",
                where,
                f"{ratio}× ({portal['p50_ms']} vs {raw['p50_ms']} ms)",
                ratio <= 2,
            )
        if portal and pgl and pgl.get("rps") and portal.get("rps") is not None:
            share = round(portal["rps"] / pgl["rps"], 2)
            check(
                "portal ≥ 1/3 of PostGraphile's throughput",
                where,
                f"{share} ({portal['rps']} vs {pgl['rps']} req/s)",
                share >= 1 / 3,
            )
        if node:
            check("node lookup ≥ 1,500 req/s", where, node.get("rps"), (node.get("rps") or 0) >= 1500)
        for suffix, label in (("", "16 connections"), ("_1conn", "1 connection")):
            a, b = (first or {}).get(f"p50_ms{suffix}"), (deep or {}).get(f"p50_ms{suffix}")
            if a and b:
                ratio = round(b / a, 2)
                check(
                    f"deep keyset page within 1.5× of page 1 (p50, {label})",
                    f"{where} (after {deep_rows(result, db, scale):,} rows)",
                    f"{ratio}× ({b} vs {a} ms)",
                    ratio <= 1.5,
                )
        if sync:
            need = 5000 if db == "sqlite" else 10000
            check(
                f"bulk sync ≥ {need:,} lines/s ({db})",
                where,
                sync.get("lines_per_s"),
                (sync.get("lines_per_s") or 0) >= need and not sync.get("errors"),
            )
        readers = _find(rows, db=db, scale=scale, server="partnergraph", scenario="lock_readers")
        writers = _find(rows, db=db, scale=scale, server="partnergraph", scenario="lock_writers")
        if readers and writers:
            locked = readers["database_locked"] + writers["database_locked"] + readers.get("logged_locked", 0)
            errors = readers["errors"] + writers["errors"]
            check(
                f"no 'database is locked', 16 readers + 2 writers for {readers.get('lock_seconds')} s",
                where,
                f"{locked} locked, {errors} errors in {readers['requests'] + writers['requests']:,} requests",
                locked == 0 and errors == 0,
            )
    for db in sorted({r["db"] for r in rows}):
        small = _find(rows, db=db, scale="small", server="partnergraph", scenario="list_first")
        large = _find(rows, db=db, scale="large", server="partnergraph", scenario="list_first")
        for suffix, label in (("", "16 connections"), ("_1conn", "1 connection")):
            a, b = (small or {}).get(f"p50_ms{suffix}"), (large or {}).get(f"p50_ms{suffix}")
            if a and b:
                ratio = round(b / a, 2)
                check(
                    f"first-page latency growth 1k→100k ≤ 1.5× (p50, {label})",
                    db,
                    f"{ratio}× ({b} vs {a} ms)",
                    ratio <= 1.5,
                )
    return checks


def deep_rows(result: dict[str, Any], db: str, scale: str) -> int:
    return result.get("datasets", {}).get(f"{db}/{scale}", {}).get("deep_rows", 0)


def markdown(result: dict[str, Any], date: str) -> str:
    lines = [f"# Benchmark results {date}", ""]
    for run in result.get("runs", []):
        m = run["machine"]
        lines.append(
            f"- run {run['started_at'][:19]}Z → {run['finished_at'][11:19]}Z: {m['cpus']} CPUs, load average "
            f"{m['loadavg_start'][0]:.1f} at start, {m['loadavg_end'][0]:.1f} at end; "
            f"{run['settings'].get('duration')} s per scenario after {run['settings'].get('warmup')} s warm-up, "
            f"{run['settings'].get('concurrency')} connections, {run['settings'].get('workers')} workers"
        )
    for failure in result.get("failures", []):
        lines.append(f"- **failed**: {failure['db']} {failure['scale']}: {failure['error']}")
    lines += [
        "",
        "## Datasets",
        "",
        "| db / scale | customers | orders | lines | shipments | service records | deep page after |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, d in sorted(result.get("datasets", {}).items()):
        c = d.get("counts", {})
        lines.append(
            f"| {name} | {_fmt(d.get('customers'))} | {_fmt(c.get('orders'))} | {_fmt(c.get('order_lines'))} | "
            f"{_fmt(c.get('shipments'))} | {_fmt(c.get('service_records'))} | {_fmt(d.get('deep_rows'))} |"
        )
    lines += ["", "## Targets", "", "| target | where | measured | met |", "|---|---|---|---|"]
    for t in result.get("targets", []):
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        lines.append(f"| {t['target']} | {t['where']} | {_fmt(t['measured'])} | {met} |")
    lines += [
        "",
        "## Measurements",
        "",
        "| db | scale | server | scenario | req/s | p50 ms | p99 ms | SQL stmts/req | bytes/resp | errors | note |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        if not r.get("available", True):
            lines.append(
                f"| {r['db']} | {r['scale']} | {r['server']} | {r['scenario']} | | | | | | | {r.get('note', '')} |"
            )
            continue
        note = ""
        if r["scenario"] == "sync":
            note = f"{_fmt(r.get('lines_per_s'))} lines/s, {_fmt(r.get('orders_per_s'))} orders/s ({r.get('batch')}/batch)"
        elif r["scenario"].startswith("lock_"):
            note = f"{r.get('connections')} connections, 'database is locked': {r.get('database_locked')} in responses, {r.get('logged_locked')} in the log"
        elif r["scenario"] == "list_deep":
            note = f"after {deep_rows(result, r['db'], r['scale']):,} rows"
        if r.get("p50_ms_1conn") is not None:
            note += f"{'; ' if note else ''}alone (1 connection): p50 {r['p50_ms_1conn']} ms, {_fmt(r.get('rps_1conn'))} req/s"
        lines.append(
            f"| {r['db']} | {r['scale']} | {r['server']} | {r['scenario']} | {_fmt(r.get('rps'))} | "
            f"{_fmt(r.get('p50_ms'), 2)} | {_fmt(r.get('p99_ms'), 2)} | {_fmt(r.get('sql_statements_per_request'))} | "
            f"{_fmt(r.get('bytes_per_response'))} | {_fmt(r.get('errors'))} | {note} |"
        )
    same = [p for p in result.get("parity", [])]
    if same:
        lines += ["", "## Raw-SQL baseline: same JSON as PartnerGraph?", ""]
        lines.append(
            ", ".join(
                f"{p['db']} {p['scale']} {p['scenario']}: {'yes' if p['same_json'] else 'NO'}" for p in same
            )
        )
    lines += [
        "",
        f"Plots: `{date}-latency.png` (PartnerGraph p50 against data size), "
        f"`{date}-throughput.png` (throughput against the baselines).",
        "",
    ]
    return "\n".join(lines)


def plots(result: dict[str, Any], out: Path, date: str) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the `bench` extra is not installed: the JSON and Markdown still are
        return []
    rows = [r for r in result["rows"] if r.get("available", True) and r.get("p50_ms") is not None]
    dbs = sorted({r["db"] for r in rows})
    written = []
    fig, axes = plt.subplots(1, len(dbs), figsize=(6 * len(dbs), 4.2), squeeze=False)
    for ax, db in zip(axes[0], dbs, strict=True):
        for scenario in COMPARED:
            points = sorted(
                (r["customers"], r["p50_ms"])
                for r in rows
                if r["db"] == db and r["server"] == "partnergraph" and r["scenario"] == scenario
            )
            if points:
                ax.plot(
                    [p[0] for p in points], [p[1] for p in points], marker="o", label=f"{scenario} (16 conn.)"
                )
            alone = sorted(
                (r["customers"], r["p50_ms_1conn"])
                for r in rows
                if r["db"] == db
                and r["server"] == "partnergraph"
                and r["scenario"] == scenario
                and r.get("p50_ms_1conn")
            )
            if alone:
                ax.plot(
                    [p[0] for p in alone],
                    [p[1] for p in alone],
                    marker="s",
                    linestyle="--",
                    label=f"{scenario} (alone)",
                )
        ax.set_xscale("log")
        ax.set_xlabel("customers (orders ≈ 10.5×)")
        ax.set_ylabel("p50 latency, ms")
        ax.set_title(f"PartnerGraph latency against data size ({db})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / f"{date}-latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    fig, axes = plt.subplots(1, len(dbs), figsize=(6 * len(dbs), 4.2), squeeze=False)
    for ax, db in zip(axes[0], dbs, strict=True):
        scales = [s for s in SCALES if any(r["db"] == db and r["scale"] == s for r in rows)]
        scale = scales[-1] if scales else None
        width = 0.27
        for i, server in enumerate(SERVERS):
            values = []
            for scenario in COMPARED:
                row = _find(rows, db=db, scale=scale, server=server, scenario=scenario)
                values.append(row["rps"] if row else 0)
            if any(values):
                bars = ax.bar(
                    [x + (i - 1) * width for x in range(len(COMPARED))], values, width, label=server
                )
                ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_xticks(range(len(COMPARED)), COMPARED)
        ax.set_ylabel("requests/s")
        ax.set_title(f"Throughput, {db} {scale} ({SCALES.get(scale, 0):,} customers)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = out / f"{date}-throughput.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def latest(out: Path) -> Path:
    files = sorted(out.glob("????-??-??.json"))
    if not files:
        raise SystemExit(f"no results in {out}: run `python -m bench run` first")
    return files[-1]


def update_doc(results: Path, doc: Path = DOC) -> Path:
    """Put the tables of `results` (and links to its plots) between the markers of the doc."""
    result = json.loads(results.read_text())
    result["targets"] = targets(result)  # the current definitions, also for older files
    date = results.stem
    body = markdown(result, date).split("\n", 2)[2].replace("\n## ", "\n#### ")  # without its title
    relative = Path("..") / results.parent.relative_to(doc.parent.parent)
    body = body.replace(
        f"Plots: `{date}-latency.png` (PartnerGraph p50 against data size), `{date}-throughput.png` "
        "(throughput against the baselines).",
        f"![PartnerGraph p50 latency against data size]({relative}/{date}-latency.png)\n\n"
        f"![Throughput against the baselines]({relative}/{date}-throughput.png)",
    )
    text = doc.read_text()
    runs = ", ".join(
        f"{r['started_at'][:16].replace('T', ' ')} UTC (load average {r['machine']['loadavg_start'][0]:.1f}"
        f" → {r['machine']['loadavg_end'][0]:.1f})"
        for r in result["runs"]
    )
    head = (
        f"### Targets at a glance\n\nEach figure is from the latest run of its database and scale; the runs: "
        f"{runs}, on 2 cores.\n\n{summary(result)}\n\n"
    )
    section = f"{START}\n{head}### Latest results: `{results.relative_to(doc.parent.parent)}`\n\n{body.strip()}\n{END}"
    if START in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.replace("<!-- results: filled from bench/results/ -->", section)
    doc.write_text(text)
    return doc


def _short(value: Any) -> str:
    text = _fmt(value)
    return text.split(" (")[0]  # "1.2× (a vs b ms)" → "1.2×"


def summary(result: dict[str, Any]) -> str:
    """One line per target: each database's figure at every scale, and whether all were met."""
    families: dict[str, dict[str, list[tuple[str, Any, bool | None]]]] = {}
    for t in result.get("targets", []):
        where = t["where"].split(" (")[0].split()
        db = where[0]
        scale = where[1] if len(where) > 1 else "1k→100k"
        families.setdefault(t["target"], {}).setdefault(db, []).append((scale, t["measured"], t["met"]))
    lines = ["| target | SQLite | PostgreSQL | met |", "|---|---|---|---|"]
    for target, per_db in families.items():
        cells, verdicts = [], []
        for db in ("sqlite", "postgresql"):
            entries = per_db.get(db, [])
            cells.append(" · ".join(f"{scale}: {_short(measured)}" for scale, measured, _ in entries) or "–")
            verdicts += [met for _, _, met in entries]
        met = "yes" if all(verdicts) else ("**no**" if not any(verdicts) else "partly")
        lines.append(f"| {target} | {cells[0]} | {cells[1]} | {met} |")
    return "\n".join(lines)
