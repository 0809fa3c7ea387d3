"""`partnergraph`: serve, migrate, seed, export and import data, and export the schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from graph.access import ROLES
from graph.settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
ENV_PREFIX = "PARTNERGRAPH_"
# Settings whose values are never printed (check-config, error messages).
_SECRET_WORDS = ("secret", "password", "token", "private")


class ConfigurationError(Exception):
    """Bad settings: one readable line per bad setting, printed instead of a traceback."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {}
    for name in ("database_url", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return overrides


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return Settings(**_flag_overrides(args))
    except ValidationError as exc:
        raise ConfigurationError(describe_settings_errors(exc)) from None
    except SettingsError as exc:
        raise ConfigurationError([_settings_error_line(exc)]) from None


def _env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _is_secret(field: str) -> bool:
    return any(word in field for word in _SECRET_WORDS)


def redact(field: str, value: Any) -> Any:
    """`value` of setting `field` as it may be shown: no secrets, no passwords in URLs."""
    if value is None:
        return None
    if _is_secret(field):
        return "********"
    if field.endswith("_url") and isinstance(value, str):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(value).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            # Not parseable as a URL: drop anything between "//" and "@" (user:password).
            head, sep, rest = value.partition("//")
            return head + sep + rest.rpartition("@")[2] if "@" in rest else value
    return value


def _range(field: str) -> str | None:
    """`between 1 and 65535` for a setting declared with both a lower and an upper bound."""
    bounds: dict[str, Any] = {}
    info = Settings.model_fields.get(field)
    for meta in info.metadata if info else ():
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                bounds[name] = getattr(meta, name)
    if "ge" in bounds and "le" in bounds:
        return f"must be between {bounds['ge']} and {bounds['le']}"
    lower = (
        f"at least {bounds['ge']}"
        if "ge" in bounds
        else f"greater than {bounds['gt']}"
        if "gt" in bounds
        else None
    )
    upper = (
        f"at most {bounds['le']}"
        if "le" in bounds
        else f"less than {bounds['lt']}"
        if "lt" in bounds
        else None
    )
    return f"must be {lower} and {upper}" if lower and upper else None


def _problem(error: Any, field: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and (
        declared := _range(field)
    ):
        return declared
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind in ("int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind == "float_parsing":
        return "must be a number"
    if kind == "bool_parsing":
        return "must be true or false"
    message = str(ctx["error"]) if kind == "value_error" and "error" in ctx else error["msg"]
    # Validators name their setting for other callers; the line already starts with it.
    for prefix in (f"{field}: ", f"{field} "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message[:1].lower() + message[1:]


def describe_settings_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting: `PARTNERGRAPH_PORT: must be between 1 and 65535 (got '99999')`."""
    lines = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        if not location:  # a rule across settings (model validator)
            lines.append(f"configuration: {_problem(error, '')}")
            continue
        field = location[0]
        name = _env_name(field) + "".join(f"[{part}]" for part in location[1:])
        shown = redact(field, error.get("input"))
        got = f" (got {str(shown)!r})" if error["type"] != "missing" and not isinstance(shown, dict) else ""
        lines.append(f"{name}: {_problem(error, field)}{got}")
    return lines


def _settings_error_line(exc: SettingsError) -> str:
    # pydantic-settings: 'error parsing value for field "jwt_algorithms" from source "EnvSettingsSource"'
    import re

    found = re.search(r'field "(\w+)"', str(exc))
    if found:
        return f'{_env_name(found.group(1))}: cannot be parsed (a list needs JSON, e.g. ["RS256"])'
    return f"configuration: {exc}"


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
        print(
            "the database already holds data; demo data is only loaded into an empty database",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from graph.app import create_served_app

    settings = _settings(args)
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.demo:
        from graph.migrate import upgrade_sync

        upgrade_sync(settings.database_url)
        asyncio.run(_seed_if_empty(settings, args.customers, args.seed))
        if settings.auth_required:
            key = asyncio.run(_create_key(settings, "admin", None, None, "demo admin", 30))
            print(f"Demo admin API key (valid 30 days):\n{key}", file=sys.stderr)
    print(f"PartnerGraph on http://{settings.host}:{settings.port}/graphql", file=sys.stderr)
    if args.workers == 1:
        # Our access log (graph/observability.py) replaces uvicorn's; its own lines use our format.
        uvicorn.run(
            create_served_app(settings),
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        )
        return 0
    # Worker processes build their own app from an import string, so they read their settings
    # from the environment: put the flags there (the environment already holds the rest).
    for name, value in _flag_overrides(args).items():
        os.environ[_env_name(name)] = str(value)
    from graph import workers

    config = uvicorn.Config(
        "graph.app:create_served_app",
        factory=True,
        workers=args.workers,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,  # graph/observability.py writes the access log
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    with contextlib.suppress(KeyboardInterrupt):
        workers.run(config)  # one acceptor hands each connection to the worker holding the fewest
    return 0


async def _create_key(
    settings: Settings, role: str, org: str | None, user: str | None, name: str, expires_days: int | None
) -> str:
    from datetime import timedelta

    from graph.auth import create_api_key
    from graph.db import create_engine, create_session_factory
    from graph.models.base import utcnow

    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            new = await create_api_key(
                session,
                role=role,
                name=name,
                organization_id=org,
                user_id=user,
                expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
            )
        return new.key
    finally:
        await engine.dispose()


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from graph.errors import UserInputError

    try:
        key = asyncio.run(
            _create_key(
                _settings(args),
                args.role,
                args.org,
                args.user,
                args.name or f"{args.role} key",
                args.expires_days,
            )
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
        state = (
            "revoked"
            if key.revoked_at
            else ("expires " + key.expires_at.isoformat() if key.expires_at else "active")
        )
        print(f"pgk_{key.prefix}_…\t{key.role}\torg={key.organization_id or '-'}\t{key.name}\t{state}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    import json

    settings = _settings(args)
    for field in Settings.model_fields:
        value = redact(field, getattr(settings, field))
        if isinstance(value, list):
            shown = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            shown = str(value).lower()
        elif value is None:
            shown = ""
        elif isinstance(value, str) and "\n" in value:
            shown = json.dumps(value)  # e.g. a PEM key, kept on one line
        else:
            shown = str(value)
        print(f"{_env_name(field)}={shown}")
    print("configuration OK", file=sys.stderr)
    return 0


def _data_engine(args: argparse.Namespace):  # noqa: ANN202
    from graph.db import create_engine

    return create_engine(_settings(args))


def cmd_export(args: argparse.Namespace) -> int:
    from graph.portability import PortabilityError, export_database

    engine = _data_engine(args)
    to_stdout = args.output == "-"
    path = None if to_stdout else Path(args.output)

    async def run(out) -> dict[str, int]:  # noqa: ANN001
        try:
            return await export_database(engine, out)
        finally:
            await engine.dispose()

    try:
        if path is None:
            counts = asyncio.run(run(sys.stdout))
        else:
            # Write beside the target and rename, so a failed export never leaves half a file.
            partial = path.with_name(path.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8") as out:
                    counts = asyncio.run(run(out))
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
    except PortabilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = "stdout" if path is None else str(path)
    print(f"exported {sum(counts.values())} rows of {len(counts)} tables to {where}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from graph.portability import PortabilityError, import_database

    engine = _data_engine(args)

    async def run(lines) -> dict[str, int]:  # noqa: ANN001
        try:
            return await import_database(engine, lines)
        finally:
            await engine.dispose()

    try:
        if args.input == "-":
            counts = asyncio.run(run(sys.stdin))
        else:
            source = Path(args.input)
            if not source.is_file():
                print(f"error: cannot read {args.input}: no such file", file=sys.stderr)
                return 2
            with source.open(encoding="utf-8") as lines:
                counts = asyncio.run(run(lines))
    except PortabilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"imported {sum(counts.values())} rows into {len(counts)} tables", file=sys.stderr)
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    sdl = export_schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_webhooks_run(args: argparse.Namespace) -> int:
    import signal

    from graph.db import create_engine, create_session_factory
    from graph.observability import configure_logging
    from graph.webhooks import WebhookWorker

    settings = _settings(args)
    configure_logging(settings)

    async def run() -> None:
        engine = create_engine(settings)
        worker = WebhookWorker(create_session_factory(engine), settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(worker.stop()))
        try:
            await worker.start()
        finally:
            await engine.dispose()

    print("delivering webhooks (Ctrl-C to stop)", file=sys.stderr)
    asyncio.run(run())
    return 0


def cmd_warnings_sweep(args: argparse.Namespace) -> int:
    """Evaluate every early-warning rule once (at --as-of, default now) and print what changed."""
    import json
    from datetime import UTC, datetime

    from graph.crm.sweep import sweep
    from graph.crm.warnings import RuleConfig
    from graph.db import create_engine, create_session_factory

    settings = _settings(args)
    as_of = None
    if args.as_of:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            raise ConfigurationError([f"--as-of: {args.as_of!r} is not an ISO 8601 date or time"]) from None
        as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)

    async def run() -> dict[str, int]:
        engine = create_engine(settings)
        try:
            result = await sweep(create_session_factory(engine), as_of, RuleConfig.from_settings(settings))
        finally:
            await engine.dispose()
        return result.as_dict()

    print(json.dumps(asyncio.run(run())))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Print a report as CSV (graph/crm/csv_export.py), computed as the system (admin) principal."""
    from graph.access import SYSTEM
    from graph.crm.csv_export import report_arguments, report_csv
    from graph.db import create_engine, create_session_factory
    from graph.errors import BadInput
    from graph.reader import Reader
    from graph.resolvers.reports import run_report

    settings = _settings(args)
    params: dict[str, str] = {}
    for item in args.arg or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigurationError([f"--arg {item!r}: expected NAME=VALUE, e.g. period=MONTH"])
        params[name] = value

    async def run() -> str:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session:
                arguments = report_arguments(args.name, params)
                report = await run_report(Reader(session, SYSTEM), args.name, arguments)
        finally:
            await engine.dispose()
        return report_csv(args.name, report)

    try:
        sys.stdout.write(asyncio.run(run()))
    except BadInput as exc:
        raise ConfigurationError([exc.message]) from None
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
    serve.add_argument(
        "--demo", action="store_true", help="migrate, and load demo data into an empty database"
    )
    serve.add_argument("--customers", type=int, default=200, help="demo size (with --demo)")
    serve.add_argument("--seed", type=int, default=7, help="demo random seed (with --demo)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1: one process)")
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-config", help="validate the configuration and print it (secrets redacted)")
    database(check)
    check.add_argument("--host", help="bind address (PARTNERGRAPH_HOST)")
    check.add_argument("--port", type=int, help="port (PARTNERGRAPH_PORT)")
    check.set_defaults(func=cmd_check_config)

    dump = sub.add_parser("export", help="write all data as a versioned JSON Lines file")
    database(dump)
    dump.add_argument("--output", "-o", default="-", help="file, or - for stdout (default)")
    dump.set_defaults(func=cmd_export)

    load = sub.add_parser("import", help="load an export into an empty, migrated database")
    database(load)
    load.add_argument("--input", "-i", default="-", help="file, or - for stdin (default)")
    load.set_defaults(func=cmd_import)

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

    hooks = sub.add_parser("webhooks", help="deliver webhooks")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    hooks_run = hooks_sub.add_parser("run", help="run a delivery worker until stopped (SIGINT/SIGTERM)")
    database(hooks_run)
    hooks_run.set_defaults(func=cmd_webhooks_run)

    warnings = sub.add_parser("warnings", help="early warnings")
    warnings_sub = warnings.add_subparsers(dest="warnings_command", required=True)
    warnings_sweep = warnings_sub.add_parser("sweep", help="evaluate every early-warning rule once and exit")
    database(warnings_sweep)
    warnings_sweep.add_argument("--as-of", help="evaluate at this ISO 8601 time, UTC unless given (default: now)")
    warnings_sweep.set_defaults(func=cmd_warnings_sweep)

    report = sub.add_parser("report", help="print a report as CSV (the same figures as GET /reports/<name>.csv)")
    database(report)
    report.add_argument(
        "name", choices=["sales-dynamics", "complaint-analysis", "credit-analysis", "customer-financials"]
    )
    report.add_argument(
        "--arg", action="append", metavar="NAME=VALUE", help="a report argument, e.g. period=MONTH (repeatable)"
    )
    report.add_argument("--format", choices=["csv"], default="csv", help="output format (CSV, RFC 4180)")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="file, or - for stdout")
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
