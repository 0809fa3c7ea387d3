"""`partnergraph`: serve, migrate, seed and export the schema."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

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
    print(f"PartnerGraph on http://{settings.host}:{settings.port}/graphql", file=sys.stderr)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
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

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="file, or - for stdout")
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
