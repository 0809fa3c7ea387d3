"""Export every table to a versioned JSON Lines file, and import one into an empty database.

The file is the way to move a PartnerGraph between machines and between backends (SQLite to
PostgreSQL, and back). Its lines, in order:

    {"format": "partnergraph-export", "version": 1, "schema_revision": "0002_security",
     "exported_at": "2025-01-01T00:00:00+00:00", "tables": ["audit_events", "organizations", …]}
    {"table": "organizations", "row": {"id": 1, "name": "…", "credit_limit": "250000.0000", …}}
    …                                               one line per row, parents before children
    {"end": "partnergraph-export", "counts": {"audit_events": 0, "organizations": 20, …}}

Values are converted by their column types, so they read back exactly on either backend:
exact decimals as strings, timestamps as ISO 8601 with their UTC offset, dates as ISO dates,
enums as their values, JSON as JSON and NULL as null. (A JSON column's SQL NULL and JSON null
both read as null; they are imported as SQL NULL.)

Both directions stream: rows are read in batches from a server-side cursor and written in
executemany batches, all inside one transaction on import. An import refuses, before it writes
anything, a file of another format or version, a database that is not at the file's schema
revision, and a database that already holds data; a file that turns out to be damaged part-way
rolls the whole import back.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import graph.models  # noqa: F401 - registers every table on Base.metadata
from graph.migrate import head_revision
from graph.models.base import Base, ExactDecimal, UTCDateTime
from graph.seed import reset_sequences

FORMAT = "partnergraph-export"
VERSION = 1
BATCH_ROWS = 1000

__all__ = [
    "BATCH_ROWS",
    "FORMAT",
    "VERSION",
    "ExportError",
    "ImportRefused",
    "PortabilityError",
    "export_database",
    "import_database",
]


class PortabilityError(Exception):
    """An export or import that could not be done; an import that raises wrote nothing."""


class ImportRefused(PortabilityError):
    """The file or the target database is not one we import into (checked before writing)."""


class ExportError(PortabilityError):
    """The database holds something the export format cannot represent."""


# ---------------------------------------------------------------------------------------------
# Value conversion, by column type
# ---------------------------------------------------------------------------------------------

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _encode_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ExportError(f"naive timestamp {value!r}: PartnerGraph stores timezone-aware times")
    return value.isoformat()


def _decode_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _decode_decimal(value: str) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"decimal {value!r} must be a string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None


def _encode_enum(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _codec(column: sa.Column) -> tuple[Encode, Decode]:
    """How one column's Python values become JSON values and back."""
    kind = column.type
    # Order matters: Enum is a String, the project's TypeDecorators wrap Numeric and DateTime.
    if isinstance(kind, ExactDecimal):
        return str, _decode_decimal
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return _encode_datetime, _decode_datetime
    if isinstance(kind, sa.Enum):
        enum_class = kind.enum_class
        return _encode_enum, (enum_class if enum_class is not None else _same)
    if isinstance(kind, sa.JSON):
        return _same, _same
    if isinstance(kind, sa.Date):
        return date.isoformat, date.fromisoformat
    if isinstance(kind, sa.Boolean | sa.Integer | sa.String):
        return _same, _same
    raise ExportError(
        f"{column.table.name}.{column.name}: no export format for column type {kind!r} "
        "(add one to graph/portability.py)"
    )


@dataclass(frozen=True)
class _TableCodec:
    table: sa.Table
    columns: tuple[tuple[str, Encode, Decode, bool], ...]  # name, encode, decode, is JSON

    @classmethod
    def of(cls, table: sa.Table) -> _TableCodec:
        columns = []
        for column in table.c:
            encode, decode = _codec(column)
            columns.append((column.name, encode, decode, isinstance(column.type, sa.JSON)))
        return cls(table, tuple(columns))

    def encode(self, row: sa.Row) -> dict[str, Any]:
        values = row._mapping
        return {
            name: None if (value := values[name]) is None else encode(value)
            for name, encode, _decode, _json in self.columns
        }

    def decode(self, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise ValueError("a row must be a JSON object")
        expected = {name for name, *_ in self.columns}
        if set(row) != expected:
            missing, unknown = sorted(expected - set(row)), sorted(set(row) - expected)
            raise ValueError(f"columns differ from the table's (missing {missing}, unknown {unknown})")
        decoded = {}
        for name, _encode, decode, is_json in self.columns:
            value = row[name]
            if value is None:
                # sa.null(): SQL NULL even in a JSON column (plain None would be JSON 'null').
                decoded[name] = sa.null() if is_json else None
            else:
                try:
                    decoded[name] = decode(value)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"column {name}: {exc}") from None
        return decoded


def _tables() -> list[sa.Table]:
    """Every table, parents before children."""
    return list(Base.metadata.sorted_tables)


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


async def export_database(engine: AsyncEngine, out: TextIO, *, now: datetime | None = None) -> dict[str, int]:
    """Write every row of every table to `out` as a JSON Lines export; return the row counts.

    On PostgreSQL the rows come from one REPEATABLE READ snapshot, so a running server may
    keep writing. (On SQLite, stop writers while exporting.)
    """
    tables = _tables()
    codecs = [_TableCodec.of(table) for table in tables]  # fails before writing on unknown types
    header = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": head_revision(),
        "exported_at": (now or datetime.now(UTC)).isoformat(),
        "tables": [table.name for table in tables],
    }
    counts: dict[str, int] = {}
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with conn.begin():
            await _check_revision(conn, header["schema_revision"], exporting=True)
            out.write(_dumps(header))
            for codec in codecs:
                counts[codec.table.name] = await _export_table(conn, codec, out)
    out.write(_dumps({"end": FORMAT, "counts": counts}))
    out.flush()
    return counts


async def _export_table(conn: AsyncConnection, codec: _TableCodec, out: TextIO) -> int:
    table = codec.table
    order = list(table.primary_key.columns) or list(table.c)
    result = await conn.stream(sa.select(table).order_by(*order), execution_options={"yield_per": BATCH_ROWS})
    count = 0
    async for batch in result.partitions():
        out.writelines(_dumps({"table": table.name, "row": codec.encode(row)}) for row in batch)
        count += len(batch)
    return count


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


async def import_database(engine: AsyncEngine, lines: Iterable[str]) -> dict[str, int]:
    """Load an export into the empty, migrated database behind `engine`; return the row counts.

    Raises ImportRefused (nothing written) for a file or database we do not import into, and
    PortabilityError (rolled back, nothing written) for a file damaged part-way.
    """
    numbered = _numbered(lines)
    header = _read_header(numbered)
    tables = _tables()
    by_name = {table.name: index for index, table in enumerate(tables)}
    codecs = [_TableCodec.of(table) for table in tables]

    async with engine.connect() as conn, conn.begin():
        await _check_revision(conn, header["schema_revision"], exporting=False)
        await _check_empty(conn, tables)
        counts = await _import_rows(conn, numbered, codecs, by_name)
        for table in tables:
            stored = (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
            if stored != counts[table.name]:
                raise PortabilityError(
                    f"{table.name}: {counts[table.name]} rows read but {stored} stored; nothing was imported"
                )
        await reset_sequences(conn)
    return counts


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) of each non-blank line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise PortabilityError(f"line {number}: not JSON ({exc.msg}); nothing was imported") from None


def _read_header(numbered: Iterator[tuple[int, Any]]) -> dict[str, Any]:
    first = next(numbered, None)
    if first is None:
        raise ImportRefused("the input is empty: expected a PartnerGraph export (partnergraph export)")
    _number, header = first
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ImportRefused(f"not a PartnerGraph export: the first line must be a {FORMAT!r} header")
    if header.get("version") != VERSION:
        raise ImportRefused(
            f"export format version {header.get('version')!r} is not supported "
            f"(this PartnerGraph reads version {VERSION})"
        )
    known = [table.name for table in _tables()]
    if sorted(header.get("tables") or []) != sorted(known):
        raise ImportRefused(
            f"the export's tables {header.get('tables')!r} are not this schema's tables {known!r}"
        )
    return header


async def _check_revision(conn: AsyncConnection, file_revision: str | None, *, exporting: bool) -> None:
    """The database, the file and this package must all be at the same schema revision."""
    current = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    head = head_revision()
    if current is None:
        if exporting:
            raise ExportError("the database has no PartnerGraph schema (it was never migrated)")
        raise ImportRefused(
            "the database has no PartnerGraph schema yet: run `partnergraph migrate` against it first, "
            "then import"
        )
    if current != head:
        raise (ExportError if exporting else ImportRefused)(
            f"the database is at schema revision {current}, this PartnerGraph at {head}: "
            "run `partnergraph migrate` first"
        )
    if file_revision != head:
        raise ImportRefused(
            f"the export was made at schema revision {file_revision!r}, the database is at {head!r}: "
            "import it with the PartnerGraph version that made it, then migrate and export again"
        )


async def _check_empty(conn: AsyncConnection, tables: list[sa.Table]) -> None:
    holding = []
    for table in tables:
        if (await conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1))).first() is not None:
            holding.append(table.name)
    if holding:
        raise ImportRefused(
            f"the database already holds data (in {', '.join(holding)}): import only into an empty, "
            "migrated database"
        )


async def _import_rows(
    conn: AsyncConnection,
    numbered: Iterator[tuple[int, Any]],
    codecs: list[_TableCodec],
    by_name: dict[str, int],
) -> dict[str, int]:
    counts = {codec.table.name: 0 for codec in codecs}
    current = 0  # index of the table being loaded: tables only ever move forward
    batch: list[dict[str, Any]] = []

    async def flush() -> None:
        if batch:
            await conn.execute(sa.insert(codecs[current].table), batch)
            batch.clear()

    for number, line in numbered:
        if isinstance(line, dict) and line.get("end") == FORMAT:
            await flush()
            _check_trailer(number, line, counts)
            if (extra := next(numbered, None)) is not None:
                raise PortabilityError(
                    f"line {extra[0]}: data after the end of the export; nothing was imported"
                )
            return counts
        if not isinstance(line, dict) or set(line) != {"table", "row"}:
            raise PortabilityError(
                f'line {number}: expected {{"table": …, "row": {{…}}}}; nothing was imported'
            )
        index = by_name.get(line["table"])
        if index is None:
            raise PortabilityError(f"line {number}: unknown table {line['table']!r}; nothing was imported")
        if index < current:
            raise PortabilityError(
                f"line {number}: a {line['table']} row after rows of {codecs[current].table.name} "
                "(rows must come parents first); nothing was imported"
            )
        if index != current:
            await flush()
            current = index
        try:
            batch.append(codecs[index].decode(line["row"]))
        except ValueError as exc:
            raise PortabilityError(f"line {number}: {line['table']}: {exc}; nothing was imported") from None
        counts[line["table"]] += 1
        if len(batch) >= BATCH_ROWS:
            await flush()
    raise PortabilityError("the export ends without its trailer line (truncated?); nothing was imported")


def _check_trailer(number: int, trailer: dict[str, Any], counts: dict[str, int]) -> None:
    expected = trailer.get("counts")
    if not isinstance(expected, dict) or expected != counts:
        differ = (
            sorted(name for name in set(counts) | set(expected) if counts.get(name) != expected.get(name))
            if isinstance(expected, dict)
            else "all"
        )
        raise PortabilityError(
            f"line {number}: the trailer's row counts do not match the rows in the file (tables: {differ}); "
            "nothing was imported"
        )
