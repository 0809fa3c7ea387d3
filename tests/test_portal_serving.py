"""The built example portal is served at /portal (graph/app.py PortalFiles): its files, the
single-page-app fallback for client routes, and nothing at all when it is not built.

A fake build in a temporary directory stands in for `npm run build`, so no Node is needed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from graph.app import create_app
from graph.settings import Settings

INDEX = "<!doctype html><title>portal</title><div id=root></div>"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('portal')")
    return dist


def _client(tmp_path: Path, portal_dir: str | None) -> httpx.AsyncClient:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}", portal_dir=portal_dir)
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_portal_serves_index_and_assets(tmp_path: Path, build: Path) -> None:
    async with _client(tmp_path, str(build)) as client:
        index = await client.get("/portal/")
        assert index.status_code == 200
        assert index.text == INDEX
        assert index.headers["content-type"].startswith("text/html")
        assert index.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in index.headers["content-security-policy"]
        assert index.headers["x-content-type-options"] == "nosniff"

        asset = await client.get("/portal/assets/index-abc123.js")
        assert asset.status_code == 200
        assert asset.text == "console.log('portal')"
        assert "immutable" in asset.headers["cache-control"]

        bare = await client.get("/portal")
        assert bare.status_code == 307
        assert bare.headers["location"].endswith("/portal/")


async def test_client_routes_fall_back_to_index(tmp_path: Path, build: Path) -> None:
    async with _client(tmp_path, str(build)) as client:
        for path in (
            "/portal/orders",
            "/portal/orders/T3JkZXI6MQ==",
            "/portal/orders/T3JkZXI6MQ%3D%3D",
            "/portal/service",
        ):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.text == INDEX, path


async def test_missing_assets_stay_404(tmp_path: Path, build: Path) -> None:
    async with _client(tmp_path, str(build)) as client:
        assert (await client.get("/portal/assets/gone-123.js")).status_code == 404
        assert (await client.get("/portal/favicon.ico")).status_code == 404


async def test_files_outside_the_build_are_not_served(tmp_path: Path, build: Path) -> None:
    (build.parent / "secret.txt").write_text("not for you")
    async with _client(tmp_path, str(build)) as client:
        response = await client.get("/portal/../secret.txt")
        assert "not for you" not in response.text
        response = await client.get("/portal/%2e%2e/secret.txt")
        assert "not for you" not in response.text


@pytest.mark.parametrize("portal_dir", ["missing", "empty", ""])
async def test_no_portal_when_not_built(tmp_path: Path, portal_dir: str) -> None:
    if portal_dir == "empty":
        (tmp_path / "empty").mkdir()  # a directory without index.html is not a build
    directory = str(tmp_path / portal_dir) if portal_dir else ""
    async with _client(tmp_path, directory) as client:
        assert (await client.get("/portal/")).status_code == 404
        assert (await client.get("/portal/orders/1")).status_code == 404
        assert (await client.get("/healthz")).status_code == 200  # the API itself is unaffected


def test_default_portal_dir_is_the_example_build() -> None:
    default = Settings().portal_dir
    assert default is not None
    assert Path(default).parts[-3:] == ("examples", "portal", "dist")
