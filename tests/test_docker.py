"""Static checks of the container setup (no Docker engine needed): compose.yaml, the
Dockerfile and the entrypoint script, which is also run against a stub `partnergraph`."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENTRYPOINT = DOCKER / "entrypoint.sh"
BASH = shutil.which("bash")


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE.open() as f:
        return yaml.safe_load(f)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_compose_services(compose: dict) -> None:
    assert set(compose["services"]) == {"api", "postgres", "redis"}


def test_compose_api(compose: dict) -> None:
    api = compose["services"]["api"]
    context = (COMPOSE.parent / api["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / api["build"]["dockerfile"]).resolve() == DOCKERFILE

    env = environment(api)
    assert env["PARTNERGRAPH_DATABASE_URL"] == (
        "postgresql+asyncpg://partnergraph:partnergraph@postgres:5432/partnergraph"
    )
    assert env["PARTNERGRAPH_MIGRATE_ON_START"] == "1"
    assert any(str(port).split(":")[-1] == "8000" for port in api["ports"])
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Several workers share query-cost budgets through Redis.
    assert env["PARTNERGRAPH_REDIS_URL"] == "redis://redis:6379/0"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "redis" in compose["services"] and compose["services"]["redis"]["healthcheck"]


def test_compose_postgres(compose: dict) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].split(":")[0] == "postgres"
    assert postgres["image"].split(":")[1].split(".")[0].split("-")[0] == "16"

    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))

    volume, _, target = postgres["volumes"][0].partition(":")
    assert target.startswith("/var/lib/postgresql/data")
    assert volume in (compose.get("volumes") or {}), "the data volume must be a named volume"

    # The API's URL must match the credentials and database the server is initialised with.
    url = make_url(environment(compose["services"]["api"])["PARTNERGRAPH_DATABASE_URL"])
    env = environment(postgres)
    assert (url.username, url.password, url.database, url.host) == (
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_DB"],
        "postgres",
    )


def has_docker_compose() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        result = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@pytest.mark.skipif(not has_docker_compose(), reason="the docker compose CLI is not installed")
def test_compose_config_validates() -> None:
    """`docker compose config` checks the file against the Compose schema (no engine needed)."""
    subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"], check=True)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def test_dockerfile() -> None:
    instructions = dockerfile_instructions()
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage: a builder and the runtime image"
    assert froms[-1].split()[0] == "python:3.11-slim"

    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    final = instructions[last_from:]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, "the runtime must not run as root"

    healthcheck = " ".join(args for keyword, args in final if keyword == "HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in healthcheck and "urllib" in healthcheck

    entrypoint = [args for keyword, args in final if keyword == "ENTRYPOINT"]
    assert entrypoint and "entrypoint" in entrypoint[-1]
    assert any(keyword == "COPY" and "docker/entrypoint.sh" in args for keyword, args in final)


def test_dockerfile_sources_are_in_the_build_context() -> None:
    """Every file COPY'd from the context exists and is not excluded by .dockerignore."""
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for keyword, args in dockerfile_instructions():
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [word for word in shlex.split(args) if not word.startswith("--")][:-1]
        for source in sources:
            matches = list(ROOT.glob(source))
            assert matches or "*" in source, f"COPY source {source!r} is missing"
            assert source not in ignored and source.split("/")[0] not in ignored, (
                f"COPY source {source!r} is excluded by .dockerignore"
            )


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_entrypoint_is_valid_bash() -> None:
    subprocess.run([BASH, "-n", str(ENTRYPOINT)], check=True)
    assert ENTRYPOINT.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(ENTRYPOINT, os.X_OK)


def run_entrypoint(tmp_path: Path, env: dict[str, str], *args: str, migrate_status: int = 0):
    """Run the entrypoint with a stub `partnergraph` on PATH; return (result, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    stub = bin_dir / "partnergraph"
    stub.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        f'if [ "$1" = migrate ]; then exit {migrate_status}; fi\n'
    )
    stub.chmod(0o755)
    full_env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    result = subprocess.run(
        [BASH, str(ENTRYPOINT), *args], env=full_env, capture_output=True, text=True, timeout=30
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_entrypoint_migrates_then_serves(tmp_path: Path) -> None:
    result, calls = run_entrypoint(tmp_path, {"PARTNERGRAPH_MIGRATE_ON_START": "1"}, "--debug")
    assert result.returncode == 0, result.stderr
    assert calls == ["migrate", "serve --host 0.0.0.0 --port 8000 --debug"]
    (tmp_path / "port").mkdir()
    result, calls = run_entrypoint(tmp_path / "port", {"PARTNERGRAPH_PORT": "9123"})
    assert calls == ["serve --host 0.0.0.0 --port 9123"]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_entrypoint_serves_without_migrating_by_default(tmp_path: Path) -> None:
    result, calls = run_entrypoint(tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert calls == ["serve --host 0.0.0.0 --port 8000"]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_entrypoint_stops_when_migration_fails(tmp_path: Path) -> None:
    result, calls = run_entrypoint(tmp_path, {"PARTNERGRAPH_MIGRATE_ON_START": "1"}, migrate_status=3)
    assert result.returncode == 3
    assert calls == ["migrate"]


def test_the_real_entrypoint_migrates_and_serves_outside_docker(tmp_path: Path) -> None:
    """The image's command, run here with the installed `partnergraph`: migrate, serve, answer, stop."""
    import signal
    import socket
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "PARTNERGRAPH_DATABASE_URL": url, "PARTNERGRAPH_MIGRATE_ON_START": "1", "PARTNERGRAPH_PORT": str(port)}
    server = subprocess.Popen([BASH, str(ENTRYPOINT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode()
            assert time.monotonic() < deadline, "the entrypoint did not serve within 30 s"
            time.sleep(0.2)
        made = subprocess.run([sys.executable, "-m", "graph.cli", "apikey", "create", "--role", "admin"],
                              env=env, capture_output=True, text=True, check=True)
        key = made.stdout.strip().splitlines()[-1]
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", headers={"authorization": f"Bearer {key}"},
                            json={"query": "{ organizations { totalCount } }"}, timeout=10)
        assert answer.json() == {"data": {"organizations": {"totalCount": 0}}, "extensions": answer.json()["extensions"]}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["database"] == "ok"
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn drains, shuts down, then re-raises the signal it caught (exit status -15).
        assert server.wait(timeout=15) in (0, -signal.SIGTERM)
    output = server.stdout.read().decode()
    assert "Finished server process" in output, output[-2000:]
