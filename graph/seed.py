"""A coherent, deterministic demo dataset: a year of a supply-chain CRM.

`seed_demo(engine, customers=N, seed=S, now=T)` fills an empty database with customers,
suppliers and distributors, their addresses, contacts, contracts and account owners, a
product catalogue with the suppliers behind it, a year of orders with lines and shipments,
service records and interactions. The same (N, S, T) always produces the same rows, byte for
byte, on SQLite and on PostgreSQL.

How it works: `build_demo_data` is pure Python. It draws from `random.Random` streams derived
from the seed — one per table, so changing how interactions are generated never reshuffles the
orders — assigns explicit integer ids, and returns plain row dicts. `seed_demo` then writes them
with set-based `INSERT ... executemany` in chunks, in one transaction, parents before children.

The data tells a story the rest of the product can show: tiers drive order volume and visits,
each customer orders with its own rhythm (and some have lapsed), order and shipment statuses
follow from their dates relative to `now`, some shipments are late or lost, a few customers'
complaints are rising, and reps who left the company handed their accounts over. Web and e-mail
domains use the reserved `.example` TLD so the demo never points at a real company.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import JSON, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from graph import seed_relationship
from graph import seed_words as words
from graph.models import Base
from graph.models import contracts as mc
from graph.models import interactions as mi
from graph.models import orders as mo
from graph.models import organizations as morg
from graph.models import people as mp
from graph.models import products as mpr
from graph.models import service as ms
from graph.seed_crm import seed_crm
from graph.seed_warnings import seed_warnings

__all__ = ["SeedError", "SeedSummary", "build_demo_data", "reset_sequences", "seed_demo"]

_T = TypeVar("_T")

MIN_CUSTOMERS = 10
_CHUNK_ROWS = 1000

# Parents before children, so foreign keys hold at every statement (SQLite checks them eagerly).
SEEDED_TABLES: tuple[Table, ...] = (
    morg.Organization.__table__,
    mp.User.__table__,
    morg.Address.__table__,
    morg.DistributorCoverage.__table__,
    mp.AccountOwnership.__table__,
    mp.Contact.__table__,
    mc.Contract.__table__,
    mpr.Product.__table__,
    mpr.SupplierProduct.__table__,
    mo.Order.__table__,
    mo.OrderLine.__table__,
    mo.Shipment.__table__,
    ms.ServiceRecord.__table__,
    mi.Interaction.__table__,
)

_CENT = Decimal("0.01")
_MILLI = Decimal("0.001")
_LINE_TOTAL_SCALE = Decimal("0.0001")  # Money's scale: line totals and order totals are exact at it


class SeedError(RuntimeError):
    """The demo data cannot be written (the database is not empty, or the arguments are wrong)."""


@dataclass(frozen=True)
class SeedSummary:
    """How many rows `seed_demo` wrote per table, and how many organizations hold each role."""

    organizations: int
    users: int
    addresses: int
    distributor_coverage: int
    account_ownerships: int
    contacts: int
    contracts: int
    products: int
    supplier_products: int
    orders: int
    order_lines: int
    shipments: int
    service_records: int
    interactions: int
    customers: int
    suppliers: int
    distributors: int

    @property
    def total_rows(self) -> int:
        return sum(getattr(self, table.name) for table in SEEDED_TABLES)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


async def seed_demo(
    session_or_engine: AsyncEngine | AsyncConnection | AsyncSession,
    *,
    customers: int = 200,
    seed: int = 7,
    now: datetime | None = None,
) -> SeedSummary:
    """Fill an empty database with demo data for `customers` customers and return the counts.

    With an engine, the rows are written and committed in one transaction of their own. With
    a connection or a session, they are written inside its (current or new) transaction and
    the caller commits. `now` (timezone-aware; default: today 00:00 UTC) is the end of the
    generated year: the same arguments always produce the same rows.
    """
    data = build_demo_data(customers=customers, seed=seed, now=now)
    if isinstance(session_or_engine, AsyncEngine):
        async with session_or_engine.begin() as conn:
            await _write(conn, data)
    elif isinstance(session_or_engine, AsyncSession):
        await _write(await session_or_engine.connection(), data)
    elif isinstance(session_or_engine, AsyncConnection):
        if session_or_engine.in_transaction():
            await _write(session_or_engine, data)
        else:
            async with session_or_engine.begin():
                await _write(session_or_engine, data)
    else:
        raise TypeError(
            f"seed_demo needs an AsyncEngine, AsyncConnection or AsyncSession, not {session_or_engine!r}"
        )
    await seed_warnings(session_or_engine, now)  # early warnings the rules find at `now`
    return _summary(data)


async def reset_sequences(conn: AsyncConnection, tables: Iterable[Table] | None = None) -> None:
    """Move each table's id sequence past its largest id (PostgreSQL only; a no-op elsewhere).

    Needed after rows were inserted with explicit ids, which bypass the sequence: the next
    ordinary insert would otherwise collide with id 1. Empty tables restart at 1. By default
    every table of the metadata with an `id` column is reset.
    """
    if conn.dialect.name != "postgresql":
        return
    if tables is None:
        tables = [table for table in Base.metadata.sorted_tables if "id" in table.c]
    preparer = conn.dialect.identifier_preparer
    for table in tables:
        quoted = preparer.format_table(table)
        await conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {quoted}), 1),"
                f" (SELECT MAX(id) FROM {quoted}) IS NOT NULL)"
            ),
            {"table": quoted},
        )


def build_demo_data(
    *, customers: int = 200, seed: int = 7, now: datetime | None = None
) -> dict[str, list[dict]]:
    """The demo rows, by table name, ids assigned, ready for `insert(table)` — no database needed."""
    if customers < MIN_CUSTOMERS:
        raise SeedError(f"customers must be at least {MIN_CUSTOMERS}, got {customers}")
    if now is None:
        today = datetime.now(UTC).date()
        now = datetime.combine(today, time(), UTC)
    elif now.tzinfo is None:
        raise SeedError("now must be timezone-aware (PartnerGraph stores UTC times)")
    return _DemoBuilder(customers=customers, seed=seed, now=now.astimezone(UTC)).build()


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


async def _write(conn: AsyncConnection, data: dict[str, list[dict]]) -> None:
    organizations = morg.Organization.__table__
    existing = (await conn.execute(select(organizations.c.id).limit(1))).first()
    if existing is not None:
        raise SeedError(
            "the database already has organizations; seed_demo only fills an empty database "
            "(create a fresh one and run the migrations first)"
        )
    for table in SEEDED_TABLES:
        await _insert_rows(conn, table, data[table.name])
    await reset_sequences(conn, SEEDED_TABLES)
    await seed_crm(conn, data)  # CRM plans, targets and histories (graph/seed_crm.py)
    await seed_relationship.write_relationship_demo(conn, data)  # campaigns, opportunities


async def _insert_rows(conn: AsyncConnection, table: Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        # One executemany needs one set of keys. Rows differ only where a JSON column is left
        # out to be stored as SQL NULL (a None value would be stored as the JSON text 'null').
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in chunk:
            groups.setdefault(tuple(sorted(row)), []).append(row)
        for group in groups.values():
            await conn.execute(insert(table), group)


def _summary(data: dict[str, list[dict]]) -> SeedSummary:
    orgs = data["organizations"]
    return SeedSummary(
        **{table.name: len(data[table.name]) for table in SEEDED_TABLES},
        customers=sum(1 for o in orgs if o["is_customer"]),
        suppliers=sum(1 for o in orgs if o["is_supplier"]),
        distributors=sum(1 for o in orgs if o["is_distributor"]),
    )


def _complete(table: Table, rows: list[dict]) -> None:
    """Check each row against its table and fill the optional columns left out with None.

    Catches a misspelt key here rather than as an obscure driver error. JSON columns stay out
    of the row when empty, so that they become SQL NULL.
    """
    columns = table.c
    for row in rows:
        unknown = row.keys() - columns.keys()
        if unknown:
            raise SeedError(f"{table.name}: unknown columns {sorted(unknown)}")
        for column in columns:
            if column.name in row:
                if row[column.name] is None and isinstance(column.type, JSON):
                    del row[column.name]
                continue
            if not column.nullable:
                raise SeedError(f"{table.name}: row without a value for {column.name}")
            if not isinstance(column.type, JSON):
                row[column.name] = None


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _money(value: float) -> Decimal:
    return Decimal(round(value * 100)).scaleb(-2).quantize(_CENT)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: exact and deterministic for the small means used here."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(seconds)) if seconds > 0 else start


def _office_time(rng: random.Random, day: date) -> datetime:
    """A moment in Chinese office hours (09:00–18:00 UTC+8, i.e. 01:00–10:00 UTC) on a weekday."""
    if day.weekday() >= 5:
        day -= timedelta(days=day.weekday() - 4)  # weekend work slides back to Friday
    return datetime.combine(day, time(1), UTC) + timedelta(seconds=rng.randrange(9 * 3600))


def _record(
    created_at: datetime, updated_at: datetime | None = None, archived_at: datetime | None = None
) -> dict:
    return {
        "created_at": created_at,
        "updated_at": updated_at or created_at,
        "version": 1,
        "archived_at": archived_at,
    }


def _quota(rng: random.Random, n: int, shares: Sequence[tuple[_T, float]]) -> list[_T]:
    """n items in the given shares (each share at least one item), shuffled: exact proportions
    even for small n, where independent draws would easily leave a role or tier out."""
    counts = [max(1, round(n * share)) for _, share in shares]
    largest = counts.index(max(counts))
    counts[largest] += n - sum(counts)
    items = [value for (value, _), count in zip(shares, counts, strict=True) for _ in range(count)]
    rng.shuffle(items)
    return items


def _sorted_with_ids(rows: list[dict], key: str) -> list[dict]:
    """Number rows 1..n in time order, as an auto-increment would have."""
    rows.sort(key=lambda row: row[key])
    for number, row in enumerate(rows, start=1):
        row["id"] = number
    return rows


# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------


@dataclass
class _Org:
    """What the builder needs to know about an organization beyond its row."""

    kind: str  # customer / supplier / distributor: the role it was generated for
    region: str
    city: words.City
    created_at: datetime
    name: str = ""
    legal_name: str = ""
    domain: str = ""
    english: bool = False
    is_customer: bool = False
    is_supplier: bool = False
    is_distributor: bool = False
    status: morg.OrganizationStatus = morg.OrganizationStatus.ACTIVE
    status_changed_at: datetime | None = None
    tier: morg.CustomerTier | None = None
    family: int | None = None  # product family a supplier specialises in
    id: int = 0
    contacts: list[tuple[int, datetime]] = field(default_factory=list)  # active (id, created), primary first
    owners: list[tuple[int, datetime, datetime | None]] = field(default_factory=list)
    distributor_id: int | None = None
    rhythm: str = ""
    basket: list[int] = field(default_factory=list)  # product indexes it usually orders
    troubled: bool = False  # complaints rising lately
    orders: list[_Order] = field(default_factory=list)

    def until(self, now: datetime) -> datetime:
        """The end of the relationship's activity: archiving, or now."""
        archived = self.status is morg.OrganizationStatus.ARCHIVED
        return self.status_changed_at if archived and self.status_changed_at else now

    def owner_at(self, moment: datetime) -> int:
        for user_id, start, end in self.owners:
            if start <= moment and (end is None or moment < end):
                return user_id
        return self.owners[0][0] if moment < self.owners[0][1] else self.owners[-1][0]


@dataclass
class _Product:
    index: int
    name: str
    unit: str
    list_price: Decimal
    cost: Decimal
    family: int
    discontinued_on: date | None
    created_at: datetime
    suppliers: list[int] = field(default_factory=list)  # supplier org ids, preferred first


@dataclass
class _Order:
    customer: _Org
    placed_at: datetime
    distributor_id: int | None
    source: mo.OrderSource
    lines: list[dict]
    status: mo.OrderStatus = mo.OrderStatus.DRAFT
    updated_at: datetime | None = None
    requested_date: date | None = None
    promised_date: date | None = None
    notes: str | None = None
    shipments: list[dict] = field(default_factory=list)
    delivered_at: datetime | None = None
    late: bool = False
    id: int = 0
    number: str = ""


# Tier-dependent behaviour: (share of customers, ordering rhythms with weights, mean lines budget
# in CNY, price factor vs list, survey response rate, visits, service requests, complaints,
# quality objections and interactions per year).
_TIER_SHARES = (
    (morg.CustomerTier.STRATEGIC, 0.05),
    (morg.CustomerTier.KEY, 0.15),
    (morg.CustomerTier.GENERAL, 0.50),
    (morg.CustomerTier.POTENTIAL, 0.30),
)
_RHYTHMS = {
    morg.CustomerTier.STRATEGIC: {"weekly": 55, "monthly": 45},
    morg.CustomerTier.KEY: {"weekly": 25, "monthly": 55, "quarterly": 10, "irregular": 5, "lapsed": 5},
    morg.CustomerTier.GENERAL: {"weekly": 8, "monthly": 45, "quarterly": 17, "irregular": 19, "lapsed": 11},
    morg.CustomerTier.POTENTIAL: {"monthly": 10, "quarterly": 20, "irregular": 40, "lapsed": 10, "none": 20},
}
_LINE_BUDGET = {
    morg.CustomerTier.STRATEGIC: 40_000,
    morg.CustomerTier.KEY: 15_000,
    morg.CustomerTier.GENERAL: 5_000,
    morg.CustomerTier.POTENTIAL: 2_000,
}
_PRICE_FACTOR = {
    morg.CustomerTier.STRATEGIC: (0.85, 0.92),
    morg.CustomerTier.KEY: (0.90, 0.95),
    morg.CustomerTier.GENERAL: (0.95, 1.00),
    morg.CustomerTier.POTENTIAL: (0.98, 1.05),
}
_CREDIT_LIMIT = {
    morg.CustomerTier.STRATEGIC: (2_000_000, 10_000_000),
    morg.CustomerTier.KEY: (500_000, 3_000_000),
    morg.CustomerTier.GENERAL: (50_000, 600_000),
    morg.CustomerTier.POTENTIAL: (10_000, 100_000),
}
_CONTRACT_VALUE = _CREDIT_LIMIT
_SERVICE_PER_YEAR = {  # survey response rate per wave, visits, requests, complaints, quality objections
    morg.CustomerTier.STRATEGIC: (0.9, 4.0, 1.5, 1.0, 0.8),
    morg.CustomerTier.KEY: (0.7, 2.5, 1.0, 0.7, 0.5),
    morg.CustomerTier.GENERAL: (0.3, 0.4, 0.5, 0.3, 0.2),
    morg.CustomerTier.POTENTIAL: (0.2, 0.5, 0.2, 0.1, 0.05),
}
_INTERACTIONS_PER_YEAR = {
    morg.CustomerTier.STRATEGIC: 14,
    morg.CustomerTier.KEY: 8,
    morg.CustomerTier.GENERAL: 4.5,
    morg.CustomerTier.POTENTIAL: 3,
}


class _DemoBuilder:
    """Generates the tables in dependency order; each step reads what earlier steps decided."""

    def __init__(self, *, customers: int, seed: int, now: datetime) -> None:
        self.n = customers
        self.seed = seed
        self.now = now
        self.today = now.date()
        self.year_ago = now - timedelta(days=365)
        self.rows: dict[str, list[dict]] = {table.name: [] for table in SEEDED_TABLES}
        self.orgs: list[_Org] = []
        self.customers: list[_Org] = []
        self.suppliers: list[_Org] = []
        self.distributors: list[_Org] = []
        self.users: list[dict] = []
        self.reps: list[dict] = []
        self.active_reps: list[dict] = []
        self.agents: list[dict] = []
        self.products: list[_Product] = []
        self.orders: list[_Order] = []
        self._taken_names: set[str] = set()
        self._taken_domains: set[str] = set()

    def _rng(self, stream: str) -> random.Random:
        # A string seed is hashed with SHA-512: stable across runs and Python processes.
        return random.Random(f"partnergraph:{self.seed}:{stream}")

    def _past(self, moment: datetime) -> datetime:
        """Clamp a generated moment so nothing that has happened lies after `now`."""
        return min(moment, self.now - timedelta(minutes=1))

    def build(self) -> dict[str, list[dict]]:
        self._organizations()
        self._users()
        self._addresses()
        self._coverage()
        self._ownerships()
        self._contacts()
        self._contracts()
        self._products()
        self._supplier_products()
        self._orders()
        self._service_records()
        self._interactions()
        for table in SEEDED_TABLES:
            _complete(table, self.rows[table.name])
        return self.rows

    # -- organizations -----------------------------------------------------------------------

    def _organizations(self) -> None:
        rng = self._rng("organizations")
        n_suppliers = max(5, self.n // 10)
        n_distributors = max(3, self.n // 25)
        # One distributor is also a customer, so N-1 organizations are generated as customers.
        tiers = _quota(rng, self.n - 1, _TIER_SHARES)
        specs: list[_Org] = []
        for tier in tiers:
            region = rng.choices(words.REGIONS, words.CUSTOMER_REGION_WEIGHTS)[0]
            years = {"strategic": (4, 10), "key": (2, 9), "general": (0.5, 8), "potential": (0.05, 2.5)}[
                tier.value
            ]
            created = self.now - timedelta(days=rng.uniform(*years) * 365)
            specs.append(self._new_org(rng, "customer", region, created, tier=tier))
        # Regions by how many customers they have: distributors cover the busiest first.
        by_demand = sorted(
            words.REGIONS, key=lambda r: (-sum(1 for o in specs if o.region == r), words.REGIONS.index(r))
        )
        families = list(range(len(words.PRODUCT_FAMILIES)))
        rng.shuffle(families)
        for i in range(n_suppliers):
            region = rng.choices(words.REGIONS, words.SUPPLIER_REGION_WEIGHTS)[0]
            created = self.now - timedelta(days=rng.uniform(2, 12) * 365)
            specs.append(self._new_org(rng, "supplier", region, created, family=families[i % len(families)]))
        for i in range(n_distributors):
            created = self.now - timedelta(days=rng.uniform(3, 12) * 365)
            specs.append(self._new_org(rng, "distributor", by_demand[i % len(by_demand)], created))

        customer_specs = [o for o in specs if o.kind == "customer"]
        # A few customers are suspended (credit hold) or archived (relationship ended);
        # never the strategic ones, whose loss would be a different story, and only ones old
        # enough to have had a relationship before it changed.
        candidates = [
            o
            for o in customer_specs
            if o.tier is not morg.CustomerTier.STRATEGIC and o.created_at < self.now - timedelta(days=300)
        ]
        rng.shuffle(candidates)
        n_suspended, n_archived = max(1, round(self.n * 0.04)), max(1, round(self.n * 0.03))
        for org in candidates[:n_suspended]:
            org.status = morg.OrganizationStatus.SUSPENDED
            org.status_changed_at = self.now - timedelta(days=rng.uniform(20, 90))
        for org in candidates[n_suspended : n_suspended + n_archived]:
            org.status = morg.OrganizationStatus.ARCHIVED
            org.status_changed_at = self.now - timedelta(days=rng.uniform(30, 200))
        # About 5% of customers also supply us (a machine builder that casts housings, say).
        active = [o for o in customer_specs if o.status is morg.OrganizationStatus.ACTIVE]
        for org in rng.sample(active, max(1, round(self.n * 0.05))):
            org.is_supplier = True
            org.family = rng.randrange(len(words.PRODUCT_FAMILIES))
        # And one distributor also buys from us on its own account.
        distributors = [o for o in specs if o.kind == "distributor"]
        dual = distributors[1]
        dual.is_customer = True
        dual.tier = rng.choice((morg.CustomerTier.KEY, morg.CustomerTier.GENERAL))
        suppliers = [o for o in specs if o.kind == "supplier"]
        for org in rng.sample(suppliers, max(0, round(len(suppliers) * 0.05))):
            org.status = morg.OrganizationStatus.SUSPENDED
            org.status_changed_at = self.now - timedelta(days=rng.uniform(10, 120))

        # Ids follow creation time, as an auto-increment would have assigned them.
        specs.sort(key=lambda o: o.created_at)
        for number, org in enumerate(specs, start=1):
            org.id = number
        self.orgs = specs
        self.customers = [o for o in specs if o.is_customer]
        self.suppliers = [o for o in specs if o.is_supplier]
        self.distributors = [o for o in specs if o.is_distributor]
        self.rows["organizations"] = [self._org_row(rng, org) for org in specs]

    def _new_org(self, rng: random.Random, kind: str, region: str, created: datetime, **extra: Any) -> _Org:
        org = _Org(
            kind=kind,
            region=region,
            city=rng.choice(words.REGION_CITIES[region]),
            created_at=created,
            **extra,
        )
        setattr(org, f"is_{kind}", True)
        org.english = region == "Export" or rng.random() < 0.3
        if kind == "customer":
            industry = rng.choice(words.CUSTOMER_INDUSTRIES)
        elif kind == "supplier":
            industry = words.PRODUCT_FAMILIES[org.family].industry
        else:
            industry = rng.choice(words.DISTRIBUTOR_INDUSTRIES)
        # Names are not unique in the schema, but a demo reads better when they are: after a
        # few collisions, tell namesakes apart by city (as Chinese companies do), then by number.
        for attempt in range(40):
            stem = rng.choice(words.ENGLISH_STEMS if org.english else words.PINYIN_STEMS)
            name = f"{stem} {industry}" if org.english else f"{stem} {industry} Co."
            if attempt >= 10:
                name = (
                    f"{name} ({org.city.city})"
                    if attempt < 30
                    else f"{name} ({org.city.city} {attempt - 28})"
                )
            if name not in self._taken_names:
                break
        self._taken_names.add(name)
        org.name = name
        if org.city.country != "CN":
            org.legal_name = f"{stem} {industry} " + {"DE": "GmbH", "NL": "B.V."}.get(
                org.city.country, "Ltd."
            )
        elif org.english:
            org.legal_name = f"{stem} {industry} ({org.city.city}) Co., Ltd."
        else:
            org.legal_name = f"{org.city.city} {stem} {industry} Co., Ltd."
        slug = "".join(ch for ch in f"{stem}-{industry.split()[-1]}".lower() if ch.isalnum() or ch == "-")
        domain, k = f"{slug}.example", 2
        while domain in self._taken_domains:
            domain, k = f"{slug}{k}.example", k + 1
        self._taken_domains.add(domain)
        org.domain = domain
        return org

    def _org_row(self, rng: random.Random, org: _Org) -> dict:
        cn = org.city.country == "CN"
        digits = lambda k: "".join(rng.choice("0123456789") for _ in range(k))  # noqa: E731
        if cn:
            # Unified social credit code (18 characters) and the older 15-digit tax number;
            # the org id inside both keeps them unique.
            registration = f"91{org.city.division}MA{org.id:06d}{rng.choice('0123456789ABCDEFGHJKLMNPQRTUWXY')}{digits(1)}"
            tax_id = f"{org.city.division}{org.id:06d}{digits(3)}"
        else:
            registration = f"{org.city.country}-REG-{org.id:06d}"
            tax_id = f"{org.city.country}{org.id:05d}{digits(5)}"
        tier = org.tier
        credit_limit = credit_standing = None
        if org.is_customer or org.is_distributor:
            low, high = _CREDIT_LIMIT[tier] if tier else (1_000_000, 8_000_000)
            credit_limit = _money(round(rng.uniform(low, high), -3))
            credit_standing = rng.choices(list(morg.CreditStanding), (80, 12, 6, 2))[0]
            if org.status is morg.OrganizationStatus.SUSPENDED:
                credit_standing = rng.choice((morg.CreditStanding.POOR, morg.CreditStanding.BLOCKED))
        archived_at = org.status_changed_at if org.status is morg.OrganizationStatus.ARCHIVED else None
        notes = rng.choice(words.ORG_NOTES) if org.is_customer and rng.random() < 0.2 else None
        if org.status is morg.OrganizationStatus.SUSPENDED and org.is_customer:
            notes = "Suspended: overdue invoices beyond 120 days; orders on credit hold."
        elif archived_at is not None:
            notes = "Archived: the customer moved production abroad."
        return {
            "id": org.id,
            "name": org.name,
            "legal_name": org.legal_name,
            "registration_number": registration,
            "tax_id": tax_id,
            "is_customer": org.is_customer,
            "is_supplier": org.is_supplier,
            "is_distributor": org.is_distributor,
            "phone": f"{org.city.dial} {digits(4)} {digits(4)}",
            "fax": f"{org.city.dial} {digits(4)} {digits(4)}" if cn and rng.random() < 0.5 else None,
            "email": f"{'sales' if org.kind == 'supplier' else 'info'}@{org.domain}",
            "website": f"https://www.{org.domain}",
            "region": org.region,
            "status": org.status,
            "tier": tier,
            "credit_limit": credit_limit,
            "credit_currency": "CNY",
            "credit_standing": credit_standing,
            "internal_notes": notes,
            **_record(org.created_at, org.status_changed_at or org.created_at, archived_at),
        }

    # -- users and ownership ------------------------------------------------------------------

    def _users(self) -> None:
        rng = self._rng("users")
        n_reps = max(6, self.n // 20)
        by_demand = sorted(
            words.REGIONS,
            key=lambda r: (-sum(1 for o in self.customers if o.region == r), words.REGIONS.index(r)),
        )
        specs = [(mp.UserRole.SALES, by_demand[i % len(by_demand)]) for i in range(n_reps)]
        specs += [(mp.UserRole.SERVICE, None)] * 3 + [(mp.UserRole.ADMIN, None), (mp.UserRole.ANALYST, None)]
        leavers = set(rng.sample(range(n_reps), max(1, round(n_reps * 0.15))))
        names: set[str] = set()
        emails: set[str] = set()
        for number, (role, region) in enumerate(specs, start=1):
            for _ in range(20):
                surname, given = rng.choice(words.SURNAMES), rng.choice(words.GIVEN_NAMES)
                if f"{surname} {given}" not in names:
                    break
            names.add(f"{surname} {given}")
            email, k = f"{given.lower()}.{surname.lower()}@partnergraph.example", 2
            while email in emails:  # namesakes get a number, as mail servers do
                email, k = f"{given.lower()}.{surname.lower()}{k}@partnergraph.example", k + 1
            emails.add(email)
            created = self.now - timedelta(days=rng.uniform(3, 9) * 365)
            left_at = (
                _office_time(rng, self.today - timedelta(days=rng.randint(30, 330)))
                if number - 1 in leavers
                else None
            )
            self.users.append(
                {
                    "id": number,
                    "name": f"{surname} {given}",
                    "email": email,
                    "role": role,
                    "region": region,
                    "active": left_at is None,
                    **_record(created, left_at),
                }
            )
        self.rows["users"] = self.users
        self.reps = [u for u in self.users if u["role"] is mp.UserRole.SALES]
        self.active_reps = [u for u in self.reps if u["active"]]
        self.agents = [u for u in self.users if u["role"] is mp.UserRole.SERVICE]

    def _ownerships(self) -> None:
        """Every customer has a current owner; about 30% had one before (the rep left the
        company, or the territories were redrawn). Ownership ends exactly when the next begins."""
        rng = self._rng("ownership")
        rows = []
        for org in self.customers:
            local = [u for u in self.reps if u["region"] == org.region] or self.reps
            first = rng.choice(local)
            start = self._past(max(org.created_at, first["created_at"]) + timedelta(days=rng.randint(0, 10)))
            if not first["active"] and first["updated_at"] <= start + timedelta(days=30):
                # The rep had already left when the account was opened: someone else took it.
                first = rng.choice([u for u in local if u["active"]] or self.active_reps)
                start = self._past(
                    max(org.created_at, first["created_at"]) + timedelta(days=rng.randint(0, 10))
                )
            history: list[tuple[dict, datetime, datetime | None, str | None]] = []
            if not first["active"]:
                history.append((first, start, first["updated_at"], "rep left the company"))
            elif rng.random() < 0.22 and start < self.now - timedelta(days=90):
                end = _between(
                    rng,
                    max(start + timedelta(days=30), self.now - timedelta(days=700)),
                    self.now - timedelta(days=14),
                )
                history.append((first, start, end, "territory change"))
            if history:
                previous = history[0][0]
                successor = rng.choice(
                    [u for u in local if u["active"] and u is not previous]
                    or [u for u in self.active_reps if u is not previous]
                )
                history.append((successor, history[0][2], None, None))
            else:
                history.append((first, start, None, None))
            for user, began, ended, reason in history:
                org.owners.append((user["id"], began, ended))
                rows.append(
                    {
                        "organization_id": org.id,
                        "user_id": user["id"],
                        "started_at": began,
                        "ended_at": ended,
                        "reason": reason,
                        **_record(began, ended or began),
                    }
                )
        self.rows["account_ownerships"] = _sorted_with_ids(rows, "started_at")

    # -- addresses, coverage, contacts, contracts ---------------------------------------------

    def _addresses(self) -> None:
        rng = self._rng("addresses")
        rows = []
        for org in self.orgs:
            kinds = [morg.AddressKind.REGISTERED]
            if org.is_customer:
                kinds.append(morg.AddressKind.SHIPPING)
            if rng.random() < 0.8:
                kinds.append(morg.AddressKind.BILLING)
            for kind in kinds:
                # Shipping goes to the plant, often elsewhere in the same region.
                city = (
                    rng.choice(words.REGION_CITIES[org.region])
                    if kind is morg.AddressKind.SHIPPING and rng.random() < 0.3
                    else org.city
                )
                if city.country == "CN":
                    line1 = f"No. {rng.randint(1, 999)} {rng.choice(words.STREET_NAMES)} {rng.choice(words.STREET_KINDS)}"
                    line2 = rng.choice(
                        (
                            None,
                            f"{rng.choice(words.STREET_NAMES)} Industrial Park, Building {rng.randint(1, 12)}",
                            f"{city.city} Economic and Technological Development Zone",
                        )
                    )
                else:
                    line1, line2 = f"{rng.randint(1, 400)} {rng.choice(words.EXPORT_STREETS)}", None
                rows.append(
                    {
                        "organization_id": org.id,
                        "kind": kind,
                        "line1": line1,
                        "line2": line2,
                        "city": city.city,
                        "province": city.province,
                        "postal_code": city.postal_code,
                        "country": city.country,
                        **_record(org.created_at),
                    }
                )
        self.rows["addresses"] = _sorted_with_ids(rows, "created_at")

    def _coverage(self) -> None:
        """Each customer is served by one distributor, from its own region when there is one."""
        rng = self._rng("coverage")
        rows = []
        for org in self.customers:
            options = [d for d in self.distributors if d is not org]
            local = [d for d in options if d.region == org.region]
            distributor = rng.choice(local or options)
            org.distributor_id = distributor.id
            start = max(org.created_at, distributor.created_at) + timedelta(days=rng.randint(0, 90))
            since = min(start.date(), self.today - timedelta(days=1))
            rows.append(
                {
                    "distributor_id": distributor.id,
                    "customer_id": org.id,
                    "region": org.region,
                    "since": since,
                    **_record(self._past(_office_time(rng, since))),
                }
            )
        self.rows["distributor_coverage"] = _sorted_with_ids(rows, "created_at")

    def _contacts(self) -> None:
        """One to four people per organization, exactly one of them primary; some have left."""
        rng = self._rng("contacts")
        rows = []
        for org in self.orgs:
            count = rng.choices((1, 2, 3, 4), (25, 35, 25, 15))[0]
            if org.tier is morg.CustomerTier.STRATEGIC:
                count = min(4, count + 1)
            titles = list(words.CONTACT_TITLES[org.kind])
            rng.shuffle(titles)
            names: set[str] = set()
            for i in range(count):
                if org.city.country != "CN":
                    name = rng.choice(words.FOREIGN_NAMES)
                    local_part = name.lower().replace(" ", ".")
                else:
                    surname, given = rng.choice(words.SURNAMES), rng.choice(words.GIVEN_NAMES)
                    name, local_part = f"{surname} {given}", f"{given.lower()}.{surname.lower()}"
                if name in names:
                    continue  # rather one contact fewer than two people of the same name
                names.add(name)
                created = org.created_at + timedelta(days=0 if i == 0 else rng.randint(1, 900))
                created = self._past(created)
                left = i > 0 and rng.random() < 0.06
                archived = _between(rng, created, self.now) if left else None
                phone = (
                    f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
                    if org.city.country == "CN"
                    else f"{org.city.dial} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
                )
                rows.append(
                    {
                        "organization_id": org.id,
                        "name": name,
                        "title": titles[i % len(titles)],
                        "email": f"{local_part}@{org.domain}",
                        "phone": phone,
                        "is_primary": i == 0,
                        "notes": "Left the company."
                        if left
                        else (rng.choice(words.CONTACT_NOTES) if rng.random() < 0.15 else None),
                        "_org": org,
                        **_record(created, archived or created, archived),
                    }
                )
        _sorted_with_ids(rows, "created_at")
        for row in rows:
            org = row.pop("_org")
            if row["archived_at"] is None:
                # Primary first: interactions and service records prefer the primary contact.
                entry = (row["id"], row["created_at"])
                org.contacts.insert(0, entry) if row["is_primary"] else org.contacts.append(entry)
        self.rows["contacts"] = rows

    def _contracts(self) -> None:
        """Customers hold a current contract and sometimes an expired predecessor or a draft
        renewal; suppliers a supply and distributors a distribution contract."""
        rng = self._rng("contracts")
        rows: list[dict] = []

        def add(
            org: _Org,
            kind: mc.ContractKind,
            status: mc.ContractStatus,
            start: date,
            end: date | None,
            value: float,
            signed: datetime,
        ) -> None:
            export = org.city.country != "CN"
            rows.append(
                {
                    "organization_id": org.id,
                    "title": f"{kind.value.capitalize()} agreement {start.year}: {org.name}",
                    "kind": kind,
                    "status": status,
                    "valid_from": start,
                    "valid_to": end,
                    "value": _money(round(value, -3)),
                    "currency": "CNY",
                    "price_terms": rng.choice(words.PRICE_TERMS).format(d=rng.choice((3, 5, 8, 10))),
                    "payment_terms": rng.choice(
                        words.EXPORT_PAYMENT_TERMS if export else words.PAYMENT_TERMS
                    ),
                    "service_terms": rng.choice(words.SERVICE_TERMS)
                    if kind in (mc.ContractKind.SERVICE, mc.ContractKind.SALES, mc.ContractKind.FRAMEWORK)
                    else None,
                    **_record(self._past(signed)),
                }
            )

        def current_period(org: _Org) -> tuple[date, date]:
            start = max(org.created_at.date(), self.today - timedelta(days=rng.randint(30, 700)))
            years = rng.choice((1, 2, 3))
            end = (
                start.replace(year=start.year + years)
                if not (start.month == 2 and start.day == 29)
                else start + timedelta(days=365 * years)
            )
            while end < self.today:
                end += timedelta(days=365)
            return start, end

        def signed_before(org: _Org, start: date) -> datetime:
            return max(org.created_at, _office_time(rng, start - timedelta(days=rng.randint(3, 20))))

        for org in self.orgs:
            value_range = _CONTRACT_VALUE.get(org.tier, (1_000_000, 20_000_000))
            if org.is_customer:
                if org.tier is morg.CustomerTier.POTENTIAL and rng.random() < 0.5:
                    # A prospect: only a quotation-stage sales contract, not yet signed.
                    start = self.today + timedelta(days=rng.randint(10, 60))
                    add(
                        org,
                        mc.ContractKind.SALES,
                        mc.ContractStatus.DRAFT,
                        start,
                        start + timedelta(days=365),
                        rng.uniform(*value_range),
                        _between(rng, max(org.created_at, self.now - timedelta(days=30)), self.now),
                    )
                else:
                    kind = rng.choices(
                        (mc.ContractKind.SALES, mc.ContractKind.FRAMEWORK, mc.ContractKind.SERVICE),
                        (55, 35, 10),
                    )[0]
                    start, end = current_period(org)
                    status = mc.ContractStatus.ACTIVE
                    if org.status is morg.OrganizationStatus.ARCHIVED:
                        start = min(start, org.status_changed_at.date() - timedelta(days=30))
                        end, status = org.status_changed_at.date(), mc.ContractStatus.TERMINATED
                    elif kind is mc.ContractKind.FRAMEWORK and rng.random() < 0.4:
                        end = None  # open-ended framework agreement
                    add(org, kind, status, start, end, rng.uniform(*value_range), signed_before(org, start))
                    if rng.random() < 0.5:
                        if (start - org.created_at.date()).days > 400:
                            prev_end = start - timedelta(days=1)
                            prev_start = max(
                                org.created_at.date(), prev_end - timedelta(days=365 * rng.choice((1, 2)))
                            )
                            add(
                                org,
                                mc.ContractKind.SALES,
                                mc.ContractStatus.EXPIRED,
                                prev_start,
                                prev_end,
                                rng.uniform(*value_range) * 0.8,
                                signed_before(org, prev_start),
                            )
                        elif (
                            status is mc.ContractStatus.ACTIVE
                            and org.status is morg.OrganizationStatus.ACTIVE
                        ):
                            draft_start = self.today + timedelta(days=rng.randint(15, 90))
                            add(
                                org,
                                mc.ContractKind.SERVICE,
                                mc.ContractStatus.DRAFT,
                                draft_start,
                                draft_start + timedelta(days=365),
                                rng.uniform(*value_range) * 0.1,
                                _between(rng, self.now - timedelta(days=20), self.now),
                            )
            if org.is_supplier:
                start, end = current_period(org)
                add(
                    org,
                    mc.ContractKind.SUPPLY,
                    mc.ContractStatus.ACTIVE,
                    start,
                    end,
                    rng.uniform(200_000, 5_000_000),
                    signed_before(org, start),
                )
            if org.is_distributor:
                start, end = current_period(org)
                add(
                    org,
                    mc.ContractKind.DISTRIBUTION,
                    mc.ContractStatus.ACTIVE,
                    start,
                    end,
                    rng.uniform(1_000_000, 20_000_000),
                    signed_before(org, start),
                )
        _sorted_with_ids(rows, "created_at")
        for row in rows:
            row["number"] = f"CT-{row['created_at'].year}-{row['id']:06d}"
        self.rows["contracts"] = rows

    # -- products -----------------------------------------------------------------------------

    def _products(self) -> None:
        rng = self._rng("products")
        count = max(30, self.n // 2)
        combos = [
            (s, rng.random(), f, v)
            for f, family in enumerate(words.PRODUCT_FAMILIES)
            for v in range(len(family.variants))
            for s in range(len(words.PRODUCT_SERIES))
        ]
        combos.sort()
        rows = []
        for i in range(count):
            series, _, f, v = combos[i % len(combos)]
            family = words.PRODUCT_FAMILIES[f]
            name = f"{family.name} {family.variants[v]}{words.PRODUCT_SERIES[series]}"
            if i >= len(combos):
                name += f" Rev. {i // len(combos) + 1}"
            # Bigger variants cost more: interpolate along the family's price range.
            position = v / max(1, len(family.variants) - 1)
            base = (
                (family.low + (family.high - family.low) * position)
                * words.SERIES_PRICE_FACTOR[series]
                * rng.uniform(0.92, 1.08)
            )
            list_price = max(Decimal("0.50"), _money(base))
            cost = max(Decimal("0.30"), _money(float(list_price) * rng.uniform(0.55, 0.85)))
            created = self.now - timedelta(days=rng.uniform(0.3, 6) * 365)
            discontinued = None
            if rng.random() < 0.04 and created < self.now - timedelta(days=300):
                discontinued = self.today - timedelta(days=rng.randint(30, 200))
            rows.append(
                {
                    "sku": family.sku_prefix,  # completed with the id below
                    "name": name,
                    "description": family.description,
                    "unit": family.unit,
                    "list_price": list_price,
                    "cost": cost,
                    "currency": "CNY",
                    "status": mpr.ProductStatus.DISCONTINUED if discontinued else mpr.ProductStatus.ACTIVE,
                    "_meta": (f, discontinued),
                    **_record(created, _office_time(rng, discontinued) if discontinued else created),
                }
            )
        _sorted_with_ids(rows, "created_at")
        for row in rows:
            family, discontinued = row.pop("_meta")
            row["sku"] = f"{row['sku']}-{row['id']:05d}"
            self.products.append(
                _Product(
                    row["id"],
                    row["name"],
                    row["unit"],
                    row["list_price"],
                    row["cost"],
                    family,
                    discontinued,
                    row["created_at"],
                )
            )
        self.rows["products"] = rows

    def _supplier_products(self) -> None:
        """Each product has one to three suppliers, specialists of its family first; the
        cheapest active one is preferred."""
        rng = self._rng("supplier_products")
        rows = []
        for product in self.products:
            specialists = [s for s in self.suppliers if s.family == product.family]
            others = [s for s in self.suppliers if s.family != product.family]
            k = min(len(self.suppliers), rng.choice((1, 2, 2, 3)))
            chosen = rng.sample(specialists, min(k, len(specialists)))
            chosen += rng.sample(others, k - len(chosen))
            offers = []
            # Suppliers sell to us at 90–100% of our cost estimate, whole cents within that band.
            lowest = (product.cost * Decimal("0.9")).quantize(_CENT, ROUND_UP)
            for supplier in chosen:
                price = min(max(_money(float(product.cost) * rng.uniform(0.9, 1.0)), lowest), product.cost)
                offers.append((supplier, price))
            eligible = [o for o in offers if o[0].status is morg.OrganizationStatus.ACTIVE] or offers
            preferred = min(eligible, key=lambda o: (o[1], o[0].id))[0]
            offers.sort(key=lambda o: o[0] is not preferred)
            for supplier, price in offers:
                product.suppliers.append(supplier.id)
                created = max(product.created_at, supplier.created_at)
                rows.append(
                    {
                        "supplier_id": supplier.id,
                        "product_id": product.index,
                        "supplier_sku": f"{supplier.name[:3].upper()}-{rng.randint(10000, 99999)}",
                        "price": price,
                        "currency": "CNY",
                        "lead_time_days": rng.randint(3, 60),
                        "is_preferred": supplier is preferred,
                        **_record(created),
                    }
                )
        self.rows["supplier_products"] = _sorted_with_ids(rows, "created_at")

    # -- orders -------------------------------------------------------------------------------

    def _orders(self) -> None:
        rng = self._rng("orders")
        orders: list[_Order] = []
        for org in self.customers:
            rhythms = _RHYTHMS[org.tier]
            org.rhythm = rng.choices(list(rhythms), list(rhythms.values()))[0]
            if org.status is morg.OrganizationStatus.ARCHIVED:
                org.rhythm = "lapsed"
            basket_size = min(len(self.products), rng.randint(4, 12))
            org.basket = rng.sample(range(len(self.products)), basket_size)
            for placed in self._order_times(rng, org):
                orders.append(self._order(rng, org, placed))
        orders.sort(key=lambda o: o.placed_at)
        line_rows, shipment_rows, order_rows = [], [], []
        sync_counters: dict[int, int] = {}
        for number, order in enumerate(orders, start=1):
            order.id, order.number = number, f"SO-{number:06d}"
            order.customer.orders.append(order)
            external_reference = None
            if order.source is mo.OrderSource.SYNC:
                # The distributor's own purchase-order number, unique within its system.
                sync_counters[order.distributor_id] = sync_counters.get(order.distributor_id, 0) + 1
                external_reference = (
                    f"D{order.distributor_id:03d}-PO-{sync_counters[order.distributor_id]:06d}"
                )
            for line in order.lines:
                line["order_id"] = order.id
                line_rows.append(line)
                line["id"] = len(line_rows)
            for shipment in order.shipments:
                shipment["order_id"] = order.id
                shipment_rows.append(shipment)
            order_rows.append(
                {
                    "id": order.id,
                    "number": order.number,
                    "customer_id": order.customer.id,
                    "distributor_id": order.distributor_id,
                    "status": order.status,
                    "currency": "CNY",
                    # Exact: line totals are already at Money's scale, so their sum is too.
                    "total_amount": sum((line["line_total"] for line in order.lines), Decimal("0.0000")),
                    "placed_at": order.placed_at,
                    "requested_date": order.requested_date,
                    "promised_date": order.promised_date,
                    "source": order.source,
                    "source_organization_id": order.distributor_id
                    if order.source is mo.OrderSource.SYNC
                    else None,
                    "external_reference": external_reference,
                    "notes": order.notes,
                    **_record(order.placed_at, order.updated_at),
                }
            )
        _sorted_with_ids(shipment_rows, "created_at")
        tracking: set[str] = set()
        for shipment in shipment_rows:
            shipment["tracking_number"] = self._tracking_number(rng, shipment["carrier"], tracking)
        self.orders = orders
        self.rows["orders"] = order_rows
        self.rows["order_lines"] = line_rows
        self.rows["shipments"] = shipment_rows

    def _order_times(self, rng: random.Random, org: _Org) -> list[datetime]:
        """When a customer ordered over the past year, following its own rhythm."""
        if org.rhythm == "none":
            return []
        start = max(self.year_ago, org.created_at + timedelta(days=3))
        end = self.now
        if org.rhythm == "lapsed":
            # Bought regularly, then stopped: nothing in the last four months or more.
            end = self.now - timedelta(days=rng.uniform(125, 240))
        if org.status is not morg.OrganizationStatus.ACTIVE and org.status_changed_at:
            end = min(end, org.status_changed_at - timedelta(days=rng.uniform(10, 30)))
        # Lapsed customers ordered monthly until they stopped; irregular ones at random gaps.
        period = {"weekly": 7.0, "monthly": 30.4, "quarterly": 91.0, "lapsed": 30.4}.get(org.rhythm)
        mean_gap = period or rng.uniform(25, 75)
        times = []
        moment = start + timedelta(days=rng.uniform(0, mean_gap))
        while moment < end:
            placed = _office_time(rng, moment.date())
            if placed >= self.now:
                break
            times.append(placed)
            gap = period * rng.uniform(0.75, 1.25) if period else rng.expovariate(1 / mean_gap)
            moment += timedelta(days=max(1.0, gap))
        return times

    def _order(self, rng: random.Random, org: _Org, placed: datetime) -> _Order:
        distributor_id = org.distributor_id if rng.random() < 0.7 else None
        if distributor_id is not None:
            source = rng.choices(
                (mo.OrderSource.SYNC, mo.OrderSource.INTERNAL, mo.OrderSource.PORTAL), (35, 40, 25)
            )[0]
        else:
            source = rng.choices((mo.OrderSource.INTERNAL, mo.OrderSource.PORTAL), (60, 40))[0]
        order = _Order(
            customer=org,
            placed_at=placed,
            distributor_id=distributor_id,
            source=source,
            lines=self._order_lines(rng, org, placed),
        )
        if rng.random() < 0.12:
            order.notes = rng.choice(words.ORDER_NOTES)
        self._simulate_fulfilment(rng, order)
        return order

    def _order_lines(self, rng: random.Random, org: _Org, placed: datetime) -> list[dict]:
        count = rng.choices((1, 2, 3, 4, 5), (35, 25, 20, 12, 8))[0]
        on_sale = lambda p: p.discontinued_on is None or placed.date() < p.discontinued_on  # noqa: E731
        chosen: list[_Product] = []
        while len(chosen) < count:
            # Mostly the customer's usual products, now and then something new.
            usual = [p for i in org.basket if (p := self.products[i]) not in chosen and on_sale(p)]
            product = rng.choice(usual) if usual and rng.random() < 0.85 else rng.choice(self.products)
            if product not in chosen and on_sale(product):
                chosen.append(product)
        low, high = _PRICE_FACTOR[org.tier]
        lines = []
        for number, product in enumerate(chosen, start=1):
            unit_price = max(_CENT, _money(float(product.list_price) * rng.uniform(low, high)))
            quantity = self._quantity(rng, product, _LINE_BUDGET[org.tier] * rng.lognormvariate(0, 0.6))
            supplier_id = product.suppliers[0] if rng.random() < 0.6 else rng.choice(product.suppliers)
            lines.append(
                {
                    "line_number": number,
                    "product_id": product.index,
                    "supplier_id": supplier_id,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "line_total": (quantity * unit_price).quantize(_LINE_TOTAL_SCALE, ROUND_HALF_UP),
                    **_record(placed),
                }
            )
        return lines

    @staticmethod
    def _quantity(rng: random.Random, product: _Product, budget: float) -> Decimal:
        """How much a line buys for its budget, rounded the way the unit is sold."""
        raw = budget / float(product.list_price)
        if product.unit == "t":
            return Decimal(str(max(0.5, round(raw, 3)))).quantize(_MILLI)  # steel is weighed
        if product.unit in ("m", "kg", "L") and raw > 20:
            step = 5 if product.unit != "L" else 20  # lengths and drums
            whole = max(step, int(round(raw / step)) * step)
            if product.unit == "m" and rng.random() < 0.1:
                return Decimal(whole) + Decimal("0.5")
            return Decimal(whole)
        if raw > 200:
            return Decimal(int(round(raw, -1)))
        return Decimal(max(1, int(round(raw))))

    def _simulate_fulfilment(self, rng: random.Random, order: _Order) -> None:
        """Play an order forward from placement; its status is whatever it has reached by now.

        placed → confirmed → in fulfilment → shipped (one or two shipments, a lost one is
        replaced) → delivered → closed (paid); a few are cancelled, recent ones may be drafts.
        """
        now, placed = self.now, order.placed_at
        weekly = order.customer.rhythm == "weekly"
        order.requested_date = placed.date() + timedelta(
            days=rng.randint(3, 10) if weekly else rng.randint(7, 30)
        )
        order.updated_at = placed
        if now - placed < timedelta(days=10) and rng.random() < 0.2:
            order.status = mo.OrderStatus.DRAFT
            return
        if rng.random() < 0.03:
            cancelled = placed + timedelta(hours=rng.randint(2, 96))
            if cancelled < now:
                order.status, order.updated_at, order.notes = (
                    mo.OrderStatus.CANCELLED,
                    cancelled,
                    rng.choice(words.CANCEL_NOTES),
                )
                return
        # We confirm our own entries the same day; portal and synced orders wait for a clerk.
        hours = 8 if order.source is mo.OrderSource.INTERNAL else 72
        confirmed = placed + timedelta(minutes=rng.randint(60, hours * 60))
        if confirmed >= now:
            order.status = mo.OrderStatus.SUBMITTED
            return
        order.promised_date = order.requested_date + timedelta(days=rng.choice((0, 0, 0, 1, 2, 5)))
        order.status, order.updated_at = mo.OrderStatus.CONFIRMED, confirmed
        fulfilment = confirmed + timedelta(hours=rng.randint(4, 72))
        if fulfilment >= now:
            return
        order.status, order.updated_at = mo.OrderStatus.IN_FULFILMENT, fulfilment

        export = order.customer.city.country != "CN"
        carrier = words.EXPORT_CARRIER if export else rng.choices(words.CARRIERS, words.CARRIER_WEIGHTS)[0]
        transit = rng.randint(*words.TRANSIT_DAYS[carrier])
        # Ship so as to arrive on the promised date, not before picking is done.
        target = datetime.combine(order.promised_date, time(2), UTC) - timedelta(days=transit)
        ship = max(
            fulfilment + timedelta(hours=rng.randint(6, 30)), target + timedelta(minutes=rng.randrange(480))
        )
        if rng.random() < 0.1:
            ship += timedelta(days=rng.randint(1, 5))  # production hiccup: leaves late
        planned = [ship]
        if len(order.lines) >= 2 and rng.random() < 0.12:
            planned.append(
                ship + timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 8))
            )  # split delivery

        arrivals: list[datetime | None] = []
        for ship_at in planned:
            while True:
                shipment, arrived, lost_at = self._shipment(rng, carrier, ship_at, transit)
                if shipment is None:
                    arrivals.append(None)
                    break
                order.shipments.append(shipment)
                order.late = order.late or shipment["_late"]
                del shipment["_late"]
                if lost_at is None:
                    arrivals.append(arrived)
                    break
                ship_at = lost_at + timedelta(days=rng.randint(1, 3))  # a replacement goes out
        shipped = [s["shipped_at"] for s in order.shipments if s["shipped_at"] is not None]
        if not shipped:
            order.updated_at = max([order.updated_at] + [s["created_at"] for s in order.shipments])
            return
        order.status = mo.OrderStatus.SHIPPED
        order.updated_at = max(s["updated_at"] for s in order.shipments)
        if all(a is not None for a in arrivals):
            order.delivered_at = max(arrivals)  # type: ignore[type-var]
            order.status, order.updated_at = mo.OrderStatus.DELIVERED, order.delivered_at
            closed = order.delivered_at + timedelta(days=rng.randint(7, 40))
            if closed < now:
                order.status, order.updated_at = mo.OrderStatus.CLOSED, closed

    def _shipment(
        self, rng: random.Random, carrier: str, ship_at: datetime, transit: int
    ) -> tuple[dict | None, datetime | None, datetime | None]:
        """One shipment as it stands now: (row or None if not yet booked, delivered at, declared lost at)."""
        now = self.now
        booked = ship_at - timedelta(hours=rng.randint(4, 24))  # booking the carrier creates the record
        if booked >= now:
            return None, None, None
        expected = ship_at + timedelta(days=transit)
        row = {
            "carrier": carrier,
            "status": mo.ShipmentStatus.PENDING,
            "shipped_at": None,
            "expected_at": expected,
            "delivered_at": None,
            "_late": False,
            **_record(booked),
        }
        if ship_at >= now:
            return row, None, None
        row.update(status=mo.ShipmentStatus.IN_TRANSIT, shipped_at=ship_at, updated_at=ship_at)
        if rng.random() < 0.01:
            declared = expected + timedelta(days=5)  # the carrier gives up looking
            row["_late"] = expected < now
            if declared < now:
                row.update(status=mo.ShipmentStatus.LOST, updated_at=declared)
                return row, None, declared
            return row, None, None
        if rng.random() < 0.08:
            arrival = expected + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
        else:
            arrival = expected - timedelta(minutes=rng.randint(0, 20 * 60))
        arrival = max(arrival, ship_at + timedelta(hours=6))
        row["_late"] = arrival > expected and (arrival < now or expected < now)
        if arrival >= now:
            return row, None, None
        row.update(status=mo.ShipmentStatus.DELIVERED, delivered_at=arrival, updated_at=arrival)
        return row, arrival, None

    @staticmethod
    def _tracking_number(rng: random.Random, carrier: str, taken: set[str]) -> str:
        digits = lambda k: "".join(rng.choice("0123456789") for _ in range(k))  # noqa: E731
        formats = {
            "SF Express": lambda: f"SF{digits(13)}",
            "JD Logistics": lambda: f"JDVA{digits(11)}",
            "ZTO": lambda: f"7{digits(11)}",
            "Deppon": lambda: f"DPK{digits(12)}",
            "DHL": lambda: digits(10),
        }
        while True:
            number = formats[carrier]()
            if number not in taken:
                taken.add(number)
                return number

    # -- service records ----------------------------------------------------------------------

    def _service_records(self) -> None:
        """Visits, survey responses, service requests, complaints and quality objections.

        A few customers are 'troubled': their complaints cluster in the last two months and
        their survey scores are low, which is what an early warning should pick up.
        """
        rng = self._rng("service_records")
        rows: list[dict] = []
        active_customers = [
            o for o in self.customers if o.status is morg.OrganizationStatus.ACTIVE and o.orders
        ]
        for org in rng.sample(active_customers, min(len(active_customers), max(1, round(self.n * 0.03)))):
            org.troubled = True
        waves = [self.now - timedelta(days=d) for d in (320, 230, 140, 50)]
        for org in self.customers:
            if not org.contacts:
                continue
            response_rate, visits, requests, complaints, objections = _SERVICE_PER_YEAR[org.tier]
            since, until = max(self.year_ago, org.created_at), org.until(self.now)
            if until <= since:
                continue
            share = (until - since) / (self.now - self.year_ago)  # shorter relationships: less history
            for wave in waves:
                if (
                    org.created_at < wave
                    and wave + timedelta(days=14) < until
                    and rng.random() < response_rate
                ):
                    rows.append(self._survey(rng, org, wave))
            for _ in range(_poisson(rng, visits * share)):
                rows.append(self._visit(rng, org, since, until))
            for _ in range(_poisson(rng, requests * share)):
                rows.append(self._service_request(rng, org, since, until))
            extra = rng.randint(3, 5) if org.troubled else 0
            for i in range(_poisson(rng, complaints * share) + extra):
                rows.append(self._complaint(rng, org, since, until, recent=i < extra))
            for _ in range(_poisson(rng, objections * share) + (1 if org.troubled else 0)):
                row = self._quality_objection(rng, org, until)
                if row is not None:
                    rows.append(row)
        self.rows["service_records"] = _sorted_with_ids(rows, "created_at")

    def _contact(self, rng: random.Random, org: _Org, moment: datetime) -> int:
        """Mostly the primary contact (there since the start); otherwise anyone already there."""
        known = [contact_id for contact_id, created in org.contacts if created <= moment]
        return known[0] if rng.random() < 0.6 or len(known) == 1 else rng.choice(known)

    def _moment(self, rng: random.Random, start: datetime, end: datetime) -> datetime:
        """A moment in office hours within [start, end), or anywhere in it if office hours don't fit."""
        moment = _office_time(rng, _between(rng, start, end).date())
        return moment if start <= moment < end else _between(rng, start, end)

    def _progress(self, rng: random.Random, opened: datetime, days: tuple[int, int]) -> dict:
        """Status and closing time of a case opened at `opened` that takes `days` to resolve.
        closed_at is set only once a case is resolved or closed; a few old cases are stuck."""
        resolved = opened + timedelta(days=rng.randint(*days), hours=rng.randint(0, 8))
        if resolved >= self.now or rng.random() < 0.03:
            started = opened + timedelta(hours=rng.randint(2, 48))
            if started < self.now:
                return {"status": ms.ServiceStatus.IN_PROGRESS, "closed_at": None, "updated_at": started}
            return {"status": ms.ServiceStatus.OPEN, "closed_at": None, "updated_at": opened}
        closed = resolved + timedelta(days=rng.randint(1, 10))  # the customer confirms, then we close
        if closed < self.now and rng.random() < 0.8:
            return {"status": ms.ServiceStatus.CLOSED, "closed_at": closed, "updated_at": closed}
        return {"status": ms.ServiceStatus.RESOLVED, "closed_at": resolved, "updated_at": resolved}

    def _base_case(self, rng: random.Random, org: _Org, kind: ms.ServiceRecordKind, opened: datetime) -> dict:
        return {
            "kind": kind,
            "organization_id": org.id,
            "contact_id": self._contact(rng, org, opened),
            "currency": "CNY",
            "opened_at": opened,
            **_record(opened),
        }

    def _survey(self, rng: random.Random, org: _Org, wave: datetime) -> dict:
        opened = self._past(wave + timedelta(days=rng.randint(0, 14), hours=rng.randint(1, 9)))
        mean = {"strategic": 8.3, "key": 7.8, "general": 7.2, "potential": 6.8}[org.tier.value]
        if org.troubled and wave > self.now - timedelta(days=100):
            mean = 3.5
        elif org.rhythm == "lapsed":
            mean -= 2
        score = max(0, min(10, round(rng.gauss(mean, 1.5))))
        bucket = "low" if score <= 5 else "mid" if score <= 7 else "high"
        quarter = f"{wave.year}-Q{(wave.month - 1) // 3 + 1}"
        closed = self._past(opened + timedelta(days=rng.randint(1, 5)))
        return {
            **self._base_case(rng, org, ms.ServiceRecordKind.SATISFACTION_SURVEY, opened),
            "assignee_id": rng.choice(self.agents)["id"],
            "title": f"Satisfaction survey {quarter}",
            "status": ms.ServiceStatus.CLOSED,
            "closed_at": closed,
            "updated_at": closed,
            "score": score,
            "comments": rng.choice(words.SURVEY_COMMENTS[bucket]) if rng.random() < 0.6 else None,
        }

    def _visit(self, rng: random.Random, org: _Org, since: datetime, until: datetime) -> dict:
        """Reps plan visits ahead; most past ones happened, some were cancelled or missed."""
        horizon = until if until < self.now else self.now + timedelta(days=30)
        planned = self._moment(rng, since, horizon)
        opened = self._past(max(since, planned - timedelta(days=rng.randint(3, 20))))
        row = {
            **self._base_case(rng, org, ms.ServiceRecordKind.VISIT, opened),
            "assignee_id": org.owner_at(planned),
            "title": f"Visit to {org.name}",
            "planned_at": planned,
            "purpose": rng.choice(words.VISIT_PURPOSES),
            "status": ms.ServiceStatus.OPEN,
        }
        if planned < self.now - timedelta(days=2):
            outcome = rng.random()
            if outcome < 0.85:
                done = planned + timedelta(minutes=rng.randint(0, 120))
                row.update(
                    status=ms.ServiceStatus.CLOSED,
                    done_at=done,
                    closed_at=done + timedelta(hours=4),
                    feedback=rng.choice(words.VISIT_FEEDBACK),
                    updated_at=done + timedelta(hours=4),
                )
            elif outcome < 0.95:
                row.update(
                    status=ms.ServiceStatus.CANCELLED,
                    updated_at=self._past(planned - timedelta(days=1)),
                    resolution="Customer asked to postpone.",
                )
            # else: missed and never recorded: an open visit in the past, for plan-fulfilment reports
        return row

    def _service_request(self, rng: random.Random, org: _Org, since: datetime, until: datetime) -> dict:
        opened = self._past(self._moment(rng, since, until))
        product = self.products[rng.choice(org.basket)] if org.basket else rng.choice(self.products)
        row = {
            **self._base_case(rng, org, ms.ServiceRecordKind.SERVICE_REQUEST, opened),
            "product_id": product.index,
            "assignee_id": rng.choice(self.agents)["id"],
            "title": rng.choice(words.SERVICE_REQUESTS).format(product=product.name),
            "description": "Requested by the customer's maintenance team.",
            **self._progress(rng, opened, (1, 20)),
        }
        if row["closed_at"] is not None:
            row["resolution"] = rng.choice(words.SERVICE_RESOLUTIONS)
            row["cost"] = _money(rng.choice((0, 0, rng.uniform(200, 5000))))
        return row

    def _complaint(
        self, rng: random.Random, org: _Org, since: datetime, until: datetime, *, recent: bool
    ) -> dict:
        latest = until - timedelta(days=1)
        shipped = [
            o
            for o in org.orders
            if o.shipments
            and o.shipments[0]["shipped_at"] is not None
            and o.shipments[0]["shipped_at"] < latest
        ]
        if recent:
            shipped = [o for o in shipped if o.placed_at > self.now - timedelta(days=75)]
        order = None
        if shipped and rng.random() < 0.6:
            late = [o for o in shipped if o.late]
            order = rng.choice(late if late and rng.random() < 0.7 else shipped)
            first_ship = order.shipments[0]["shipped_at"]
            opened = self._past(
                min(latest, first_ship + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8)))
            )
            title = (
                f"Late delivery of order {order.number}"
                if order.late
                else rng.choice(words.COMPLAINTS).format(order=order.number)
            )
        else:
            start = max(self.now - timedelta(days=60), since) if recent else since
            opened = self._past(self._moment(rng, start, until))
            title = rng.choice(words.UNTIED_COMPLAINTS)
        row = {
            **self._base_case(rng, org, ms.ServiceRecordKind.COMPLAINT, opened),
            "order_id": order.id if order else None,
            "assignee_id": rng.choice(self.agents)["id"],
            "title": title,
            "description": "Reported by the customer; see the call notes.",
            "severity": rng.choices(list(ms.Severity), (35, 40, 20, 5))[0],
            **self._progress(rng, opened, (1, 15)),
        }
        if row["closed_at"] is not None:
            row["resolution"] = rng.choice(words.COMPLAINT_RESOLUTIONS)
            if rng.random() < 0.3:
                row["compensation"] = _money(rng.uniform(200, 5000))
        return row

    def _quality_objection(self, rng: random.Random, org: _Org, until: datetime) -> dict | None:
        """Tied to a delivered order line: the order, the line and that line's product."""
        latest = until - timedelta(days=1)
        delivered = [o for o in org.orders if o.delivered_at is not None and o.delivered_at < latest]
        if not delivered:
            return None
        order = rng.choice(delivered)
        line = rng.choice(order.lines)
        product = self.products[line["product_id"] - 1]
        opened = self._past(
            min(latest, order.delivered_at + timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 8)))
        )
        defect = rng.choice(words.DEFECTS)
        folder = f"{rng.getrandbits(48):012x}"
        evidence = [
            f"https://files.partnergraph.example/evidence/{folder}/photo-{k}.jpg"
            for k in range(1, rng.randint(2, 4))
        ]
        if rng.random() < 0.3:
            evidence.append(f"https://files.partnergraph.example/evidence/{folder}/inspection-report.pdf")
        row = {
            **self._base_case(rng, org, ms.ServiceRecordKind.QUALITY_OBJECTION, opened),
            "order_id": order.id,
            "order_line_id": line["id"],
            "product_id": product.index,
            "assignee_id": rng.choice(self.agents)["id"],
            "title": f"Quality objection: {product.name}, {defect}",
            "description": f"{line['quantity']} {product.unit} on order {order.number}, line {line['line_number']}: {defect}.",
            "severity": rng.choices(list(ms.Severity), (25, 40, 25, 10))[0],
            "evidence_links": evidence,
            **self._progress(rng, opened, (3, 30)),
        }
        if row["closed_at"] is not None:
            row["resolution"] = rng.choice(words.QUALITY_RESOLUTIONS)
            if row["resolution"] != words.NO_COMPENSATION:
                row["compensation"] = (
                    line["line_total"] * Decimal(str(round(rng.uniform(0.05, 0.5), 2)))
                ).quantize(_CENT)
        return row

    # -- interactions -------------------------------------------------------------------------

    def _interactions(self) -> None:
        """Calls, e-mails, faxes, messages and meetings over the year, logged by whoever held
        the account at the time (or a service agent for inbound contacts)."""
        rng = self._rng("interactions")
        channels = list(mi.InteractionChannel)
        rows = []
        for org in self.customers:
            if not org.contacts:
                continue
            since, until = max(self.year_ago, org.created_at), org.until(self.now)
            if until <= since:
                continue
            share = (until - since) / (self.now - self.year_ago)
            export = org.city.country != "CN"
            weights = (20, 55, 0, 15, 10) if export else (35, 35, 5, 15, 10)
            for _ in range(_poisson(rng, _INTERACTIONS_PER_YEAR[org.tier] * share)):
                occurred = self._past(self._moment(rng, since, until))
                channel = rng.choices(channels, weights)[0]
                direction = rng.choices(list(mi.InteractionDirection), (40, 60))[0]
                inbound = direction is mi.InteractionDirection.INBOUND
                user = (
                    rng.choice(self.agents)["id"]
                    if inbound and rng.random() < 0.4
                    else org.owner_at(occurred)
                )
                contact_id = self._contact(rng, org, occurred)
                product = self.products[rng.choice(org.basket)].name if org.basket else "our products"
                topic = rng.choice(words.INTERACTION_TOPICS).format(product=product)
                rows.append(
                    {
                        "organization_id": org.id,
                        "contact_id": contact_id,
                        "user_id": user,
                        "channel": channel,
                        "direction": direction,
                        "summary": self._interaction_summary(channel, inbound, topic)
                        + rng.choice(words.INTERACTION_OUTCOMES),
                        "occurred_at": occurred,
                        **_record(occurred),
                    }
                )
        self.rows["interactions"] = _sorted_with_ids(rows, "occurred_at")

    @staticmethod
    def _interaction_summary(channel: mi.InteractionChannel, inbound: bool, topic: str) -> str:
        inbound_verb, outbound_verb = words.INTERACTION_VERBS[channel.value]
        return f"{inbound_verb if inbound else outbound_verb} {topic}."
