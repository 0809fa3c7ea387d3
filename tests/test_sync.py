"""syncOrders: set-based, per-item atomic, versioned and idempotent order sync."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, literal, select, text
from sqlalchemy.exc import DBAPIError

from graph.access import Principal, PrincipalKind
from graph.audit import Created, json_safe
from graph.ids import decode_global_id, encode_global_id
from graph.models import organizations as om
from graph.models import products as pm
from graph.models.base import utcnow
from graph.models.orders import Order, OrderLine, OrderStatus
from graph.models.security import AuditEvent
from graph.models.sync import IdempotencyKey, OutboxEvent, StatusTransition
from graph.outbox import outbox_rows, prepared_rows, publish
from graph.resolvers.sync import _planned_for_values
from graph.writes import Change, insert_many, overlapped

SYNC = """
mutation($input: SyncOrdersInput!) {
  syncOrders(input: $input) {
    replayed
    errors { field message code }
    results {
      index externalReference status
      errors { field code }
      order { id status version total { amount } lines { edges { node { lineNumber quantity } } } }
    }
  }
}"""


async def _refs(backend: Any) -> dict[str, Any]:
    """Ids of a customer, a distributor serving it, a customer it does not serve, products, a supplier."""
    async with backend.session_factory() as session:
        cov = (
            await session.execute(
                select(om.DistributorCoverage).where(om.DistributorCoverage.archived_at.is_(None)).order_by(om.DistributorCoverage.id)
            )
        ).scalars().first()
        served = set(
            (
                await session.execute(
                    select(om.DistributorCoverage.customer_id).where(
                        om.DistributorCoverage.distributor_id == cov.distributor_id,
                        om.DistributorCoverage.archived_at.is_(None),
                    )
                )
            ).scalars()
        )
        customers = (
            await session.execute(
                select(om.Organization.id).where(om.Organization.is_customer, om.Organization.archived_at.is_(None))
            )
        ).scalars().all()
        products = (
            await session.execute(select(pm.Product).where(pm.Product.archived_at.is_(None)).order_by(pm.Product.id).limit(3))
        ).scalars().all()
        supplier = (
            await session.execute(select(om.Organization.id).where(om.Organization.is_supplier).limit(1))
        ).scalar()
    return {
        "distributor": cov.distributor_id,
        "served": cov.customer_id,
        "unserved": next(c for c in customers if c not in served and c != cov.distributor_id),
        "customer": customers[0],
        "products": [(encode_global_id("Product", p.id), p.sku, p.list_price) for p in products],
        "supplier": encode_global_id("Organization", supplier),
    }


def _org(i: int) -> str:
    return encode_global_id("Organization", i)


def _item(refs: dict, ref: str, version: int, *, customer: int | None = None, lines: int = 2, **extra: Any) -> dict:
    return {
        "externalReference": ref,
        "sourceVersion": version,
        "customerId": _org(customer or refs["customer"]),
        "lines": [
            {"lineNumber": n, "productId": refs["products"][(n - 1) % 3][0], "quantity": "2.5", "unitPrice": "10.0004"}
            for n in range(1, lines + 1)
        ],
        **extra,
    }


async def _counts(backend: Any) -> tuple[int, int, int]:
    async with backend.session_factory() as session:
        counts = [
            (await session.execute(select(func.count()).select_from(model))).scalar()
            for model in (Order, OrderLine, AuditEvent)
        ]
    return counts[0], counts[1], counts[2]


async def _sync(backend: Any, orders: list[dict], key: str | None = None, **extra: Any) -> dict:
    source = extra.pop("source", None)
    api_key = extra.pop("api_key", None)
    variables = {"input": {"orders": orders, "sourceOrganizationId": source, "idempotencyKey": key, **extra}}
    query = SYNC.replace(" total { amount }", "") if api_key else SYNC  # partners never read prices
    return (await backend.gql(query, variables, key=api_key))["syncOrders"]


async def test_a_batch_creates_updates_and_reports_every_item(backend: Any) -> None:
    refs = await _refs(backend)
    source = _org(refs["distributor"])
    tag = uuid.uuid4().hex[:8]
    first = await _sync(backend, [_item(refs, f"{tag}-a", 1), _item(refs, f"{tag}-b", 1), _item(refs, f"{tag}-c", 5)], source=source)
    assert [r["status"] for r in first["results"]] == ["CREATED"] * 3
    order_a = first["results"][0]["order"]
    assert Decimal(order_a["total"]["amount"]) == 2 * Decimal("25.0010")

    batch = [
        _item(refs, f"{tag}-a", 2, lines=3, notes="now three lines"),  # newer: UPDATED
        _item(refs, f"{tag}-b", 1),  # same version, same content: UNCHANGED
        _item(refs, f"{tag}-c", 4, notes="older"),  # older: STALE
        _item(refs, f"{tag}-b", 1, notes="sneaky"),  # duplicate reference in the batch: REJECTED
        _item(refs, f"{tag}-d", 1, lines=0),  # no lines: REJECTED
        _item(refs, f"{tag}-e", 1),  # new: CREATED
    ]
    second = await _sync(backend, batch, source=source)
    statuses = [r["status"] for r in second["results"]]
    assert statuses == ["UPDATED", "UNCHANGED", "STALE", "REJECTED", "REJECTED", "CREATED"]
    updated = second["results"][0]["order"]
    assert updated["id"] == order_a["id"] and updated["version"] == 2
    assert len(updated["lines"]["edges"]) == 3
    assert Decimal(updated["total"]["amount"]) == 3 * Decimal("25.0010")
    assert second["results"][3]["errors"][0] == {"field": ["externalReference"], "code": "DUPLICATE"}
    assert second["results"][4]["errors"][0] == {"field": ["lines"], "code": "REQUIRED"}

    # Same version with different content is a conflict; fewer lines archive the rest.
    third = await _sync(
        backend, [_item(refs, f"{tag}-b", 1, notes="changed"), _item(refs, f"{tag}-a", 3, lines=1)], source=source
    )
    assert third["results"][0]["status"] == "REJECTED"
    assert third["results"][0]["errors"] == [{"field": ["sourceVersion"], "code": "CONFLICT"}]
    assert third["results"][1]["status"] == "UPDATED"
    assert len(third["results"][1]["order"]["lines"]["edges"]) == 1
    assert Decimal(third["results"][1]["order"]["total"]["amount"]) == Decimal("25.0010")


async def test_an_item_is_applied_whole_or_not_at_all(backend: Any) -> None:
    refs = await _refs(backend)
    tag = uuid.uuid4().hex[:8]
    before = await _counts(backend)
    bad = _item(refs, f"{tag}-bad", 1, lines=3)
    bad["lines"][2]["productId"] = encode_global_id("Product", 10**9)
    bad["lines"][1]["quantity"] = "-1"
    result = await _sync(backend, [bad, _item(refs, f"{tag}-good", 1)], source=_org(refs["customer"]))
    assert [r["status"] for r in result["results"]] == ["REJECTED", "CREATED"]
    assert {tuple(e["field"]) for e in result["results"][0]["errors"]} == {
        ("lines", "1", "quantity"), ("lines", "2", "productId")
    }
    assert result["results"][0]["order"] is None
    orders, lines, _ = await _counts(backend)
    assert (orders, lines) == (before[0] + 1, before[1] + 2)


async def test_illegal_status_jumps_are_rejected(backend: Any) -> None:
    refs = await _refs(backend)
    tag = uuid.uuid4().hex[:8]
    source = _org(refs["customer"])
    await _sync(backend, [_item(refs, tag, 1, status="DRAFT")], source=source)
    jump = await _sync(backend, [_item(refs, tag, 2, status="SHIPPED")], source=source)
    assert jump["results"][0]["status"] == "REJECTED"
    assert jump["results"][0]["errors"] == [{"field": ["status"], "code": "INVALID"}]
    step = await _sync(backend, [_item(refs, tag, 3, status="SUBMITTED")], source=source)
    assert step["results"][0]["status"] == "UPDATED"
    assert step["results"][0]["order"]["status"] == "SUBMITTED"


async def test_a_replay_with_the_same_key_returns_the_stored_result_and_writes_nothing(backend: Any) -> None:
    refs = await _refs(backend)
    tag, key = uuid.uuid4().hex[:8], f"key-{uuid.uuid4().hex}"
    batch = [_item(refs, f"{tag}-1", 1), _item(refs, f"{tag}-2", 1, lines=0)]
    source = _org(refs["customer"])
    first = await _sync(backend, batch, key=key, source=source)
    assert not first["replayed"]
    counts = await _counts(backend)
    again = await _sync(backend, batch, key=key, source=source)
    assert again["replayed"]
    assert again["results"] == first["results"]
    assert await _counts(backend) == counts

    changed = await _sync(backend, [_item(refs, f"{tag}-1", 2)], key=key, source=source)
    assert changed["results"] == []
    assert changed["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _counts(backend) == counts


async def test_expired_keys_are_forgotten(backend: Any) -> None:
    refs = await _refs(backend)
    tag, key = uuid.uuid4().hex[:8], f"key-{uuid.uuid4().hex}"
    source = _org(refs["customer"])
    await _sync(backend, [_item(refs, tag, 1)], key=key, source=source)
    async with backend.session_factory() as session, session.begin():
        row = (await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key))).scalar_one()
        row.expires_at = row.created_at.replace(year=row.created_at.year - 1)
    fresh = await _sync(backend, [_item(refs, tag, 2)], key=key, source=source)
    assert not fresh["replayed"] and fresh["results"][0]["status"] == "UPDATED"


async def test_more_than_500_items_are_refused_before_anything(backend: Any) -> None:
    refs = await _refs(backend)
    tag = uuid.uuid4().hex[:8]
    counts = await _counts(backend)
    result = await _sync(backend, [_item(refs, f"{tag}-{i}", 1, lines=1) for i in range(501)], source=_org(refs["customer"]))
    assert result["results"] == []
    assert result["errors"][0]["code"] == "TOO_MANY_ITEMS"
    assert await _counts(backend) == counts


async def test_a_distributor_syncs_only_for_customers_it_serves(backend: Any) -> None:
    refs = await _refs(backend)
    key = await backend.key("distributor", organization_id=refs["distributor"])
    tag = uuid.uuid4().hex[:8]
    # A distributor sees only products already on its orders; use one of those.
    async with backend.session_factory() as session:
        product = (
            await session.execute(
                select(OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
                .where(Order.distributor_id == refs["distributor"]).limit(1)
            )
        ).scalar()
    item = _item(refs, f"{tag}-served", 1, customer=refs["served"], lines=1)
    item["lines"][0]["productId"] = encode_global_id("Product", product)
    other = {**item, "externalReference": f"{tag}-other", "customerId": _org(refs["unserved"])}
    result = await _sync(backend, [item, other], api_key=key)
    assert [r["status"] for r in result["results"]] == ["CREATED", "REJECTED"]
    assert result["results"][1]["errors"] == [{"field": ["customerId"], "code": "NOT_FOUND"}]
    async with backend.session_factory() as session:
        order = (
            await session.execute(select(Order).where(Order.external_reference == f"{tag}-served"))
        ).scalar_one()
    assert order.distributor_id == refs["distributor"]
    assert order.source_organization_id == refs["distributor"]


async def test_statement_count_does_not_grow_with_the_batch(backend: Any) -> None:
    refs = await _refs(backend)
    source = _org(refs["customer"])

    async def statements(n: int) -> int:
        tag = uuid.uuid4().hex[:8]
        batch = [_item(refs, f"{tag}-{i}", 1, lines=4) for i in range(n)]
        variables = {"input": {"orders": batch, "sourceOrganizationId": source}}
        data, created = await backend.statements(SYNC.replace("order { id", "order { number").replace(
            " total { amount } lines { edges { node { lineNumber quantity } } }", ""
        ), variables)
        assert {r["status"] for r in data["syncOrders"]["results"]} == {"CREATED"}
        update = [_item(refs, f"{tag}-{i}", 2, lines=3) for i in range(n)]
        data, updated = await backend.statements(SYNC.replace(
            " total { amount } lines { edges { node { lineNumber quantity } } }", ""
        ), {"input": {"orders": update, "sourceOrganizationId": source}})
        assert {r["status"] for r in data["syncOrders"]["results"]} == {"UPDATED"}
        return created + updated

    one, many = await statements(1), await statements(200)
    assert many <= one + 6, (one, many)


# -- what a batch records: the audit trail, the change feed, the status history -----------------


async def _recorded(backend: Any, table: str, record_ids: list[int]) -> tuple[list, list, list]:
    async with backend.session_factory() as session:
        audit = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.table_name == table, AuditEvent.record_id.in_(record_ids))
                .order_by(AuditEvent.id)
            )
        ).scalars().all()
        events = (
            await session.execute(
                select(OutboxEvent).where(OutboxEvent.table_name == table, OutboxEvent.record_id.in_(record_ids))
                .order_by(OutboxEvent.id)
            )
        ).scalars().all()
        steps = (
            await session.execute(
                select(StatusTransition).where(
                    StatusTransition.table_name == table, StatusTransition.record_id.in_(record_ids)
                ).order_by(StatusTransition.id)
            )
        ).scalars().all()
    return list(audit), list(events), list(steps)


async def test_a_batch_is_audited_published_and_historised_like_any_write(backend: Any) -> None:
    """Creates are recorded in bulk (graph.audit.Created, graph.writes.insert_many); the trail,
    the feed and the status history must read as for a single write: every column set from
    nothing, the fields named but not their values, the partners scoped."""
    refs = await _refs(backend)
    tag = uuid.uuid4().hex[:8]
    partners = {"customer": refs["served"], "distributorId": _org(refs["distributor"])}
    item = _item(refs, f"{tag}-a", 1, lines=2, status="SUBMITTED", notes="first", **partners)
    item["lines"][0]["supplierId"] = refs["supplier"]
    supplier = decode_global_id(refs["supplier"], "Organization")[1]
    result = (await _sync(backend, [item], source=_org(refs["distributor"])))["results"][0]
    assert result["status"] == "CREATED"
    order_id = decode_global_id(result["order"]["id"], "Order")[1]
    async with backend.session_factory() as session:
        order = (await session.execute(select(Order).where(Order.id == order_id))).scalar_one()
        lines = (
            await session.execute(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_number))
        ).scalars().all()
        when = json_safe(order.created_at)

    audit, events, steps = await _recorded(backend, "orders", [order_id])
    assert [(a.action, a.operation, a.node_id) for a in audit] == [("create", "syncOrders", result["order"]["id"])]
    assert audit[0].changes == {
        "number": [None, f"SO{order_id:08d}"], "customer_id": [None, refs["served"]],
        "distributor_id": [None, refs["distributor"]], "status": [None, "submitted"], "currency": [None, "CNY"],
        "total_amount": [None, "50.0020"], "placed_at": [None, when], "source": [None, "sync"],
        "source_organization_id": [None, refs["distributor"]], "external_reference": [None, f"{tag}-a"],
        "source_version": [None, 1], "notes": [None, "first"], "created_at": [None, when],
    }
    assert [(e.kind, e.order_id, e.customer_id, e.distributor_id, e.supplier_id) for e in events] == [
        ("order.created", order_id, refs["served"], refs["distributor"], None)
    ]
    assert events[0].payload == {"fields": sorted(set(audit[0].changes) - {"created_at"})}
    assert [(s.from_status, s.to_status) for s in steps] == [(None, "submitted")]

    line_ids = [line.id for line in lines]
    audit, events, steps = await _recorded(backend, "order_lines", line_ids)
    assert [(a.action, a.record_id) for a in audit] == [("create", i) for i in line_ids]
    expected = [
        {
            "order_id": [None, order_id], "line_number": [None, n], "product_id": [None, lines[n - 1].product_id],
            "quantity": [None, "2.5"], "unit_price": [None, "10.0004"], "line_total": [None, "25.0010"],
            "created_at": [None, when], **({"supplier_id": [None, supplier]} if n == 1 else {}),
        }
        for n in (1, 2)
    ]
    assert [a.changes for a in audit] == expected
    assert [(e.kind, e.record_id, e.order_id, e.customer_id, e.distributor_id, e.supplier_id) for e in events] == [
        ("order_line.created", line_ids[0], order_id, refs["served"], refs["distributor"], supplier),
        ("order_line.created", line_ids[1], order_id, refs["served"], refs["distributor"], None),
    ]
    assert [e.payload for e in events] == [{"fields": sorted(set(c) - {"created_at"})} for c in expected]
    assert steps == []

    # An update: a status step, a changed line, an archived one.
    newer = _item(refs, f"{tag}-a", 2, lines=1, status="CONFIRMED", notes="first", **partners)
    newer["lines"][0].update(quantity="3", supplierId=refs["supplier"])
    assert (await _sync(backend, [newer], source=_org(refs["distributor"])))["results"][0]["status"] == "UPDATED"
    audit, events, steps = await _recorded(backend, "orders", [order_id])
    assert audit[-1].action == "update"
    assert audit[-1].changes == {
        "status": ["submitted", "confirmed"], "total_amount": ["50.0020", "30.0012"], "source_version": [1, 2]
    }
    assert (events[-1].kind, events[-1].payload) == ("order.status_changed", {"fields": ["source_version", "status", "total_amount"]})
    assert [(s.from_status, s.to_status) for s in steps] == [(None, "submitted"), ("submitted", "confirmed")]
    audit, events, _ = await _recorded(backend, "order_lines", line_ids)
    assert [(a.action, a.record_id, a.changes) for a in audit[2:]] == [
        ("update", line_ids[0], {"quantity": ["2.500", "3"], "line_total": ["25.0010", "30.0012"]}),
        ("archive", line_ids[1], {"archived_at": [None, audit[3].changes["archived_at"][1]]}),
    ]
    assert [(e.kind, e.supplier_id) for e in events[2:]] == [("order_line.updated", supplier), ("order_line.archived", None)]


async def test_insert_many_writes_what_an_executemany_would(backend: Any) -> None:
    """`insert_many` (PostgreSQL: one INSERT ... SELECT FROM unnest, columns of one value as
    a single parameter): every row, value and NULL as given, JSON included, RETURNING per row."""
    now, tag = utcnow(), uuid.uuid4().hex

    def row(i: int) -> dict[str, Any]:
        return {
            "occurred_at": now, "principal_kind": "api_key", "principal_name": f"p{i % 2}", "role": "admin",
            "organization_id": None, "key_prefix": None if i else "k", "operation": tag, "action": "create",
            "table_name": "orders", "record_id": 1000 + i, "node_id": None, "changes": {"n": [None, i], "s": ["a", f"{i}"]},
            "request_id": tag,
        }

    def plain(i: int) -> dict[str, Any]:  # a JSON column that is not all objects goes value by value
        return {**row(i), "changes": "plain" if i == 4 else [i, None]}

    rows = [row(i) for i in range(3)]
    async with backend.session_factory() as session, session.begin():
        returned = await insert_many(session, AuditEvent.__table__, rows, ("id", "record_id"))
        assert await insert_many(session, AuditEvent.__table__, [row(3)]) == []
        assert await insert_many(session, AuditEvent.__table__, [plain(4), plain(5)]) == []
        assert await insert_many(session, AuditEvent.__table__, []) == []
    assert sorted(record_id for _, record_id in returned) == [1000, 1001, 1002]
    async with backend.session_factory() as session:
        stored = (
            await session.execute(select(AuditEvent).where(AuditEvent.operation == tag).order_by(AuditEvent.record_id))
        ).scalars().all()
    assert {r.id for r in stored} > {i for i, _ in returned}
    columns = [c.key for c in AuditEvent.__table__.columns if c.key != "id"]
    expected = [row(i) for i in range(4)] + [plain(4), plain(5)]
    assert [{c: getattr(r, c) for c in columns} for r in stored] == expected


# -- the bulk path: work overlapped with statements in flight, events built ahead ----------------


async def _trail_counts(backend: Any) -> tuple[int, ...]:
    async with backend.session_factory() as session:
        return tuple(
            [
                (await session.execute(select(func.count()).select_from(model))).scalar()
                for model in (Order, OrderLine, AuditEvent, OutboxEvent, StatusTransition)
            ]
        )


async def test_a_failure_while_a_statement_is_in_flight_loses_the_whole_batch(backend: Any, monkeypatch: Any) -> None:
    """The audit rows are built while the lines (PostgreSQL) or the outbox events are written
    (graph.writes.overlapped): a failure there waits for the statement, rolls everything back,
    and leaves the connection fit for the next batch."""
    refs = await _refs(backend)
    tag = uuid.uuid4().hex[:8]
    batch = [_item(refs, f"{tag}-{i}", 1, lines=3, status="SUBMITTED") for i in range(20)]
    variables = {"input": {"orders": batch, "sourceOrganizationId": _org(refs["distributor"])}}
    before = await _trail_counts(backend)

    def broken(*_: Any) -> None:
        raise RuntimeError("the audit trail failed")

    with monkeypatch.context() as patch:
        patch.setattr("graph.writes.audit_rows", broken)
        body = await backend.gql(SYNC, variables, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert await _trail_counts(backend) == before
    again = await _sync(backend, batch, source=_org(refs["distributor"]))
    assert [r["status"] for r in again["results"]] == ["CREATED"] * 20
    orders, lines, audit, events, steps = await _trail_counts(backend)
    assert (orders, lines, audit, events, steps) == (
        before[0] + 20, before[1] + 60, before[2] + 80, before[3] + 80, before[4] + 20
    )


async def test_overlapped_always_waits_for_its_statement(backend: Any) -> None:
    ran: list[int] = []
    async with backend.session_factory() as session, session.begin():
        assert (await overlapped(session.execute(text("SELECT 41 + 1")), lambda: ran.append(1))).scalar() == 42
        with pytest.raises(ZeroDivisionError):
            await overlapped(session.execute(text("SELECT 1")), lambda: 1 / 0)
        assert (await session.execute(text("SELECT 7"))).scalar() == 7  # the connection is free again
        with pytest.raises(DBAPIError):
            await overlapped(session.execute(text("SELECT * FROM no_such_table")), lambda: ran.append(2))
    assert ran == [1, 2]


def _created_changes(now: Any) -> list[Change]:
    order = {
        "customer_id": 1, "distributor_id": 2, "status": OrderStatus.SUBMITTED, "currency": "CNY",
        "number": "SO00000010", "total_amount": Decimal("3.5000"), "placed_at": now, "created_at": now,
        "updated_at": now, "version": 1, "archived_at": None, "id": 10,
    }

    def line(line_id: int, supplier_id: int | None) -> dict[str, Any]:
        return {
            "order_id": 10, "line_number": line_id - 10, "product_id": 4, "supplier_id": supplier_id,
            "quantity": Decimal(1), "unit_price": Decimal("1.75"), "line_total": Decimal("1.75"),
            "created_at": now, "updated_at": now, "version": 1, "archived_at": None, "id": line_id,
        }

    return [
        Change("orders", 10, "create", Created(order), "Order"),
        Change("order_lines", 11, "create", Created(line(11, 3)), "OrderLine"),
        Change("order_lines", 12, "create", Created(line(12, None)), "OrderLine"),
    ]


async def test_prepared_outbox_events_are_those_publish_would_build(backend: Any) -> None:
    """graph.outbox.prepared_rows (a sync builds them while its lines are written) equals
    outbox_rows for created orders and lines; anything needing a lookup is left to publish,
    which also drops them when a later change of the transaction touches an order or a line."""
    now, principal = utcnow(), Principal(PrincipalKind.INTERNAL, "test")
    changes = _created_changes(now)
    prepared = prepared_rows(changes, principal, "r1")
    assert prepared is not None
    for row in prepared:
        row["occurred_at"] = now
    async with backend.session_factory() as session:
        assert prepared == await outbox_rows(session, changes, principal, "r1", now)
    assert prepared_rows(changes[1:], principal, "r1") is None  # their order was not created here
    touched = Change("orders", 10, "update", {"notes": (None, "later")}, "Order")
    assert prepared_rows([*changes, touched], principal, "r1") is None

    tag = uuid.uuid4().hex
    async with backend.session_factory() as session, session.begin():
        bogus = [{"no_such_column": 1}]  # would fail if used
        await publish(session, [*changes, touched], principal, tag, now, prepared=(len(changes), bogus))
        kinds = (
            await session.execute(
                select(OutboxEvent.kind).where(OutboxEvent.request_id == tag).order_by(OutboxEvent.id)
            )
        ).scalars().all()
        await session.rollback()
    assert kinds == ["order.created", "order_line.created", "order_line.created", "order.updated"]


async def test_the_lookup_of_existing_orders_leaves_the_plan_cache_setting_as_it_was(backend: Any) -> None:
    if backend.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    async with backend.session_factory() as session, session.begin():
        assert await _planned_for_values(session, select(literal(1))) == [(1,)]
        assert (await session.execute(text("SHOW plan_cache_mode"))).scalar() == "auto"
