"""Throwaway PostgreSQL databases for tests.

The admin URL is ``PARTNERGRAPH_TEST_PG_URL`` if set, else
``postgresql+asyncpg://postgres@127.0.0.1:5432/test`` (trust auth). Each call to
``create_pg_database`` creates a fresh, uniquely named database on that server and returns
its ``postgresql+asyncpg://`` URL; ``drop_pg_database`` drops it again (even while
connections to it are still open).

    url = await create_pg_database()
    try:
        ...
    finally:
        await drop_pg_database(url)
"""

from __future__ import annotations

import os
import re
import secrets

import asyncpg
from sqlalchemy.engine import URL, make_url

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ENV_VAR = "PARTNERGRAPH_TEST_PG_URL"

# Only databases named like the ones create_pg_database makes are ever dropped.
_GENERATED_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}_[0-9a-f]{16}$")


def admin_url() -> str:
    """The URL of the database used to create and drop test databases."""
    return os.environ.get(ENV_VAR) or DEFAULT_ADMIN_URL


def pg_required() -> bool:
    """True when PostgreSQL was asked for explicitly: tests must then fail, not skip."""
    return bool(os.environ.get(ENV_VAR))


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _connect(url: URL, timeout: float = 10) -> asyncpg.Connection:
    # asyncpg runs statements outside a transaction unless asked to: CREATE/DROP DATABASE work.
    return await asyncpg.connect(_asyncpg_dsn(url), timeout=timeout)


async def pg_reachable(timeout: float = 3) -> bool:
    """Whether anything accepts connections at the admin URL's host and port.

    Only "nothing listening" counts as unreachable; a server that answers but refuses the
    login raises, so misconfiguration fails loudly instead of silently skipping tests.
    """
    try:
        conn = await _connect(make_url(admin_url()), timeout=timeout)
    except (TimeoutError, OSError):
        return False
    await conn.close()
    return True


async def create_pg_database(prefix: str = "pg_test") -> str:
    """Create an empty database with a unique name; return its postgresql+asyncpg URL."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", prefix):
        raise ValueError(f"bad database name prefix {prefix!r}")
    admin = make_url(admin_url())
    name = f"{prefix}_{secrets.token_hex(8)}"
    conn = await _connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = admin.set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    """Drop a database made by ``create_pg_database``, disconnecting anyone still on it."""
    target = make_url(url)
    name = target.database or ""
    if not _GENERATED_NAME.fullmatch(name):
        raise ValueError(f"refusing to drop {name!r}: not a database made by create_pg_database")
    conn = await _connect(make_url(admin_url()))
    try:
        if conn.get_server_version().major >= 13:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


__all__ = [
    "DEFAULT_ADMIN_URL",
    "admin_url",
    "create_pg_database",
    "drop_pg_database",
    "pg_reachable",
    "pg_required",
]
