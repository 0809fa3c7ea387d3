"""Early warnings, pinned by hand-computed fixtures on an empty database (both backends).

Each test builds its own small world (customers, a supplier, a product, orders, shipments,
objections, complaints) with fixed dates, and sweeps at a fixed `AS_OF`; the expected levels
below are computed by hand from the default thresholds (README "Early warnings"):

    order_overdue       days past promised date      1 YELLOW, 7 ORANGE, 14 RED
    shipment_late       days past expected arrival   1 YELLOW, 3 ORANGE, 7 RED (LOST: RED)
    product_objections  objections / customer+product in 90 days  2 YELLOW, 3 ORANGE, 5 RED
    complaint_rate      complaints in 30 days, above the 90-day baseline rate  2, 3, 5
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from graph.access import SYSTEM
from graph.crm.sweep import sweep
from graph.crm.warnings import EVERYTHING, ORDER_OVERDUE, RuleConfig, Thresholds, evaluate
from graph.ids import encode_global_id
from graph.models.early_warnings import EarlyWarning
from graph.models.orders import Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from graph.models.organizations import CustomerTier, Organization
from graph.models.people import AccountOwnership, User, UserRole
from graph.models.products import Product
from graph.models.service import ServiceRecord, ServiceRecordKind, ServiceStatus
from graph.resolvers.changes import encode_change_cursor
from graph.settings import Settings
from graph.writes import transaction
from tests.conftest import Backend

AS_OF = datetime(2026, 3, 10, tzinfo=UTC)
_counter = itertools.count(1)


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def build_world(backend: Backend) -> dict[str, Any]:
    """The fixture world; returns the ids by name."""
    n = next(_counter)
    tag = f"{backend.name}-{n}"
    ids: dict[str, Any] = {}
    async with backend.session_factory() as s, s.begin():
        c1 = Organization(name=f"EW key customer {tag}", is_customer=True, tier=CustomerTier.KEY)
        c2 = Organization(name=f"EW general customer {tag}", is_customer=True, tier=CustomerTier.GENERAL)
        sup = Organization(name=f"EW supplier {tag}", is_supplier=True)
        rep = User(name=f"EW rep {tag}", email=f"rep-{tag}@example.com", role=UserRole.SALES)
        s.add_all([c1, c2, sup, rep])
        await s.flush()
        s.add(AccountOwnership(organization_id=c1.id, user_id=rep.id, started_at=at("2025-01-01")))
        product = Product(sku=f"EW-{tag}", name=f"Valve {tag}", list_price=Decimal("10"))
        s.add(product)
        await s.flush()

        def order(name: str, customer: Organization, status: OrderStatus, promised: date | None) -> Order:
            o = Order(
                number=f"EW-{tag}-{name}",
                customer_id=customer.id,
                status=status,
                placed_at=at("2026-01-05"),
                promised_date=promised,
            )
            s.add(o)
            return o

        orders = {
            "o1": order("o1", c1, OrderStatus.SUBMITTED, date(2026, 3, 1)),  # 9 days: ORANGE
            "o2": order("o2", c1, OrderStatus.CONFIRMED, date(2026, 3, 9)),  # 1 day: YELLOW
            "o3": order("o3", c1, OrderStatus.DELIVERED, date(2026, 2, 1)),  # delivered: none
            "o4": order("o4", c2, OrderStatus.IN_FULFILMENT, date(2026, 3, 10)),  # due today: none
            "o5": order("o5", c2, OrderStatus.SUBMITTED, date(2026, 2, 20)),  # 18 days: RED
            "o6": order("o6", c1, OrderStatus.SHIPPED, date(2026, 1, 20)),  # carrier's problem now
        }
        await s.flush()
        line = OrderLine(
            order_id=orders["o6"].id,
            line_number=1,
            product_id=product.id,
            supplier_id=sup.id,
            quantity=Decimal(1),
            unit_price=Decimal(10),
            line_total=Decimal(10),
        )
        s.add(line)

        def shipment(name: str, status: ShipmentStatus, expected: datetime | None) -> Shipment:
            sh = Shipment(
                order_id=orders["o6"].id,
                carrier="SF Express",
                tracking_number=f"EW{tag}{name}",
                status=status,
                expected_at=expected,
            )
            s.add(sh)
            return sh

        shipments = {
            "s1": shipment("s1", ShipmentStatus.IN_TRANSIT, at("2026-03-08", 12)),  # 1.5 days: YELLOW
            "s2": shipment("s2", ShipmentStatus.PENDING, at("2026-03-02")),  # 8 days: RED
            "s3": shipment("s3", ShipmentStatus.LOST, at("2026-03-09", 18)),  # lost: RED
            "s4": shipment("s4", ShipmentStatus.DELIVERED, at("2026-02-01")),  # delivered: none
            "s5": shipment("s5", ShipmentStatus.IN_TRANSIT, at("2026-03-09", 18)),  # 6 hours: none
        }
        await s.flush()

        def record(
            kind: ServiceRecordKind,
            customer: Organization,
            opened: str,
            status: ServiceStatus = ServiceStatus.OPEN,
        ) -> None:
            s.add(
                ServiceRecord(
                    kind=kind,
                    organization_id=customer.id,
                    title="x",
                    status=status,
                    opened_at=at(opened),
                    product_id=product.id if kind is ServiceRecordKind.QUALITY_OBJECTION else None,
                    order_line_id=line.id if kind is ServiceRecordKind.QUALITY_OBJECTION else None,
                )
            )

        qo, co = ServiceRecordKind.QUALITY_OBJECTION, ServiceRecordKind.COMPLAINT
        # c1 on the product: 3 in [2025-12-10, 2026-03-10) → ORANGE; a week earlier 2 → RISING.
        for day in ("2026-01-15", "2026-02-20", "2026-03-05"):
            record(qo, c1, day)
        record(qo, c1, "2026-03-06", ServiceStatus.CANCELLED)  # cancelled: not counted
        record(qo, c1, "2025-11-01")  # outside the window
        record(qo, c2, "2026-03-01")  # c2: only 1 → none
        # c2 complaints: 3 in the last 30 days against 1 in the 90 before → rising, ORANGE;
        # a week earlier [2026-02-01, 2026-03-03) held 2 → RISING.
        for day in ("2026-02-10", "2026-02-25", "2026-03-06", "2025-12-15"):
            record(co, c2, day)
        # c1 complaints: 2 in 30 days against 6 in the 90 before: the same rate, not rising → none.
        for day in ("2026-02-15", "2026-03-01", *(f"2025-12-{d:02d}" for d in (1, 5, 9, 13, 17, 21))):
            record(co, c1, day)
        ids.update(c1=c1.id, c2=c2.id, supplier=sup.id, rep=rep.id, product=product.id, line=line.id)
        ids.update({k: v.id for k, v in orders.items()})
        ids.update({k: v.id for k, v in shipments.items()})
    return ids


async def warnings_of(backend: Backend, world: dict[str, Any]) -> list[EarlyWarning]:
    async with backend.session_factory() as s:
        stmt = (
            select(EarlyWarning)
            .where(EarlyWarning.customer_id.in_([world["c1"], world["c2"]]))
            .order_by(EarlyWarning.id)
        )
        return list((await s.execute(stmt)).scalars().all())


def summary(warnings: list[EarlyWarning], world: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    """subject name → (level, measure, trend)."""

    def names(prefix: str) -> dict[int, str]:
        return {v: k for k, v in world.items() if k[0] == prefix and k[1:].isdigit()}

    orders, shipments, customers = names("o"), names("s"), names("c")
    out = {}
    for w in warnings:
        if w.rule == "order_overdue":
            name = orders[w.order_id]
        elif w.rule == "shipment_late":
            name = shipments[w.shipment_id]
        elif w.rule == "product_objections":
            name = f"quality:{customers[w.customer_id]}"
        else:
            name = f"complaints:{customers[w.customer_id]}"
        out[name] = (w.level.name, w.measure, w.trend.name)
    return out


EXPECTED_AT_AS_OF = {
    "o1": ("ORANGE", 9, "RISING"),
    "o2": ("YELLOW", 1, "RISING"),
    "o5": ("RED", 18, "RISING"),
    "s1": ("YELLOW", 1, "RISING"),
    "s2": ("RED", 8, "RISING"),
    "s3": ("RED", 0, "STEADY"),
    "quality:c1": ("ORANGE", 3, "RISING"),
    "complaints:c2": ("ORANGE", 3, "RISING"),
}


async def test_the_sweep_raises_each_rule_at_its_hand_computed_level(blank_backend: Backend) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    warnings = await warnings_of(blank_backend, world)
    assert summary(warnings, world) == EXPECTED_AT_AS_OF
    by_rule = {w.rule: w for w in warnings}
    quality = by_rule["product_objections"]
    assert quality.supplier_id == world["supplier"] and quality.product_id == world["product"]
    assert quality.tier_at_raise is CustomerTier.KEY and quality.previous_measure == 2
    assert by_rule["complaint_rate"].tier_at_raise is CustomerTier.GENERAL
    assert all(w.raised_at == AS_OF and w.status.name == "OPEN" and w.condition_holds for w in warnings)
    assert (
        "9 day(s) past its promised date 2026-03-01"
        in next(w for w in warnings if w.order_id == world["o1"]).description
    )


async def test_sweeping_again_never_duplicates_and_escalates_as_the_measure_worsens(
    blank_backend: Backend,
) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    again = await sweep(blank_backend.session_factory, AS_OF)
    assert summary(await warnings_of(blank_backend, world), world) == EXPECTED_AT_AS_OF
    assert not set(again.raised) & {w.id for w in await warnings_of(blank_backend, world)}

    # Six days later: o1 15 days (RED), o2 7 (ORANGE), s1 7 (RED), s2 14; o4 (due 03-10) and s5
    # (expected 03-09 18:00) are now late too; c2's complaints fall to 2 in 30 days (02-10 left
    # the window) but a level never falls by itself.
    later = AS_OF + timedelta(days=6)
    await sweep(blank_backend.session_factory, later)
    warnings = await warnings_of(blank_backend, world)
    assert len(warnings) == len(EXPECTED_AT_AS_OF) + 2
    got = summary(warnings, world)
    assert got["o4"] == ("YELLOW", 6, "RISING") and got["s5"] == ("ORANGE", 6, "RISING")
    assert got["o1"] == ("RED", 15, "RISING") and got["o2"] == ("ORANGE", 7, "RISING")
    assert got["s1"] == ("RED", 7, "RISING") and got["s2"] == ("RED", 14, "RISING")
    assert got["o5"] == ("RED", 24, "RISING")
    assert got["complaints:c2"] == ("ORANGE", 2, "FALLING")  # a week before (03-09): 3
    escalated = {
        summary([w], world).popitem()[0]: w.escalated_at for w in warnings if w.escalated_at is not None
    }
    assert escalated == {"o1": later, "o2": later, "s1": later}


async def test_thresholds_come_from_the_settings(
    blank_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERGRAPH_WARNING_ORDER_OVERDUE_DAYS", "[2, 4, 9]")
    config = RuleConfig.from_settings(Settings(database_url=blank_backend.url))
    assert config.order_overdue_days == Thresholds(2, 4, 9) and config.shipment_late_days == Thresholds(
        1, 3, 7
    )
    with pytest.raises(ValidationError, match="three ascending"):
        Settings(database_url=blank_backend.url, warning_complaints=[3, 2, 1])
    world = await build_world(blank_backend)
    async with transaction(blank_backend.session_factory, SYSTEM, "test") as uow:
        await evaluate(uow, AS_OF, {ORDER_OVERDUE: {world["o1"], world["o2"], world["o5"]}}, config)
    got = summary(await warnings_of(blank_backend, world), world)
    assert got == {"o1": ("RED", 9, "RISING"), "o5": ("RED", 18, "RISING")}  # o2: 1 day < 2


async def test_concurrent_sweeps_raise_each_warning_once(blank_backend: Backend) -> None:
    world = await build_world(blank_backend)
    results = await asyncio.gather(*(sweep(blank_backend.session_factory, AS_OF) for _ in range(4)))
    warnings = await warnings_of(blank_backend, world)
    assert summary(warnings, world) == EXPECTED_AT_AS_OF
    assert len(warnings) == len(EXPECTED_AT_AS_OF)
    mine = {w.id for w in warnings}
    raised = [i for r in results for i in r.raised if i in mine]
    assert sorted(raised) == sorted(mine)  # each raised by exactly one sweep


async def test_a_sweep_that_loses_the_race_applies_its_findings_to_the_winners_warnings(
    blank_backend: Backend,
) -> None:
    """Sweep A has raised (not yet committed) when sweep B starts: on PostgreSQL B's inserts wait
    for A and then do nothing (the partial unique index), and B applies its findings to A's
    warnings; on SQLite B waits for A's write lock and finds them. Never a duplicate."""
    world = await build_world(blank_backend)
    async with transaction(blank_backend.session_factory, SYSTEM, "a") as a:
        first = await evaluate(a, AS_OF, EVERYTHING)
        second = asyncio.create_task(sweep(blank_backend.session_factory, AS_OF))
        await asyncio.sleep(0.5)
        assert not second.done()
    loser = await second
    warnings = await warnings_of(blank_backend, world)
    assert summary(warnings, world) == EXPECTED_AT_AS_OF and len(warnings) == len(EXPECTED_AT_AS_OF)
    mine = {w.id for w in warnings}
    assert mine <= set(first.raised) and not mine & set(loser.raised)
    assert loser.raced == (len(EXPECTED_AT_AS_OF) if blank_backend.name == "postgresql" else 0)


async def test_the_database_refuses_a_second_open_warning_for_the_same_rule_and_subject(
    blank_backend: Backend,
) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    original = next(w for w in await warnings_of(blank_backend, world) if w.order_id == world["o1"])
    columns = [c.key for c in EarlyWarning.__table__.columns if c.key != "id"]
    copy = {c: getattr(original, c) for c in columns}
    with pytest.raises(IntegrityError):
        async with blank_backend.session_factory() as s, s.begin():
            s.add(EarlyWarning(**copy))
    # Once the first is closed, the same condition may raise a new warning.
    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(
            text("UPDATE early_warnings SET status = 'closed' WHERE id = :id"), {"id": original.id}
        )
    result = await sweep(blank_backend.session_factory, AS_OF)
    fresh = [w for w in await warnings_of(blank_backend, world) if w.order_id == world["o1"]]
    assert len(fresh) == 2 and fresh[1].id in result.raised and fresh[1].status.name == "OPEN"


def _gid(type_name: str, record_id: int) -> str:
    return encode_global_id(type_name, record_id)


WARNING_FIELDS = "id status level resolutionCheck { outcome checkedBy conditionHeld notes }"
ACK = f"mutation($id: ID!) {{ acknowledgeWarning(id: $id) {{ warning {{ {WARNING_FIELDS} }} errors {{ field code message }} }} }}"
ASSIGN = (
    f"mutation($id: ID!, $to: ID!) {{ assignWarning(id: $id, assigneeId: $to) {{ warning {{ {WARNING_FIELDS} "
    "assignee { name } } errors { field code message } } }"
)
CHECK = (
    f"mutation($id: ID!, $outcome: CheckOutcome!) {{ recordWarningResolutionCheck(id: $id, outcome: $outcome, "
    f'notes: "looked") {{ warning {{ {WARNING_FIELDS} }} errors {{ field code message }} }} }}'
)
CLOSE = f"mutation($id: ID!) {{ closeWarning(id: $id) {{ warning {{ {WARNING_FIELDS} closedAt }} errors {{ field code message }} }} }}"


async def test_the_state_machine_and_the_resolution_check_gate(blank_backend: Backend) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    warning = next(w for w in await warnings_of(blank_backend, world) if w.order_id == world["o1"])
    wid = _gid("EarlyWarning", warning.id)
    gql = blank_backend.gql

    # Illegal: close or check an OPEN warning.
    refused = (await gql(CLOSE, {"id": wid}))["closeWarning"]
    assert refused["warning"] is None and refused["errors"][0]["code"] == "INVALID"
    refused = (await gql(CHECK, {"id": wid, "outcome": "RESOLVED"}))["recordWarningResolutionCheck"]
    assert refused["errors"][0]["code"] == "INVALID"

    acked = (await gql(ACK, {"id": wid}))["acknowledgeWarning"]
    assert acked["errors"] == [] and acked["warning"]["status"] == "ACKNOWLEDGED"
    again = (await gql(ACK, {"id": wid}))["acknowledgeWarning"]
    assert again["errors"][0]["code"] == "INVALID"

    assigned = (await gql(ASSIGN, {"id": wid, "to": _gid("User", world["rep"])}))["assignWarning"]
    assert assigned["errors"] == [] and assigned["warning"]["status"] == "RESOLVING"
    assert assigned["warning"]["assignee"]["name"].startswith("EW rep")

    # The order is still open and overdue: the rule finds the condition, so it is not resolved.
    refused = (await gql(CHECK, {"id": wid, "outcome": "RESOLVED"}))["recordWarningResolutionCheck"]
    assert refused["warning"] is None
    assert refused["errors"][0]["code"] == "CONFLICT" and refused["errors"][0]["field"] == ["outcome"]
    not_yet = (await gql(CHECK, {"id": wid, "outcome": "NOT_RESOLVED"}))["recordWarningResolutionCheck"]
    assert not_yet["warning"]["status"] == "RESOLVING"
    assert not_yet["warning"]["resolutionCheck"] == {
        "outcome": "NOT_RESOLVED",
        "checkedBy": "key:test admin",
        "conditionHeld": True,
        "notes": "looked",
    }
    refused = (await gql(CLOSE, {"id": wid}))["closeWarning"]
    assert refused["errors"][0]["code"] == "INVALID"  # only a VERIFIED warning closes

    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(text("UPDATE orders SET status = 'shipped' WHERE id = :id"), {"id": world["o1"]})
    verified = (await gql(CHECK, {"id": wid, "outcome": "RESOLVED"}))["recordWarningResolutionCheck"]
    assert verified["errors"] == [] and verified["warning"]["status"] == "VERIFIED"
    assert verified["warning"]["resolutionCheck"]["conditionHeld"] is False

    # The condition comes back before closing: closing re-evaluates the rule and refuses.
    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(text("UPDATE orders SET status = 'confirmed' WHERE id = :id"), {"id": world["o1"]})
    refused = (await gql(CLOSE, {"id": wid}))["closeWarning"]
    assert refused["errors"][0]["code"] == "CONFLICT"
    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(text("UPDATE orders SET status = 'delivered' WHERE id = :id"), {"id": world["o1"]})
    closed = (await gql(CLOSE, {"id": wid}))["closeWarning"]
    assert (
        closed["errors"] == [] and closed["warning"]["status"] == "CLOSED" and closed["warning"]["closedAt"]
    )
    refused = (await gql(ACK, {"id": wid}))["acknowledgeWarning"]
    assert refused["errors"][0]["code"] == "INVALID"


async def test_a_verified_warning_whose_condition_returns_goes_back_to_resolving(
    blank_backend: Backend,
) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    warning = next(w for w in await warnings_of(blank_backend, world) if w.order_id == world["o2"])
    wid = _gid("EarlyWarning", warning.id)
    await blank_backend.gql(ACK, {"id": wid})
    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(text("UPDATE orders SET status = 'shipped' WHERE id = :id"), {"id": world["o2"]})
    checked = (await blank_backend.gql(CHECK, {"id": wid, "outcome": "RESOLVED"}))[
        "recordWarningResolutionCheck"
    ]
    assert checked["warning"]["status"] == "VERIFIED"
    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(text("UPDATE orders SET status = 'confirmed' WHERE id = :id"), {"id": world["o2"]})
    await sweep(blank_backend.session_factory, AS_OF)
    again = next(w for w in await warnings_of(blank_backend, world) if w.id == warning.id)
    assert again.status.name == "RESOLVING" and again.condition_holds


async def feed_after(backend: Backend, last_event: int, expected: int) -> list[tuple[str, str, dict]]:
    """The change feed after event `last_event`, as (kind, nodeId, node).

    On PostgreSQL the feed holds events back while any older transaction of the cluster runs
    (graph/resolvers/changes.py), and other processes share the test cluster: poll a while; if
    a foreign transaction still holds the horizon, read the same rows from the outbox table."""
    query = (
        "query($after: String) { changes(first: 100, after: $after) { edges { node { kind nodeId "
        "node { ... on EarlyWarning { level customer { id } } } } } } }"
    )
    for _ in range(100):
        feed = await backend.gql(query, {"after": encode_change_cursor(last_event)})
        events = [
            (e["node"]["kind"], e["node"]["nodeId"], e["node"]["node"]) for e in feed["changes"]["edges"]
        ]
        if len(events) >= expected or backend.name != "postgresql":
            return events
        await asyncio.sleep(0.2)
    async with backend.session_factory() as s:
        rows = (
            await s.execute(
                text("SELECT kind, node_id, txid FROM outbox_events WHERE id > :i ORDER BY id"),
                {"i": last_event},
            )
        ).all()
        horizon = (
            await s.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        ).scalar()
    assert rows and all(row.txid >= horizon for row in rows), "the feed lost events it should show"
    nodes = (
        await backend.gql(
            f"{{ nodes(ids: {[row.node_id for row in rows]!r}) {{ ... on EarlyWarning {{ level customer {{ id }} }} }} }}".replace(
                "'", '"'
            )
        )
    )["nodes"]
    return [(row.kind, row.node_id, node) for row, node in zip(rows, nodes, strict=True)]


QUALITY_OBJECTION = """mutation($org: ID!, $product: ID!) {
  createQualityObjection(input: {organizationId: $org, productId: $product, title: "Cracked", severity: HIGH}) {
    record { id } errors { message } } }"""


async def test_the_write_path_raises_in_the_same_transaction_and_publishes_to_the_feed(
    blank_backend: Backend,
) -> None:
    world = await build_world(blank_backend)
    now = datetime.now(UTC)
    async with (
        blank_backend.session_factory() as s,
        s.begin(),
    ):  # one recent objection by c2: below the threshold
        s.add(
            ServiceRecord(
                kind=ServiceRecordKind.QUALITY_OBJECTION,
                organization_id=world["c2"],
                title="x",
                opened_at=now - timedelta(days=3),
                product_id=world["product"],
            )
        )
    async with blank_backend.session_factory() as s:
        last_event = (await s.execute(text("SELECT max(id) FROM outbox_events"))).scalar_one() or 0
    created = await blank_backend.gql(
        QUALITY_OBJECTION,
        {"org": _gid("Organization", world["c2"]), "product": _gid("Product", world["product"])},
    )
    assert created["createQualityObjection"]["errors"] == []
    warnings = [w for w in await warnings_of(blank_backend, world) if w.rule == "product_objections"]
    assert [(w.customer_id, w.level.name, w.measure) for w in warnings] == [(world["c2"], "YELLOW", 2)]

    events = await feed_after(blank_backend, last_event, 2)
    objection = created["createQualityObjection"]["record"]["id"]
    customer = {"id": _gid("Organization", world["c2"])}
    assert events == [  # one transaction: the objection and the warning it raised
        ("service_record.created", objection, {}),
        ("warning.created", _gid("EarlyWarning", warnings[0].id), {"level": "YELLOW", "customer": customer}),
    ]
    warning_only = await blank_backend.gql(
        'query($after: String) { changes(after: $after, kinds: ["warning.*"]) { totalCount } }',
        {"after": encode_change_cursor(last_event)},
    )
    assert warning_only["changes"]["totalCount"] >= 1

    # An order update that moves the promised date into the past raises an order warning at once;
    # shipping it clears the condition (the warning stays until its resolution is checked).
    order = _gid("Order", world["o4"])
    past = (now - timedelta(days=8)).date().isoformat()
    update = "mutation($id: ID!, $input: UpdateOrderInput!) { updateOrder(id: $id, input: $input) { errors { message } } }"
    assert (await blank_backend.gql(update, {"id": order, "input": {"promisedDate": past}}))["updateOrder"][
        "errors"
    ] == []
    raised = [w for w in await warnings_of(blank_backend, world) if w.order_id == world["o4"]]
    assert [(w.level.name, w.measure, w.condition_holds) for w in raised] == [("ORANGE", 8, True)]
    async with blank_backend.session_factory() as s, s.begin():
        await s.execute(text("UPDATE orders SET status = 'shipped' WHERE id = :id"), {"id": world["o4"]})
    assert (await blank_backend.gql(update, {"id": order, "input": {"notes": "shipped"}}))["updateOrder"][
        "errors"
    ] == []
    cleared = [w for w in await warnings_of(blank_backend, world) if w.order_id == world["o4"]]
    assert [(w.condition_holds, w.trend.name, w.status.name) for w in cleared] == [(False, "FALLING", "OPEN")]


LIST = """query($filter: WarningFilter) { warnings(first: 50, filter: $filter) { totalCount
  edges { node { kind level status tierAtRaise currentTier customer { id } } } } }"""


async def test_warnings_appear_on_what_they_concern_and_filter(blank_backend: Backend) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    c1, c2 = _gid("Organization", world["c1"]), _gid("Organization", world["c2"])
    data = await blank_backend.gql(LIST, {"filter": {"customerId": c1}})
    assert data["warnings"]["totalCount"] == 6  # o1, o2; s1, s2, s3 (of c1's o6); quality
    red = await blank_backend.gql(
        LIST, {"filter": {"customerId": c1, "levels": ["RED"], "kinds": ["LOGISTICS"]}}
    )
    assert red["warnings"]["totalCount"] == 2
    assert {e["node"]["tierAtRaise"] for e in red["warnings"]["edges"]} == {"KEY"}
    query = """query($c: ID!, $s: ID!, $o: ID!, $p: ID!) {
      customer: node(id: $c) { ... on Organization { warnings(first: 10) { totalCount } } }
      supplier: node(id: $s) { ... on Organization { warnings(first: 10) { edges { node { kind } } } } }
      order: node(id: $o) { ... on Order { warnings { edges { node { kind level } } } } }
      product: node(id: $p) { ... on Product { warnings { edges { node { kind level customer { id } } } } } } }"""
    got = await blank_backend.gql(
        query,
        {
            "c": c2,
            "s": _gid("Organization", world["supplier"]),
            "o": _gid("Order", world["o5"]),
            "p": _gid("Product", world["product"]),
        },
    )
    assert got["customer"]["warnings"]["totalCount"] == 2  # o5, complaints
    assert [e["node"]["kind"] for e in got["supplier"]["warnings"]["edges"]] == ["PRODUCT_QUALITY"]
    assert got["order"]["warnings"]["edges"] == [{"node": {"kind": "ORDER_FULFILMENT", "level": "RED"}}]
    assert got["product"]["warnings"]["edges"] == [
        {"node": {"kind": "PRODUCT_QUALITY", "level": "ORANGE", "customer": {"id": c1}}}
    ]


async def test_partners_never_see_warnings_and_reps_only_their_own_customers(blank_backend: Backend) -> None:
    world = await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    c1, c2 = _gid("Organization", world["c1"]), _gid("Organization", world["c2"])
    customer = await blank_backend.key("customer", organization_id=world["c1"])
    data = await blank_backend.gql(LIST, {"filter": {"customerId": c1}}, key=customer)
    assert data["warnings"]["totalCount"] == 0
    own = await blank_backend.gql(
        f'{{ node(id: "{c1}") {{ ... on Organization {{ warnings {{ totalCount }} }} }} }}', key=customer
    )
    assert own["node"]["warnings"]["totalCount"] == 0
    feed = await blank_backend.gql(
        '{ changes(first: 100, kinds: ["warning.*"]) { totalCount } }', key=customer
    )
    assert feed["changes"]["totalCount"] == 0
    supplier = await blank_backend.key("supplier", organization_id=world["supplier"])
    data = await blank_backend.gql(
        LIST, {"filter": {"supplierId": _gid("Organization", world["supplier"])}}, key=supplier
    )
    assert data["warnings"]["totalCount"] == 0
    refused = await blank_backend.gql(ACK, {"id": _gid("EarlyWarning", 1)}, key=customer, errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    rep = await blank_backend.key("sales", user_id=world["rep"])
    mine = await blank_backend.gql(LIST, {"filter": {"customerId": c1}}, key=rep)
    assert mine["warnings"]["totalCount"] == 6
    theirs = await blank_backend.gql(LIST, {"filter": {"customerId": c2}}, key=rep)
    assert theirs["warnings"]["totalCount"] == 0  # c2 has no owner: visible to reps, its warnings are not
    feed = await blank_backend.gql(
        '{ changes(first: 100, kinds: ["warning.*"]) { edges { node { nodeId } } } }', key=rep
    )
    seen = {e["node"]["nodeId"] for e in feed["changes"]["edges"]}
    owned = {
        _gid("EarlyWarning", w.id)
        for w in await warnings_of(blank_backend, world)
        if w.customer_id == world["c1"]
    }
    assert seen <= owned  # never another rep's or an unowned customer's warning
    if blank_backend.name == "sqlite":  # (PostgreSQL's feed may be held back by foreign transactions)
        assert seen == owned
    other = next(w for w in await warnings_of(blank_backend, world) if w.customer_id == world["c2"])
    refused = (await blank_backend.gql(ACK, {"id": _gid("EarlyWarning", other.id)}, key=rep))[
        "acknowledgeWarning"
    ]
    assert refused["errors"][0]["code"] == "NOT_FOUND"


async def test_the_cli_sweeps_at_a_given_instant(blank_backend: Backend) -> None:
    world = await build_world(blank_backend)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "graph.cli",
            "warnings",
            "sweep",
            "--database-url",
            blank_backend.url,
            "--as-of",
            "2026-03-10T00:00:00Z",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"raised"' in done.stdout
    assert summary(await warnings_of(blank_backend, world), world) == EXPECTED_AT_AS_OF
    async with blank_backend.session_factory() as s:
        audited = (
            await s.execute(text("SELECT count(*) FROM audit_events WHERE operation = 'warnings.sweep'"))
        ).scalar_one()
    assert audited >= len(EXPECTED_AT_AS_OF)


NESTED = """query($n: Int) { organizations(first: $n, filter: {roles: [CUSTOMER]}) { edges { node { name
  warnings(first: 5) { totalCount edges { node { level currentTier customer { name } order { number } } } } } } } }"""


async def test_nested_warnings_are_batched(blank_backend: Backend) -> None:
    for _ in range(3):
        await build_world(blank_backend)
    await sweep(blank_backend.session_factory, AS_OF)
    few_data, few = await blank_backend.statements(NESTED, {"n": 2})
    many_data, many = await blank_backend.statements(NESTED, {"n": 12})
    assert sum(e["node"]["warnings"]["totalCount"] for e in many_data["organizations"]["edges"]) > 0
    assert few == many, (few, many)


async def test_the_in_process_schedule_sweeps_when_enabled(blank_backend: Backend) -> None:
    """Last in the module: it sweeps at the real now, which escalates every world."""
    from graph.app import create_app

    world = await build_world(blank_backend)
    settings = blank_backend.settings.model_copy(
        update={"warnings_sweep_enabled": True, "warnings_sweep_interval_seconds": 0.05}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        sweeper = app.state.warning_sweeper
        for _ in range(200):
            if sweeper.runs >= 2:
                break
            await asyncio.sleep(0.05)
        assert sweeper.runs >= 2
    assert sweeper._task is None  # stopped with the app
    levels = {w.order_id: w.level.name for w in await warnings_of(blank_backend, world) if w.order_id}
    assert levels[world["o1"]] == "RED"  # months past its promised date by now
    assert not create_app(blank_backend.settings).state.__dict__.get("warning_sweeper")
