"""Every documented filter, sort and keyset is served by an index (PostgreSQL only).

Each case runs a real GraphQL query against the app, captures the SQL it sends (with its
parameters), and EXPLAINs the statement that reads the page: the plan must name the
expected index. The database is migrated (so the migrations' indexes are what is tested,
not create_all), seeded with the demo data and ANALYZEd, so the planner works from real
statistics; we never turn sequential scans off. ``random_page_cost = 1.1`` is the usual
setting for SSD storage (PostgreSQL's default of 4 assumes spinning disks).

docs/indexes.md is produced by the same cases on a larger dataset:

    PARTNERGRAPH_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        python -m tests.test_indexes --customers 2000 > /tmp/indexes.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from graph.app import create_app
from graph.auth import create_api_key
from graph.db import create_engine
from graph.ids import encode_global_id
from graph.migrate import upgrade
from graph.seed import seed_demo
from graph.settings import Settings

try:
    from tests.pg import create_pg_database, drop_pg_database, pg_reachable, pg_required
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from pg import create_pg_database, drop_pg_database, pg_reachable, pg_required

TEST_CUSTOMERS = 1000  # ~12k orders, ~28k lines: seeded and analysed in a few seconds
PLANNER_SETTINGS = ("SET random_page_cost = 1.1",)


@dataclass(frozen=True)
class Case:
    """One documented filter/sort/keyset, the statement that serves it, and its index."""

    name: str
    query: str  # GraphQL; {placeholders} are filled from the sample ids; $after pages once
    table: str  # the page statement is the first one reading FROM this table with a LIMIT
    index: str  # the index its plan must use ("a|b": either, where the planner may fairly pick)
    role: str = "admin"
    org: str | None = None  # which sample organization a partner key is bound to

    def served_by(self, indexes: set[str]) -> bool:
        return bool(set(self.index.split("|")) & indexes)


def _q(root: str, args: str = "", node: str = "id") -> str:
    return (
        f"query($after: String) {{ {root}(first: 20, after: $after{', ' + args if args else ''}) "
        f"{{ pageInfo {{ endCursor }} edges {{ node {{ {node} }} }} }} }}"
    )


def _plain(root: str, args: str = "", node: str = "id") -> str:
    return f"{{ {root}(first: 20{', ' + args if args else ''}) {{ edges {{ node {{ {node} }} }} }} }}"


CASES: list[Case] = [
    # -- orders: sorts and keyset (page 2, from a cursor) ------------------------------------
    Case("orders by placedAt (default), keyset page 2", _q("orders"), "orders", "ix_orders_placed_at_id"),
    Case("orders by total, keyset page 2", _q("orders", "orderBy: {field: TOTAL, direction: DESC}"),
         "orders", "ix_orders_total_amount_id"),
    Case("orders by number, keyset page 2", _q("orders", "orderBy: {field: NUMBER, direction: ASC}"),
         "orders", "uq_orders_number"),
    Case("orders by createdAt, keyset page 2", _q("orders", "orderBy: {field: CREATED_AT, direction: DESC}"),
         "orders", "ix_orders_created_at_id"),
    # -- orders: filters ----------------------------------------------------------------------
    Case("orders filter status", _plain("orders", "filter: {status: [SUBMITTED]}"),
         "orders", "ix_orders_status_placed_at_id"),
    Case("orders filter customerId", _plain("orders", 'filter: {customerId: "{customer}"}'),
         "orders", "ix_orders_customer_id_placed_at_id"),
    Case("orders filter distributorId", _plain("orders", 'filter: {distributorId: "{distributor}"}'),
         "orders", "ix_orders_distributor_id_placed_at_id"),
    Case("orders filter supplierId", _plain("orders", 'filter: {supplierId: "{supplier}"}'),
         "orders", "ix_order_lines_supplier_id_order_id"),
    Case("orders filter placed range", _plain("orders", 'filter: {placed: {from: "{month_from}", to: "{month_to}"}}'),
         "orders", "ix_orders_placed_at_id"),
    Case("orders filter total range, by total",
         _plain("orders", 'filter: {total: {min: "50000"}}, orderBy: {field: TOTAL, direction: DESC}'),
         "orders", "ix_orders_total_amount_id"),
    # -- organizations ------------------------------------------------------------------------
    Case("organizations by name (default)", _q("organizations"), "organizations", "ix_organizations_name_id"),
    Case("organizations by createdAt", _q("organizations", "orderBy: {field: CREATED_AT, direction: DESC}"),
         "organizations", "ix_organizations_created_at_id"),
    Case("organizations filter roles SUPPLIER", _plain("organizations", "filter: {roles: [SUPPLIER]}"),
         "organizations", "ix_organizations_name_id"),
    Case("organizations filter roles DISTRIBUTOR", _plain("organizations", "filter: {roles: [DISTRIBUTOR]}"),
         "organizations", "ix_organizations_name_id"),
    Case("organizations filter region", _plain("organizations", 'filter: {regions: ["{region}"]}'),
         "organizations", "ix_organizations_name_id|ix_organizations_region"),
    Case("organizations filter status", _plain("organizations", "filter: {status: [SUSPENDED]}"),
         "organizations", "ix_organizations_status"),
    # -- products -----------------------------------------------------------------------------
    Case("products by name (default)", _q("products"), "products", "ix_products_name_id"),
    Case("products by sku", _q("products", "orderBy: {field: SKU, direction: ASC}"), "products", "uq_products_sku"),
    Case("products by listPrice", _q("products", "orderBy: {field: LIST_PRICE, direction: DESC}"),
         "products", "ix_products_list_price_id"),
    Case("products by createdAt", _q("products", "orderBy: {field: CREATED_AT, direction: DESC}"),
         "products", "ix_products_created_at_id"),
    # -- service records ----------------------------------------------------------------------
    Case("serviceRecords by openedAt, keyset page 2", _q("serviceRecords"),
         "service_records", "ix_service_records_opened_at_id"),
    Case("serviceRecords filter kinds + open",
         _plain("serviceRecords", "filter: {kinds: [QUALITY_OBJECTION], open: true}"),
         "service_records", "ix_service_records_kind_status"),
    Case("serviceRecords filter organizationId", _plain("serviceRecords", 'filter: {organizationId: "{customer}"}'),
         "service_records", "ix_service_records_org_opened_at_id"),
    Case("serviceRecords filter orderId", _plain("serviceRecords", 'filter: {orderId: "{order}"}'),
         "service_records", "ix_service_records_order_id"),
    Case("serviceRecords filter productId", _plain("serviceRecords", 'filter: {productId: "{product}"}'),
         "service_records", "ix_service_records_product_id"),
    Case("serviceRecords filter assigneeId", _plain("serviceRecords", 'filter: {assigneeId: "{user}"}'),
         "service_records", "ix_service_records_opened_at_id|ix_service_records_assignee_id"),
    Case("serviceRecords filter opened range",
         _plain("serviceRecords", 'filter: {opened: {from: "{month_from}", to: "{month_to}"}}'),
         "service_records", "ix_service_records_opened_at_id"),
    # -- shipments ----------------------------------------------------------------------------
    Case("shipments by createdAt, keyset page 2", _q("shipments"), "shipments", "ix_shipments_created_at_id"),
    Case("shipments filter status", _plain("shipments", "filter: {status: [LOST]}"),
         "shipments", "ix_shipments_status_expected_at|ix_shipments_created_at_id"),
    Case("shipments filter trackingNumber", _plain("shipments", 'filter: {trackingNumber: "{tracking}"}'),
         "shipments", "ix_shipments_tracking_number"),
    # -- interactions, contracts --------------------------------------------------------------
    Case("interactions by occurredAt, keyset page 2", _q("interactions"),
         "interactions", "ix_interactions_occurred_at_id"),
    Case("interactions filter organizationId", _plain("interactions", 'filter: {organizationId: "{customer}"}'),
         "interactions", "ix_interactions_org_occurred_at_id"),
    Case("contracts by validFrom, keyset page 2", _q("contracts"), "contracts", "ix_contracts_valid_from_id"),
    Case("contracts filter status", _plain("contracts", "filter: {status: [TERMINATED]}"),
         "contracts", "ix_contracts_status"),
    # -- nested pages of many parents (ROW_NUMBER() OVER (PARTITION BY parent)) ---------------
    Case("customer → orders (per parent)",
         "{ organizations(first: 20, filter: {roles: [CUSTOMER]}) { edges { node { "
         "orders(first: 5) { edges { node { id } } } } } } }",
         "orders", "ix_orders_customer_id_placed_at_id"),
    Case("order → lines (per parent)",
         "{ orders(first: 20) { edges { node { lines(first: 5) { edges { node { id } } } } } } }",
         "order_lines", "uq_order_lines_order_id_line_number"),
    Case("organization → serviceRecords (per parent)",
         "{ organizations(first: 20, filter: {roles: [CUSTOMER]}) { edges { node { "
         "serviceRecords(first: 5) { edges { node { id } } } } } } }",
         "service_records", "ix_service_records_org_opened_at_id"),
    Case("order → shipments (per parent)",
         "{ orders(first: 20) { edges { node { shipments(first: 5) { edges { node { id } } } } } } }",
         "shipments", "ix_shipments_order_id_created_at_id"),
    # -- partner scoping (graph/access.py) ---------------------------------------------------
    Case("supplier sees orders (order_lines.supplier_id)", _plain("orders"),
         "orders", "ix_order_lines_supplier_id_order_id", role="supplier", org="supplier"),
    Case("distributor sees orders (orders.distributor_id)", _plain("orders"),
         "orders", "ix_orders_distributor_id_placed_at_id", role="distributor", org="distributor"),
    Case("distributor sees customers (distributor_coverage)", _plain("organizations"),
         "organizations", "uq_distributor_coverage_distributor_id_customer_id", role="distributor", org="distributor"),
    Case("customer sees shipments (orders.customer_id)", _plain("shipments"),
         "shipments", "ix_orders_customer_id_placed_at_id", role="customer", org="customer"),
]


# -- the harness ----------------------------------------------------------------------------


@dataclass
class Captured:
    statements: list[tuple[str, Any]] = field(default_factory=list)
    on: bool = False


@dataclass
class Explained:
    case: Case
    sql: str
    plan: dict
    indexes: set[str]
    outline: str


class IndexHarness:
    """A seeded, analysed PostgreSQL database and an app whose SQL we capture."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.captured = Captured()
        self.samples: dict[str, str] = {}
        self.org_ids: dict[str, int] = {}
        self.keys: dict[tuple[str, str | None], str] = {}

    async def prepare(self, customers: int, *, seed: bool = True) -> None:
        await upgrade(self.url)
        if seed:
            engine = create_engine(Settings(database_url=self.url))
            await seed_demo(engine, customers=customers, seed=7)
            await engine.dispose()
        self.app = create_app(Settings(database_url=self.url, debug=True, cost_budget=10**9))
        engine: AsyncEngine = self.app.state.engine

        def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            if self.captured.on:
                self.captured.statements.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        self.explainer = create_async_engine(self.url, poolclass=NullPool)
        async with self.explainer.begin() as conn:
            await conn.execute(text("ANALYZE"))
        await self._samples()

    async def close(self) -> None:
        await self.explainer.dispose()
        await self.app.state.engine.dispose()

    async def _samples(self) -> None:
        """Ids to filter by: the busiest customer, distributor, supplier, and so on."""
        one = {
            "customer": "SELECT customer_id FROM orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            "distributor": "SELECT distributor_id FROM orders WHERE distributor_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            "supplier": "SELECT supplier_id FROM order_lines WHERE supplier_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            "order": "SELECT order_id FROM service_records WHERE order_id IS NOT NULL ORDER BY 1 LIMIT 1",
            "product": "SELECT product_id FROM service_records WHERE product_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            "user": "SELECT assignee_id FROM service_records WHERE assignee_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            "tracking": "SELECT tracking_number FROM shipments WHERE tracking_number IS NOT NULL ORDER BY id LIMIT 1",
            "region": "SELECT region FROM organizations WHERE region IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*), 1 LIMIT 1",
            "month_to": "SELECT max(placed_at) FROM orders",
        }
        types = {"customer": "Organization", "distributor": "Organization", "supplier": "Organization",
                 "order": "Order", "product": "Product", "user": "User"}
        async with self.explainer.connect() as conn:
            for name, sql in one.items():
                value = (await conn.execute(text(sql))).scalar()
                if name in types:
                    self.org_ids[name] = value
                    self.samples[name] = encode_global_id(types[name], value)
                elif name == "month_to":
                    self.samples["month_to"] = value.isoformat()
                    self.samples["month_from"] = value.replace(day=1).isoformat()
                else:
                    self.samples[name] = value

    async def _key(self, role: str, org: str | None) -> str:
        if (role, org) not in self.keys:
            async with self.app.state.session_factory() as session, session.begin():
                new = await create_api_key(
                    session, role=role, name=f"index test {role}",
                    organization_id=self.org_ids[org] if org else None,
                )
            self.keys[(role, org)] = new.key
        return self.keys[(role, org)]

    async def _post(self, client: httpx.AsyncClient, query: str, variables: dict, key: str) -> dict:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers={"authorization": f"Bearer {key}"}
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def statements(self, case: Case) -> list[tuple[str, Any]]:
        """The SQL (and parameters) the API sends for the case's query."""
        query = re.sub(r"\{(\w+)\}", lambda m: self.samples.get(m.group(1), m.group(0)), case.query)
        key = await self._key(case.role, case.org)
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            variables: dict[str, Any] = {}
            if "$after" in query:  # page 2: the keyset condition is part of the statement
                data = await self._post(client, query, {"after": None}, key)
                root = next(iter(data.values()))
                variables["after"] = root["pageInfo"]["endCursor"]
                assert variables["after"], f"{case.name}: no rows to page through"
            self.captured.statements.clear()
            self.captured.on = True
            try:
                await self._post(client, query, variables, key)
            finally:
                self.captured.on = False
        return list(self.captured.statements)

    async def explain(self, case: Case, *, analyze: bool = False) -> Explained:
        reads = re.compile(rf"\bFROM {case.table}\b")
        candidates = [
            (sql, params) for sql, params in await self.statements(case)
            if reads.search(sql) and (" LIMIT " in sql or "row_number()" in sql) and not sql.lstrip().upper().startswith(("INSERT", "UPDATE"))
        ]
        assert candidates, f"{case.name}: no paged statement reads {case.table}"
        sql, params = candidates[0]
        options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
        async with self.explainer.connect() as conn:
            for setting in PLANNER_SETTINGS:
                await conn.execute(text(setting))
            raw = (await conn.exec_driver_sql(f"EXPLAIN ({options}) {sql}", tuple(params or ()))).scalar()
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        return Explained(case, sql, plan, set(_index_names(plan["Plan"])), outline(plan["Plan"]))


def _index_names(node: dict) -> list[str]:
    names = [node["Index Name"]] if "Index Name" in node else []
    for child in node.get("Plans", ()):
        names.extend(_index_names(child))
    return names


def outline(node: dict, depth: int = 0) -> str:
    """The plan as indented lines: node type, index, relation and (estimated) rows."""
    label = node["Node Type"]
    if node.get("Scan Direction") == "Backward":
        label += " Backward"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    if "Index Cond" in node:
        label += f"  [{node['Index Cond']}]"
    rows = f"rows={node['Actual Rows']}" if "Actual Rows" in node else f"est. rows={node['Plan Rows']}"
    lines = ["  " * depth + f"{label} ({rows})"]
    for child in node.get("Plans", ()):
        lines.append(outline(child, depth + 1))
    return "\n".join(lines)


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def harness() -> AsyncIterator[IndexHarness]:
    if not await pg_reachable():
        if pg_required():
            pytest.fail("PARTNERGRAPH_TEST_PG_URL is set but the PostgreSQL server is unreachable")
        pytest.skip("no PostgreSQL server at the default test URL (set PARTNERGRAPH_TEST_PG_URL)")
    url = await create_pg_database(prefix="pg_indexes")
    harness = IndexHarness(url)
    try:
        await harness.prepare(TEST_CUSTOMERS)
        yield harness
    finally:
        if hasattr(harness, "app"):
            await harness.close()
        await drop_pg_database(url)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_documented_filter_uses_its_index(harness: IndexHarness, case: Case) -> None:
    explained = await harness.explain(case)
    assert case.served_by(explained.indexes), (
        f"{case.name}: expected {case.index} in the plan of\n{explained.sql}\n\n{explained.outline}"
    )


# -- docs/indexes.md ----------------------------------------------------------------------------


async def _report(customers: int, url: str | None, keep: bool) -> None:
    made = url is None
    url = url or await create_pg_database(prefix="pg_indexes_doc")
    harness = IndexHarness(url)
    started = time.monotonic()
    try:
        await harness.prepare(customers, seed=made)
        async with harness.explainer.connect() as conn:
            counts = {
                t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar()  # noqa: S608
                for t in ("organizations", "orders", "order_lines", "shipments", "service_records", "interactions")
            }
        print(f"<!-- {customers} customers; rows: {counts}; prepared in {time.monotonic() - started:.1f}s -->\n")
        failures = 0
        for case in CASES:
            explained = await harness.explain(case, analyze=True)
            ok = case.served_by(explained.indexes)
            failures += not ok
            print(f"### {case.name}\n")
            print(f"Index: `{case.index.replace('|', '` or `')}`{'' if ok else '  **NOT USED**'} — "
                  f"execution {explained.plan['Execution Time']:.2f} ms\n")
            print("```\n" + explained.outline + "\n```\n")
        print(f"<!-- {len(CASES) - failures}/{len(CASES)} cases use their index -->")
    finally:
        await harness.close()
        if made and not keep:
            await drop_pg_database(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="EXPLAIN every documented filter on a seeded PostgreSQL.")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--url", help="an already seeded database (migrated to head here); default: a new one")
    parser.add_argument("--keep", action="store_true", help="keep the database it creates")
    args = parser.parse_args()
    asyncio.run(_report(args.customers, args.url, args.keep))
