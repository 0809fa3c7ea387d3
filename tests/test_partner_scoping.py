"""Partners see what they take part in and nothing else, on every path.

The property test builds random datasets (the demo generator with a random seed), then for
every partner of every kind asks node(id:)/nodes(ids:) for every id in the database and
runs the portal queries; what comes back must equal what an independent reference model of
the rules, computed here from the raw tables, says that partner may see.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from graph.app import create_app
from graph.auth import create_api_key
from graph.db import create_engine
from graph.ids import encode_global_id
from graph.migrate import upgrade
from graph.models import contracts, interactions, orders, organizations, people, products, service
from graph.resolvers.service import TYPE_NAMES
from graph.seed import seed_demo
from graph.settings import Settings
from tests.pg import create_pg_database, drop_pg_database

TABLES = {
    "Organization": organizations.Organization,
    "Contact": people.Contact,
    "User": people.User,
    "AccountOwnership": people.AccountOwnership,
    "Contract": contracts.Contract,
    "Product": products.Product,
    "Supply": products.SupplierProduct,
    "Order": orders.Order,
    "OrderLine": orders.OrderLine,
    "Shipment": orders.Shipment,
    "Interaction": interactions.Interaction,
}


async def _rows(session, model) -> list[Any]:  # noqa: ANN001
    return list((await session.execute(select(model.__table__))).all())


async def load_world(session_factory) -> dict[str, list[Any]]:  # noqa: ANN001
    async with session_factory() as session:
        world = {name: await _rows(session, model) for name, model in TABLES.items()}
        world["ServiceRecord"] = await _rows(session, service.ServiceRecord)
        world["Coverage"] = await _rows(session, organizations.DistributorCoverage)
    return world


def all_ids(world: dict[str, list[Any]]) -> list[str]:
    ids = [encode_global_id(name, row.id) for name in TABLES for row in world[name]]
    ids += [encode_global_id(TYPE_NAMES[row.kind], row.id) for row in world["ServiceRecord"]]
    return ids


def expected_visible(world: dict[str, list[Any]], kind: str, org: int) -> set[str]:
    """The reference model: the rules of the README's security model, written independently."""
    orders_, lines = world["Order"], world["OrderLine"]
    seen: dict[str, set[int]] = defaultdict(set)
    if kind == "customer":
        seen["Organization"] = {org}
        seen["Order"] = {o.id for o in orders_ if o.customer_id == org}
        seen["OrderLine"] = {line.id for line in lines if line.order_id in seen["Order"]}
        seen["Product"] = {p.id for p in world["Product"] if p.archived_at is None} | {
            line.product_id for line in lines if line.id in seen["OrderLine"]
        }
        records = {r.id for r in world["ServiceRecord"] if r.organization_id == org and r.kind.value != "visit"}
    elif kind == "supplier":
        seen["Organization"] = {org}
        seen["OrderLine"] = {line.id for line in lines if line.supplier_id == org}
        seen["Order"] = {line.order_id for line in lines if line.supplier_id == org}
        seen["Supply"] = {s.id for s in world["Supply"] if s.supplier_id == org}
        seen["Product"] = {s.product_id for s in world["Supply"] if s.supplier_id == org} | {
            line.product_id for line in lines if line.supplier_id == org
        }
        records = {
            r.id for r in world["ServiceRecord"]
            if r.kind.value == "quality_objection" and r.order_line_id in seen["OrderLine"]
        }
    else:
        served = {c.customer_id for c in world["Coverage"] if c.distributor_id == org and c.archived_at is None}
        seen["Organization"] = {org} | served
        seen["Order"] = {o.id for o in orders_ if o.distributor_id == org}
        seen["OrderLine"] = {line.id for line in lines if line.order_id in seen["Order"]}
        seen["Product"] = {p.id for p in world["Product"] if p.archived_at is None} | {
            line.product_id for line in lines if line.id in seen["OrderLine"]
        }
        records = set()
    seen["Shipment"] = {s.id for s in world["Shipment"] if s.order_id in seen["Order"]}
    seen["Contact"] = {c.id for c in world["Contact"] if c.organization_id == org}
    seen["Contract"] = {c.id for c in world["Contract"] if c.organization_id == org}
    ids = {encode_global_id(name, i) for name, values in seen.items() for i in values}
    ids |= {encode_global_id(TYPE_NAMES[r.kind], r.id) for r in world["ServiceRecord"] if r.id in records}
    return ids


def partners(world: dict[str, list[Any]]) -> list[tuple[str, int]]:
    found = []
    for org in world["Organization"]:
        if org.archived_at is not None:  # archived partners get no keys
            continue
        for kind in ("customer", "supplier", "distributor"):
            if getattr(org, f"is_{kind}"):
                found.append((kind, org.id))
    return found


PORTAL = """{
  organizations(first: 100) { edges { node { id
    contacts(first: 100) { edges { node { id } } }
    contracts(first: 100) { edges { node { id } } }
    orders(first: 100) { edges { node { id lines(first: 100) { edges { node { id product { id } } } }
      shipments(first: 100) { edges { node { id } } } serviceRecords(first: 100) { edges { node { id } } } } } }
    deliveredOrders(first: 100) { edges { node { id } } }
    suppliedOrders(first: 100) { edges { node { id lines(first: 100) { edges { node { id } } } } } }
    fulfilledOrderLines(first: 100) { edges { node { id order { id } } } }
    suppliedProducts(first: 100) { edges { node { id product { id } } } }
    servedCustomers(first: 100) { edges { node { id } } }
    serviceRecords(first: 100) { edges { node { id } } }
    shipments(first: 100) { edges { node { id } } }
  } } }
  orders(first: 100) { totalCount edges { node { id customer { id } distributor { id } } } }
  products(first: 100) { edges { node { id supplies(first: 100) { edges { node { id supplier { id } } } } } } }
  serviceRecords(first: 100) { edges { node { id } } }
  contacts(first: 100) { edges { node { id } } }
  users(first: 100) { edges { node { id } } }
  interactions(first: 100) { edges { node { id } } }
  shipments(first: 100) { edges { node { id } } }
}"""


def collect_ids(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                found.add(item)
            else:
                collect_ids(item, found)
    elif isinstance(value, list):
        for item in value:
            collect_ids(item, found)


async def check_world(url: str) -> None:
    # The portal query below asks for everything at once; cost limits are tested elsewhere.
    settings_ = Settings(database_url=url, debug=True, max_query_cost=10**8, cost_budget=10**9)
    app = create_app(settings_)
    try:
        world = await load_world(app.state.session_factory)
        ids = all_ids(world)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for kind, org in partners(world):
                async with app.state.session_factory() as session, session.begin():
                    key = (await create_api_key(session, role=kind, name="prop", organization_id=org)).key
                headers = {"authorization": f"Bearer {key}"}
                expected = expected_visible(world, kind, org)
                got: set[str] = set()
                for start in range(0, len(ids), 100):
                    chunk = ids[start : start + 100]
                    body = (await client.post("/graphql", headers=headers, json={
                        "query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": chunk}})).json()
                    assert "errors" not in body, body
                    got |= {n["id"] for n in body["data"]["nodes"] if n is not None}
                assert got == expected, (kind, org, sorted(got ^ expected)[:10])
                body = (await client.post("/graphql", headers=headers, json={"query": PORTAL})).json()
                assert "errors" not in body, (kind, body.get("errors"))
                reached: set[str] = set()
                collect_ids(body["data"], reached)
                assert reached <= expected, (kind, org, sorted(reached - expected)[:10])
    finally:
        await app.state.engine.dispose()


async def build_world(url: str, seed: int, customers: int) -> None:
    await upgrade(url)
    engine = create_engine(Settings(database_url=url))
    await seed_demo(engine, customers=customers, seed=seed)
    await engine.dispose()


# No shrinking: each example builds a database; the failing seed is printed as it is.
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
@given(seed=st.integers(min_value=0, max_value=10_000), customers=st.integers(min_value=10, max_value=16))
async def test_partners_see_exactly_their_part_of_the_chain_on_sqlite(tmp_path_factory, seed: int, customers: int) -> None:
    path = tmp_path_factory.mktemp("prop") / "world.db"
    url = f"sqlite+aiosqlite:///{path}"
    await build_world(url, seed, customers)
    await check_world(url)


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
@given(seed=st.integers(min_value=0, max_value=10_000))
async def test_partners_see_exactly_their_part_of_the_chain_on_postgresql(seed: int) -> None:
    url = await create_pg_database(prefix="pg_scope")
    try:
        await build_world(url, seed, 12)
        await check_world(url)
    finally:
        await drop_pg_database(url)


def test_reference_ids_are_global_ids() -> None:
    assert base64.b64decode(encode_global_id("Order", 5)).decode() == "Order:5"
