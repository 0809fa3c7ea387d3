"""`partnergraph`: serve, migrate, seed and export the schema."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from graph.access import ROLES
from graph.settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"



def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in ("database_url", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def export_schema_sdl() -> str:
    from graph.schema import schema

    return schema.as_str().rstrip() + "\n"


async def _seed_if_empty(settings: Settings, customers: int, seed: int) -> bool:
    from sqlalchemy import func, select

    from graph.db import create_engine
    from graph.models.organizations import Organization
    from graph.seed import seed_demo

    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(Organization.__table__))).scalar()
        if count:
            return False
        summary = await seed_demo(engine, customers=customers, seed=seed)
        print(f"seeded demo data: {summary}", file=sys.stderr)
        return True
    finally:
        await engine.dispose()


def cmd_migrate(args: argparse.Namespace) -> int:
    from graph.migrate import upgrade_sync

    settings = _settings(args)
    upgrade_sync(settings.database_url, args.revision)
    print(f"database at {args.revision}", file=sys.stderr)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    settings = _settings(args)
    from graph.migrate import upgrade_sync

    upgrade_sync(settings.database_url)
    seeded = asyncio.run(_seed_if_empty(settings, args.customers, args.seed))
    if not seeded:
        print("the database already holds data; demo data is only loaded into an empty database", file=sys.stderr)
        return 1
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from graph.app import create_app

    settings = _settings(args)
    if args.demo:
        from graph.migrate import upgrade_sync

        upgrade_sync(settings.database_url)
        asyncio.run(_seed_if_empty(settings, args.customers, args.seed))
        if settings.auth_required:
            key = asyncio.run(_create_key(settings, "admin", None, None, "demo admin", 30))
            print(f"Demo admin API key (valid 30 days):\n{key}", file=sys.stderr)
    print(f"PartnerGraph on http://{settings.host}:{settings.port}/graphql", file=sys.stderr)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


async def _create_key(settings: Settings, role: str, org: str | None, user: str | None, name: str,
                      expires_days: int | None) -> str:
    from datetime import timedelta

    from graph.auth import create_api_key
    from graph.db import create_engine, create_session_factory
    from graph.models.base import utcnow

    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            new = await create_api_key(
                session, role=role, name=name, organization_id=org, user_id=user,
                expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
            )
        return new.key
    finally:
        await engine.dispose()


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from graph.errors import UserInputError

    try:
        key = asyncio.run(
            _create_key(_settings(args), args.role, args.org, args.user, args.name or f"{args.role} key", args.expires_days)
        )
    except UserInputError as exc:
        for error in exc.errors:
            print(f"error: {'.'.join(error.field)}: {error.message}", file=sys.stderr)
        return 2
    print("API key (shown once; store it now):", file=sys.stderr)
    print(key)
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from graph.auth import revoke_api_key
    from graph.db import create_engine, create_session_factory

    async def revoke() -> bool:
        engine = create_engine(_settings(args))
        try:
            async with create_session_factory(engine)() as session, session.begin():
                return await revoke_api_key(session, args.prefix) is not None
        finally:
            await engine.dispose()

    if not asyncio.run(revoke()):
        print(f"no key with prefix {args.prefix}", file=sys.stderr)
        return 1
    print(f"revoked {args.prefix}", file=sys.stderr)
    return 0


def cmd_apikey_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from graph.db import create_engine, create_session_factory
    from graph.models.security import ApiKey

    async def rows() -> list:
        engine = create_engine(_settings(args))
        try:
            async with create_session_factory(engine)() as session:
                return list((await session.execute(select(ApiKey).order_by(ApiKey.id))).scalars())
        finally:
            await engine.dispose()

    for key in asyncio.run(rows()):
        state = "revoked" if key.revoked_at else ("expires " + key.expires_at.isoformat() if key.expires_at else "active")
        print(f"pgk_{key.prefix}_…\t{key.role}\torg={key.organization_id or '-'}\t{key.name}\t{state}")
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    sdl = export_schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partnergraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def database(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database-url", help="overrides PARTNERGRAPH_DATABASE_URL")

    serve = sub.add_parser("serve", help="run the GraphQL server")
    database(serve)
    serve.add_argument("--host", help="bind address (PARTNERGRAPH_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (PARTNERGRAPH_PORT, default 8000)")
    serve.add_argument("--demo", action="store_true", help="migrate, and load demo data into an empty database")
    serve.add_argument("--customers", type=int, default=200, help="demo size (with --demo)")
    serve.add_argument("--seed", type=int, default=7, help="demo random seed (with --demo)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date (Alembic)")
    database(migrate)
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load a deterministic demo dataset into an empty database")
    database(seed)
    seed.add_argument("--demo", action="store_true", help="the demo dataset")
    seed.add_argument("--customers", type=int, default=200)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(func=cmd_seed)

    apikey = sub.add_parser("apikey", help="create, list and revoke API keys")
    keys = apikey.add_subparsers(dest="apikey_command", required=True)
    create = keys.add_parser("create", help="create a key; prints it as the last line (shown once)")
    database(create)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--org", help="organization id (global or numeric) a partner key acts for")
    create.add_argument("--user", help="user id a sales key acts for")
    create.add_argument("--name", help="what the key is for")
    create.add_argument("--expires-days", type=int, help="expire after N days (default: never)")
    create.set_defaults(func=cmd_apikey_create)
    revoke = keys.add_parser("revoke", help="revoke a key by its prefix")
    database(revoke)
    revoke.add_argument("prefix")
    revoke.set_defaults(func=cmd_apikey_revoke)
    listing = keys.add_parser("list", help="list keys (never their secrets)")
    database(listing)
    listing.set_defaults(func=cmd_apikey_list)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="file, or - for stdout")
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
