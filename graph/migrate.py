"""Schema migrations: Alembic, shipped inside the package so it works from an installed wheel.

The migration scripts live in ``graph/migrations`` (``env.py``, ``versions/``). Everything here
takes the database URL explicitly; nothing reads ``alembic.ini`` from the working directory.

The Alembic commands are synchronous and ``env.py`` drives its own async engine with
``asyncio.run``, so the async wrappers run each command in a worker thread
(``asyncio.to_thread``): the caller's event loop keeps running and the worker thread gets a
loop of its own.

For developers (new revisions)::

    PARTNERGRAPH_DATABASE_URL=sqlite+aiosqlite:///scratch.db \\
        alembic -c graph/migrations/alembic.ini upgrade head
    PARTNERGRAPH_DATABASE_URL=sqlite+aiosqlite:///scratch.db \\
        alembic -c graph/migrations/alembic.ini revision --autogenerate --rev-id 0002_what -m "what"
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from graph.models.base import ExactDecimal, UTCDateTime

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the package's migrations, pointed at ``database_url``."""
    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.is_file() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    # ConfigParser interpolates "%": escape it (URL-encoded passwords contain it).
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    # The raw URL for env.py, and no logging reconfiguration inside a running application.
    cfg.attributes["sqlalchemy.url"] = database_url
    cfg.attributes["configure_logging"] = False
    return cfg


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render the custom column types as portable, importable code in migration scripts.

    Alembic's default for a TypeDecorator is ``module.Class(<args of its impl>)``, which
    drops ExactDecimal's precision and scale; and it never adds the import.
    """
    if type_ != "type":
        return False
    module = type(obj).__module__
    if isinstance(obj, ExactDecimal):
        autogen_context.imports.add(f"import {module}")
        return f"{module}.{type(obj).__name__}({obj.precision}, {obj.scale})"
    if isinstance(obj, UTCDateTime):
        autogen_context.imports.add(f"import {module}")
        return f"{module}.{type(obj).__name__}()"
    if not module.startswith("sqlalchemy"):
        # Any other project type: Alembic renders "module.Class(...)"; make it importable.
        autogen_context.imports.add(f"import {module}")
    return False  # Alembic's default rendering


def context_options(dialect_name: str) -> dict[str, Any]:
    """Options for ``MigrationContext.configure``, shared by env.py and the drift test."""
    return {
        "compare_type": True,
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
    }


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    """Upgrade to ``revision`` (blocking). Safe to call from inside a running event loop's
    thread too (env.py then runs its engine in a separate thread), but prefer ``upgrade``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade_sync(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` without blocking the event loop."""
    await asyncio.to_thread(upgrade_sync, database_url, revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    """Downgrade the database to ``revision`` (``base``: drop everything) without blocking."""
    await asyncio.to_thread(downgrade_sync, database_url, revision)


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "context_options",
    "current_revision",
    "downgrade",
    "downgrade_sync",
    "head_revision",
    "render_item",
    "upgrade",
    "upgrade_sync",
]
