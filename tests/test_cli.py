"""The `partnergraph` command as operators run it: in a subprocess, with flags and environment."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "graph.cli"]


def _env(**settings: str) -> dict[str, str]:
    """The environment without any PARTNERGRAPH_* of the caller's, plus `settings`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PARTNERGRAPH_")}
    env.update({f"PARTNERGRAPH_{name.upper()}": value for name, value in settings.items()})
    return env


def _run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, **kwargs
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env or _env(), cwd=cwd, timeout=120, **kwargs
    )


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        ("port", "99999", "PARTNERGRAPH_PORT: must be between 1 and 65535 (got '99999')"),
        ("port", "eighty", "PARTNERGRAPH_PORT: must be a whole number (got 'eighty')"),
        ("pool_ping_idle_seconds", "-1", "PARTNERGRAPH_POOL_PING_IDLE_SECONDS: must be at least 0.0 (got '-1')"),
        ("statement_cache_size", "lots", "PARTNERGRAPH_STATEMENT_CACHE_SIZE: must be a whole number (got 'lots')"),
        ("api_key_cache_seconds", "-5", "PARTNERGRAPH_API_KEY_CACHE_SECONDS: must be between 0 and 300 (got '-5')"),
        ("api_key_cache_seconds", "3600", "PARTNERGRAPH_API_KEY_CACHE_SECONDS: must be between 0 and 300 (got '3600')"),
        (
            "database_url",
            "mysql://root:hunter2@db/crm",
            "PARTNERGRAPH_DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
            "(got 'mysql://root:***@db/crm')",
        ),
        (
            "cors_origins",
            "portal.example.com",
            "PARTNERGRAPH_CORS_ORIGINS: 'portal.example.com' is not an origin",
        ),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_exit_code_2(
    tmp_path: Path, setting: str, value: str, line: str
) -> None:
    for command in (["check-config"], ["serve"], ["migrate"]):
        result = _run(*command, env=_env(**{setting: value}), cwd=tmp_path)
        assert result.returncode == 2, result
        assert result.stderr.startswith(line), result.stderr
        assert "Traceback" not in result.stderr
        assert "hunter2" not in result.stderr


def test_every_bad_setting_gets_its_own_line(tmp_path: Path) -> None:
    result = _run("check-config", env=_env(port="0", database_url="oracle://x", debug="maybe"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "PARTNERGRAPH_DATABASE_URL",
        "PARTNERGRAPH_PORT",
        "PARTNERGRAPH_DEBUG",
    ]


def test_check_config_prints_the_configuration_without_secrets(tmp_path: Path) -> None:
    env = _env(jwt_secret="s3cr3t-value", cors_origins="https://a.example.com,https://b.example.com")
    result = _run(
        "check-config",
        "--database-url",
        "postgresql+asyncpg://app:pa55word@db:5432/crm",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert shown["PARTNERGRAPH_DATABASE_URL"] == "postgresql+asyncpg://app:***@db:5432/crm"
    assert shown["PARTNERGRAPH_JWT_SECRET"] == "********"
    assert shown["PARTNERGRAPH_CORS_ORIGINS"] == "https://a.example.com,https://b.example.com"
    assert shown["PARTNERGRAPH_PORT"] == "8000"
    assert "s3cr3t" not in result.stdout + result.stderr and "pa55word" not in result.stdout + result.stderr


def test_export_and_import_through_the_command_line(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    target = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    assert _run("seed", "--demo", "--customers", "10", "--database-url", source).returncode == 0
    dump = tmp_path / "dump.jsonl"
    exported = _run("export", "--database-url", source, "--output", str(dump))
    assert exported.returncode == 0, exported.stderr
    header = json.loads(dump.read_text().splitlines()[0])
    assert header["format"] == "partnergraph-export" and header["version"] == 1

    unmigrated = _run("import", "--database-url", target, "--input", str(dump))
    assert unmigrated.returncode == 2 and "partnergraph migrate" in unmigrated.stderr
    assert "Traceback" not in unmigrated.stderr

    assert _run("migrate", "--database-url", target).returncode == 0
    with dump.open() as stdin:
        imported = _run("import", "--database-url", target, stdin=stdin)  # --input - is the default
    assert imported.returncode == 0, imported.stderr

    again = _run("import", "--database-url", target, "--input", str(dump))
    assert again.returncode == 2 and "already holds data" in again.stderr

    to_stdout = _run("export", "--database-url", target)
    assert to_stdout.returncode == 0
    assert to_stdout.stdout.splitlines()[1:] == dump.read_text().splitlines()[1:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _established(pid: int, port: int) -> int:
    """How many TCP connections to `port` process `pid` holds open (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


def _assert_connections_spread_over_workers(port: int, pids: set[int]) -> None:
    """Keep-alive connections opened in a burst are shared evenly: not all on whichever worker was
    idle (a shared socket), nor 10/6 or 12/4 as a kernel hash splits them (SO_REUSEPORT)."""
    if not Path("/proc/net/tcp").exists():
        return
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
    try:
        for connection in connections:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        for connection in connections:
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        held = {pid: _established(pid, port) for pid in pids}
        assert sorted(held.values()) == [16 // len(pids)] * len(pids), held
    finally:
        for connection in connections:
            connection.close()


def _started_pids(log: Path) -> set[str]:
    return {line.split("[")[1].rstrip("]") for line in log.read_text().splitlines() if "Started server process" in line}


def test_serve_with_two_workers_shares_connections_evenly_restarts_and_stops(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    assert _run("migrate", "--database-url", url).returncode == 0
    made = _run("apikey", "create", "--role", "admin", "--database-url", url)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*CLI, "serve", "--workers", "2", "--port", str(port), "--database-url", url],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=tmp_path,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        headers = {"authorization": f"Bearer {key}"}
        for query in ("{ orders(first: 1) { totalCount } }", "{ organizations(first: 2) { totalCount } }"):
            response = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=10)
            assert response.status_code == 200 and "errors" not in response.json(), response.text

        deadline = time.monotonic() + 20
        while (workers := log.read_text().count("Application startup complete")) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        started = _started_pids(log)
        assert workers == 2 and len(started) == 2, log.read_text()
        _assert_connections_spread_over_workers(port, {int(pid) for pid in started})

        # A rolling restart: each new worker gets its share as soon as it is ready.
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while len(_started_pids(log) - started) < 2 or log.read_text().count("Finished server process") < 2:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        _assert_connections_spread_over_workers(port, {int(pid) for pid in _started_pids(log) - started})

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
