"""The hand-written baseline: raw SQL and JSON for scenarios 1–3, no GraphQL, no ORM.

    BENCH_RAW_DATABASE_URL=... python -m bench.raw_serve --port 8001 --workers 2

It answers with the same JSON as PartnerGraph's `data` for the portal page (as the customer's
API key: the key is checked, suppliers stay hidden, visits are left out, like the product's
rules), the node lookup and the order list, doing the minimum SQL a careful hand would write:
one statement per list, the count folded into the orders' statement. `x-sql-statements` says
how many statements a response took (the key lookup not counted, as in the product).
Not part of the product: it exists to turn "GraphQL costs something" into a ratio.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

KINDS = {
    "service_request": "ServiceRequest",
    "complaint": "Complaint",
    "quality_objection": "QualityObjection",
    "visit": "Visit",
    "satisfaction_survey": "SatisfactionSurvey",
}


class Database:
    """`fetch(sql, *args)` with `?` placeholders on both drivers; `many(n)` expands an IN list."""

    def __init__(self, url: str, size: int) -> None:
        self.pg = url.startswith("postgresql")
        self.url = url
        self.size = size

    async def open(self) -> None:
        if self.pg:
            import asyncpg

            dsn = self.url.replace("postgresql+asyncpg://", "postgresql://")
            self.pool = await asyncpg.create_pool(dsn, min_size=self.size, max_size=self.size)
        else:
            import aiosqlite

            path = self.url.split(":///", 1)[1]
            self.queue: asyncio.Queue = asyncio.Queue()
            for _ in range(self.size):
                conn = await aiosqlite.connect(path)
                await conn.execute("PRAGMA busy_timeout = 5000")
                self.queue.put_nowait(conn)

    async def close(self) -> None:
        if self.pg:
            await self.pool.close()
        else:
            while not self.queue.empty():
                await self.queue.get_nowait().close()

    def sql(self, text: str) -> str:
        if not self.pg:
            return text
        parts = text.split("?")
        return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))

    async def fetch(self, text: str, *args: Any) -> list[Any]:
        if self.pg:
            async with self.pool.acquire() as conn:
                return await conn.fetch(self.sql(text), *args)
        conn = await self.queue.get()
        try:
            async with conn.execute(text, args) as cursor:
                return list(await cursor.fetchall())
        finally:
            self.queue.put_nowait(conn)

    def many(self, n: int) -> str:
        return ", ".join("?" * n)

    # -- values as the product renders them --------------------------------------------------

    def money(self, value: Any) -> str | None:
        if value is None:
            return None
        if self.pg:
            return str(Decimal(value).quantize(Decimal("0.0001")))
        return str((Decimal(int(value)) / 10000).quantize(Decimal("0.0001")))

    def quantity(self, value: Any) -> str:
        if self.pg:
            return str(Decimal(value).quantize(Decimal("0.001")))
        return str((Decimal(int(value)) / 1000).quantize(Decimal("0.001")))

    def time(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()

    def day(self, value: Any) -> str | None:
        if value is None:
            return None
        return value if isinstance(value, str) else value.isoformat()

    def boolean(self, value: Any) -> bool:
        return bool(value)

    def links(self, value: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value
        return json.loads(value)


def global_id(type_name: str, record_id: int) -> str:
    return base64.b64encode(f"{type_name}:{record_id}".encode()).decode()


def cursor(sort: str, value: str, record_id: int) -> str:
    raw = json.dumps(["k1", sort, value, record_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[str, int]:
    _, _, sort_value, record_id = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return sort_value, record_id


def respond(data: Any, statements: int, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":"))
    return Response(
        body, status, media_type="application/json", headers={"x-sql-statements": str(statements)}
    )


def unauthorized() -> Response:
    return respond({"errors": [{"message": "Unauthorized"}]}, 0, 401)


async def principal(db: Database, request: Request) -> Any:
    """The API key's row (role, organization), or None: one indexed lookup, like the product's."""
    credential = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not credential.startswith("pgk_"):
        return None
    prefix = credential[4:].split("_", 1)[0]
    rows = await db.fetch(
        "SELECT secret_hash, role, organization_id, revoked_at, expires_at FROM api_keys WHERE prefix = ?",
        prefix,
    )
    if not rows or rows[0][3] is not None or rows[0][0] != hashlib.sha256(credential.encode()).hexdigest():
        return None
    return rows[0]


async def portal(request: Request) -> Response:
    db: Database = request.app.state.db
    key = await principal(db, request)
    if key is None or key[1] != "customer":
        return unauthorized()
    org_id = key[2]
    orgs = await db.fetch(
        "SELECT id, name, is_customer, is_supplier, is_distributor FROM organizations"
        " WHERE id = ? AND is_customer AND archived_at IS NULL",
        org_id,
    )
    contacts = await db.fetch(
        "SELECT name, title, is_primary, email FROM contacts WHERE organization_id = ? AND archived_at IS NULL"
        " ORDER BY name, id LIMIT 5",
        org_id,
    )
    orders = await db.fetch(
        "SELECT id, number, status, placed_at, promised_date, total_amount, currency, COUNT(*) OVER () FROM orders"
        " WHERE customer_id = ? AND archived_at IS NULL ORDER BY placed_at DESC, id DESC LIMIT 21",
        org_id,
    )
    page, has_next = orders[:20], len(orders) > 20
    ids = [o[0] for o in page]
    lines: dict[int, list] = {i: [] for i in ids}
    shipments: dict[int, list] = {i: [] for i in ids}
    statements = 4  # organization, contacts, orders (with their count), service records
    if ids:
        for row in await db.fetch(
            "SELECT l.order_id, l.line_number, l.quantity, l.unit_price, l.line_total, p.sku, p.name"
            " FROM order_lines l JOIN products p ON p.id = l.product_id"
            f" WHERE l.order_id IN ({db.many(len(ids))}) AND l.archived_at IS NULL ORDER BY l.order_id, l.line_number",
            *ids,
        ):
            lines[row[0]].append(row)
        for row in await db.fetch(
            "SELECT order_id, carrier, tracking_number, status, expected_at, delivered_at FROM shipments"
            f" WHERE order_id IN ({db.many(len(ids))}) AND archived_at IS NULL ORDER BY order_id, created_at, id",
            *ids,
        ):
            shipments[row[0]].append(row)
        statements += 2
    records = await db.fetch(
        "SELECT s.kind, s.title, s.status, s.opened_at, s.severity, p.sku, s.evidence_links, s.planned_at, s.purpose"
        " FROM service_records s LEFT JOIN products p ON p.id = s.product_id"
        " WHERE s.organization_id = ? AND s.status IN ('open', 'in_progress') AND s.kind != 'visit'"
        " AND s.archived_at IS NULL ORDER BY s.opened_at DESC, s.id DESC LIMIT 10",
        org_id,
    )
    if not orgs:
        return respond({"data": {"organizations": {"edges": []}}}, statements)
    org = orgs[0]
    roles = [
        name for name, flag in (("CUSTOMER", org[2]), ("SUPPLIER", org[3]), ("DISTRIBUTOR", org[4])) if flag
    ]

    def record(r: Any) -> dict[str, Any]:
        node: dict[str, Any] = {
            "__typename": KINDS[r[0]],
            "title": r[1],
            "status": r[2].upper(),
            "openedAt": db.time(r[3]),
        }
        if r[0] == "quality_objection":
            node.update(
                severity=r[4].upper() if r[4] else None,
                product={"sku": r[5]} if r[5] else None,
                evidenceLinks=db.links(r[6]),
            )
        elif r[0] == "visit":
            node.update(plannedAt=db.time(r[7]), purpose=r[8])
        return {"node": node}

    last = page[-1] if page else None
    data = {
        "organizations": {
            "edges": [
                {
                    "node": {
                        "id": global_id("Organization", org[0]),
                        "name": org[1],
                        "roles": roles,
                        "contacts": {
                            "edges": [
                                {
                                    "node": {
                                        "name": c[0],
                                        "title": c[1],
                                        "isPrimary": db.boolean(c[2]),
                                        "email": c[3],
                                    }
                                }
                                for c in contacts
                            ]
                        },
                        "orders": {
                            "totalCount": orders[0][7] if orders else 0,
                            "pageInfo": {
                                "hasNextPage": has_next,
                                "endCursor": cursor("placed_at", db.time(last[3]), last[0]) if last else None,
                            },
                            "edges": [
                                {
                                    "node": {
                                        "number": o[1],
                                        "status": o[2].upper(),
                                        "placedAt": db.time(o[3]),
                                        "promisedDate": db.day(o[4]),
                                        "total": {"amount": db.money(o[5]), "currency": o[6]},
                                        "lines": {
                                            "edges": [
                                                {
                                                    "node": {
                                                        "lineNumber": line[1],
                                                        "quantity": db.quantity(line[2]),
                                                        "unitPrice": {"amount": db.money(line[3])},
                                                        "lineTotal": {"amount": db.money(line[4])},
                                                        "product": {"sku": line[5], "name": line[6]},
                                                        "supplier": None,  # a customer does not see its suppliers
                                                    }
                                                }
                                                for line in lines[o[0]]
                                            ]
                                        },
                                        "shipments": {
                                            "edges": [
                                                {
                                                    "node": {
                                                        "carrier": s[1],
                                                        "trackingNumber": s[2],
                                                        "status": s[3].upper(),
                                                        "expectedAt": db.time(s[4]),
                                                        "deliveredAt": db.time(s[5]),
                                                    }
                                                }
                                                for s in shipments[o[0]]
                                            ]
                                        },
                                    }
                                }
                                for o in page
                            ],
                        },
                        "serviceRecords": {"edges": [record(r) for r in records]},
                    }
                }
            ]
        }
    }
    return respond({"data": data}, statements)


async def node(request: Request) -> Response:
    db: Database = request.app.state.db
    key = await principal(db, request)
    if key is None or key[1] != "admin":
        return unauthorized()
    try:
        type_name, record_id = base64.b64decode(request.path_params["id"]).decode().split(":")
        record_id = int(record_id)
    except ValueError:
        return respond({"data": {"node": None}}, 0)
    if type_name != "Order":
        return respond({"data": {"node": None}}, 0)
    rows = await db.fetch(
        "SELECT o.id, o.number, o.status, c.name FROM orders o LEFT JOIN organizations c ON c.id = o.customer_id"
        " WHERE o.id = ?",
        record_id,
    )
    if not rows:
        return respond({"data": {"node": None}}, 1)
    o = rows[0]
    node = {
        "id": global_id("Order", o[0]),
        "number": o[1],
        "status": o[2].upper(),
        "customer": {"name": o[3]},
    }
    return respond({"data": {"node": node}}, 1)


async def order_list(request: Request) -> Response:
    db: Database = request.app.state.db
    key = await principal(db, request)
    if key is None or key[1] != "admin":
        return unauthorized()
    statuses = [s.lower() for s in request.query_params.get("status", "").split(",") if s]
    size = int(request.query_params.get("first", "50"))
    after = request.query_params.get("after")
    conditions, args = ["o.archived_at IS NULL"], []
    if statuses:
        conditions.append(f"o.status IN ({db.many(len(statuses))})")
        args += statuses
    if after:
        value, record_id = decode_cursor(after)
        moment = datetime.fromisoformat(value)
        if not db.pg:  # SQLite keeps naive UTC text in SQLAlchemy's format
            moment = moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        conditions.append("(o.placed_at, o.id) < (?, ?)")
        args += [moment, record_id]
    rows = await db.fetch(
        "SELECT o.id, o.number, o.status, o.placed_at, o.total_amount, o.currency, c.name, c.region"
        " FROM orders o JOIN organizations c ON c.id = o.customer_id"
        f" WHERE {' AND '.join(conditions)} ORDER BY o.placed_at DESC, o.id DESC LIMIT {size + 1}",
        *args,
    )
    page = rows[:size]
    last = page[-1] if page else None
    data = {
        "orders": {
            "pageInfo": {
                "hasNextPage": len(rows) > size,
                "endCursor": cursor("placed_at", db.time(last[3]), last[0]) if last else None,
            },
            "edges": [
                {
                    "node": {
                        "number": o[1],
                        "status": o[2].upper(),
                        "placedAt": db.time(o[3]),
                        "total": {"amount": db.money(o[4]), "currency": o[5]},
                        "customer": {"name": o[6], "region": o[7]},
                    }
                }
                for o in page
            ],
        }
    }
    return respond({"data": data}, 1)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.db = Database(
        os.environ["BENCH_RAW_DATABASE_URL"], int(os.environ.get("BENCH_RAW_POOL_SIZE", "8"))
    )
    await app.state.db.open()
    yield
    await app.state.db.close()


app = Starlette(
    routes=[
        Route("/portal", portal, methods=["GET", "POST"]),
        Route("/node/{id}", node),
        Route("/orders", order_list),
        Route("/healthz", lambda _: Response("ok")),
    ],
    lifespan=lifespan,
)
