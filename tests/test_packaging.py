"""Every third-party module the product imports is a declared runtime dependency.

The test extra installs more than a user gets (httpx, hypothesis, pyyaml, …), so a product
import of a test-only package passes the suite and breaks `scripts/demo`: this catches it."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# import name → the distribution that provides it (when the two differ or it comes with another)
PROVIDED_BY = {
    "jwt": "pyjwt",
    "prometheus_client": "prometheus-client",
    "pydantic_settings": "pydantic-settings",
    "graphql": "strawberry-graphql",  # graphql-core, strawberry's own dependency
    "cross_web": "strawberry-graphql",
    "yaml": "pyyaml",
    "strawberry": "strawberry-graphql",
}
OPTIONAL = {"opentelemetry"}  # the [otel] extra, imported only when tracing is turned on


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        name = requirement.split(";")[0]
        for stop in "<>=![ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower())
    return names


def _imports() -> set[str]:
    found = set()
    for path in (ROOT / "graph").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_every_product_import_is_a_runtime_dependency() -> None:
    declared = _declared()
    third_party = {
        name for name in _imports()
        if name not in sys.stdlib_module_names and name not in {"graph", "__future__"} and name not in OPTIONAL
    }
    missing = {
        name for name in third_party
        if PROVIDED_BY.get(name, name.replace("_", "-")).lower() not in declared
    }
    assert not missing, f"imported by graph/ but not in [project.dependencies]: {sorted(missing)}"
