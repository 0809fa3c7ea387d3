"""Early-warning rules and their evaluation.

Four rules, one per kind of warning; each measures its subjects at an instant `as_of` and
grades the measure against three thresholds (yellow, orange, red; see `RuleConfig`):

| rule                 | kind             | subject                | measure                                                |
|----------------------|------------------|------------------------|--------------------------------------------------------|
| `order_overdue`      | ORDER_FULFILMENT | an order               | days an open order is past its promised date           |
| `shipment_late`      | LOGISTICS        | a shipment             | days a pending/in-transit shipment is past expected_at |
|                      |                  |                        | (a LOST shipment is RED at once)                       |
| `product_objections` | PRODUCT_QUALITY  | a customer's product   | quality objections in the window                       |
| `complaint_rate`     | COMPLAINTS       | a customer             | complaints in the recent window, when their daily rate |
|                      |                  |                        | is above the rate of the baseline window before it     |

`evaluate()` runs the rules over a scope (some subjects of some rules, or everything) inside
the caller's unit of work: it raises a warning for a new finding, escalates one whose level
rose (levels never fall by themselves), marks one whose condition cleared, and records every
change on the unit of work so the audit trail and the change feed see it. It is set-based: a
fixed number of statements whatever the number of subjects.

No duplicates: while a warning is not closed it is the only one of its rule and subject. New
warnings are inserted with ON CONFLICT DO NOTHING against the partial unique index
`uq_early_warnings_open_subject`; a finding whose insert was skipped (a concurrent sweep
raised it first) is applied to that warning as an update instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, inspect, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from graph.models.base import utcnow
from graph.models.early_warnings import EarlyWarning, WarningKind, WarningLevel, WarningStatus, WarningTrend
from graph.models.orders import Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from graph.models.organizations import Organization
from graph.models.products import Product
from graph.models.service import ServiceRecord, ServiceRecordKind, ServiceStatus

if TYPE_CHECKING:
    from graph.settings import Settings
    from graph.writes import UnitOfWork

WARNING = EarlyWarning.__table__
TYPE_NAME = "EarlyWarning"

ORDER_OVERDUE = "order_overdue"
SHIPMENT_LATE = "shipment_late"
PRODUCT_OBJECTIONS = "product_objections"
COMPLAINT_RATE = "complaint_rate"

# Orders still to be shipped: past the promised date they are late.
OPEN_ORDER_STATUSES = (OrderStatus.SUBMITTED, OrderStatus.CONFIRMED, OrderStatus.IN_FULFILMENT)
MOVING_SHIPMENT_STATUSES = (ShipmentStatus.PENDING, ShipmentStatus.IN_TRANSIT)
_CHUNK = 5000  # subject keys per IN list, well under the drivers' bound-parameter limits
_INSERT_CHUNK = 500  # warnings per INSERT (about 40 parameters each)


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The measure at which a warning becomes yellow, orange and red."""

    yellow: int
    orange: int
    red: int

    @classmethod
    def of(cls, values: Sequence[int]) -> Thresholds:
        return cls(*values)

    def level(self, measure: int) -> WarningLevel | None:
        if measure >= self.red:
            return WarningLevel.RED
        if measure >= self.orange:
            return WarningLevel.ORANGE
        if measure >= self.yellow:
            return WarningLevel.YELLOW
        return None


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds and windows of the rules (defaults documented in README "Early warnings")."""

    order_overdue_days: Thresholds = Thresholds(1, 7, 14)
    shipment_late_days: Thresholds = Thresholds(1, 3, 7)
    quality_objections: Thresholds = Thresholds(2, 3, 5)
    quality_window_days: int = 90
    complaints: Thresholds = Thresholds(2, 3, 5)
    complaint_window_days: int = 30
    complaint_baseline_days: int = 90
    trend_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> RuleConfig:
        return cls(
            order_overdue_days=Thresholds.of(settings.warning_order_overdue_days),
            shipment_late_days=Thresholds.of(settings.warning_shipment_late_days),
            quality_objections=Thresholds.of(settings.warning_quality_objections),
            quality_window_days=settings.warning_quality_window_days,
            complaints=Thresholds.of(settings.warning_complaints),
            complaint_window_days=settings.warning_complaint_window_days,
            complaint_baseline_days=settings.warning_complaint_baseline_days,
            trend_days=settings.warning_trend_days,
        )


def default_config() -> RuleConfig:
    from graph.settings import get_settings

    return RuleConfig.from_settings(get_settings())


# -- findings -------------------------------------------------------------------------------


@dataclass
class Finding:
    """A rule's verdict on one subject: the condition holds, at `level`."""

    rule: str
    subject_key: str
    kind: WarningKind
    level: WarningLevel
    customer_id: int
    measure: int
    previous_measure: int
    description: str
    cause: str
    order_id: int | None = None
    shipment_id: int | None = None
    product_id: int | None = None
    supplier_id: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.rule, self.subject_key

    @property
    def trend(self) -> WarningTrend:
        return trend_of(self.measure, self.previous_measure)


def trend_of(measure: int, previous: int) -> WarningTrend:
    if measure > previous:
        return WarningTrend.RISING
    if measure < previous:
        return WarningTrend.FALLING
    return WarningTrend.STEADY


def order_key(order_id: int) -> str:
    return f"order:{order_id}"


def shipment_key(shipment_id: int) -> str:
    return f"shipment:{shipment_id}"


def product_key(customer_id: int, product_id: int) -> str:
    return f"customer:{customer_id}/product:{product_id}"


def customer_key(customer_id: int) -> str:
    return f"customer:{customer_id}"


# Which subjects to evaluate: rule → subject ids (orders, shipments, (customer, product)
# pairs, customers), or None for every subject of the rule.
Scope = dict[str, "set[Any] | None"]
EVERYTHING: Scope = {ORDER_OVERDUE: None, SHIPMENT_LATE: None, PRODUCT_OBJECTIONS: None, COMPLAINT_RATE: None}


def _chunks(values: Iterable[Any]) -> list[list[Any]]:
    ordered = sorted(set(values))
    return [ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]


def _days(delta: timedelta) -> int:
    return delta.days  # whole days, floored


async def _rows(session: AsyncSession, stmt: Any, column: Any, ids: set[Any] | None) -> list[Any]:
    """Rows of `stmt`, limited to `column IN ids` (chunked) unless `ids` is None."""
    if ids is None:
        return list((await session.execute(stmt)).all())
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend((await session.execute(stmt.where(column.in_(chunk)))).all())
    return rows


async def _order_findings(
    session: AsyncSession, as_of: datetime, config: RuleConfig, ids: set[int] | None
) -> list[Finding]:
    o = Order.__table__
    today = as_of.astimezone(UTC).date()
    stmt = select(o.c.id, o.c.customer_id, o.c.number, o.c.promised_date, o.c.status).where(
        o.c.status.in_(OPEN_ORDER_STATUSES), o.c.promised_date < today, o.c.archived_at.is_(None)
    )
    findings = []
    for row in await _rows(session, stmt, o.c.id, ids):
        days = (today - row.promised_date).days
        level = config.order_overdue_days.level(days)
        if level is None:
            continue
        findings.append(
            Finding(
                rule=ORDER_OVERDUE,
                subject_key=order_key(row.id),
                kind=WarningKind.ORDER_FULFILMENT,
                level=level,
                customer_id=row.customer_id,
                measure=days,
                previous_measure=max(0, days - config.trend_days),
                description=f"Order {row.number} is {days} day(s) past its promised date {row.promised_date.isoformat()}.",
                cause=f"The order is still {row.status.value.replace('_', ' ')}: not shipped by the promised date.",
                order_id=row.id,
            )
        )
    return findings


async def _shipment_findings(
    session: AsyncSession, as_of: datetime, config: RuleConfig, ids: set[int] | None
) -> list[Finding]:
    s, o = Shipment.__table__, Order.__table__
    stmt = (
        select(
            s.c.id,
            s.c.order_id,
            s.c.carrier,
            s.c.tracking_number,
            s.c.expected_at,
            s.c.status,
            o.c.customer_id,
            o.c.number,
        )
        .join(o, o.c.id == s.c.order_id)
        .where(
            s.c.archived_at.is_(None),
            or_(
                and_(s.c.status.in_(MOVING_SHIPMENT_STATUSES), s.c.expected_at < as_of),
                s.c.status == ShipmentStatus.LOST,
            ),
        )
    )
    findings = []
    for row in await _rows(session, stmt, s.c.id, ids):
        days = max(0, _days(as_of - row.expected_at)) if row.expected_at is not None else 0
        name = f"Shipment {row.tracking_number or row.id} ({row.carrier}) of order {row.number}"
        if row.status is ShipmentStatus.LOST:
            level, previous = WarningLevel.RED, days
            description, cause = f"{name} is lost.", "The carrier reported the shipment lost."
        else:
            level = config.shipment_late_days.level(days)
            if level is None:
                continue
            previous = max(0, days - config.trend_days)
            description = f"{name} is {days} day(s) past its expected arrival."
            cause = f"Still {row.status.value.replace('_', ' ')} after the expected arrival {row.expected_at.date().isoformat()}."
        findings.append(
            Finding(
                rule=SHIPMENT_LATE,
                subject_key=shipment_key(row.id),
                kind=WarningKind.LOGISTICS,
                level=level,
                customer_id=row.customer_id,
                measure=days,
                previous_measure=previous,
                description=description,
                cause=cause,
                order_id=row.order_id,
                shipment_id=row.id,
            )
        )
    return findings


def _count_between(column: Any, start: datetime, end: datetime) -> Any:
    return func.sum(case((and_(column >= start, column < end), 1), else_=0))


async def _quality_findings(
    session: AsyncSession, as_of: datetime, config: RuleConfig, pairs: set[tuple[int, int]] | None
) -> list[Finding]:
    r, line, p = ServiceRecord.__table__, OrderLine.__table__, Product.__table__
    window = timedelta(days=config.quality_window_days)
    shift = timedelta(days=config.trend_days)
    now_count = _count_between(r.c.opened_at, as_of - window, as_of)
    then_count = _count_between(r.c.opened_at, as_of - shift - window, as_of - shift)
    stmt = (
        select(
            r.c.organization_id,
            r.c.product_id,
            p.c.name,
            p.c.sku,
            now_count.label("now"),
            then_count.label("then"),
            func.max(line.c.supplier_id).label("supplier_id"),
        )
        .join(p, p.c.id == r.c.product_id)
        .outerjoin(line, line.c.id == r.c.order_line_id)
        .where(
            r.c.kind == ServiceRecordKind.QUALITY_OBJECTION,
            r.c.status != ServiceStatus.CANCELLED,
            r.c.archived_at.is_(None),
            r.c.opened_at >= as_of - shift - window,
            r.c.opened_at < as_of,
        )
        .group_by(r.c.organization_id, r.c.product_id, p.c.name, p.c.sku)
    )
    customers = None if pairs is None else {c for c, _ in pairs}
    findings = []
    for row in await _rows(session, stmt, r.c.organization_id, customers):
        if pairs is not None and (row.organization_id, row.product_id) not in pairs:
            continue
        count = int(row.now or 0)
        level = config.quality_objections.level(count)
        if level is None:
            continue
        findings.append(
            Finding(
                rule=PRODUCT_OBJECTIONS,
                subject_key=product_key(row.organization_id, row.product_id),
                kind=WarningKind.PRODUCT_QUALITY,
                level=level,
                customer_id=row.organization_id,
                measure=count,
                previous_measure=int(row.then or 0),
                description=f"{count} quality objection(s) on {row.name} ({row.sku}) "
                f"in the last {config.quality_window_days} days.",
                cause=f"Objections reached the threshold of {config.quality_objections.yellow} "
                f"(orange {config.quality_objections.orange}, red {config.quality_objections.red}).",
                product_id=row.product_id,
                supplier_id=row.supplier_id,
            )
        )
    return findings


async def _complaint_findings(
    session: AsyncSession, as_of: datetime, config: RuleConfig, ids: set[int] | None
) -> list[Finding]:
    r = ServiceRecord.__table__
    recent, baseline = (
        timedelta(days=config.complaint_window_days),
        timedelta(days=config.complaint_baseline_days),
    )
    shift = timedelta(days=config.trend_days)
    stmt = (
        select(
            r.c.organization_id,
            _count_between(r.c.opened_at, as_of - recent, as_of).label("recent"),
            _count_between(r.c.opened_at, as_of - recent - baseline, as_of - recent).label("baseline"),
            _count_between(r.c.opened_at, as_of - shift - recent, as_of - shift).label("then"),
        )
        .where(
            r.c.kind == ServiceRecordKind.COMPLAINT,
            r.c.status != ServiceStatus.CANCELLED,
            r.c.archived_at.is_(None),
            r.c.opened_at >= as_of - shift - recent - baseline,
            r.c.opened_at < as_of,
        )
        .group_by(r.c.organization_id)
    )
    days_recent, days_baseline = config.complaint_window_days, config.complaint_baseline_days
    findings = []
    for row in await _rows(session, stmt, r.c.organization_id, ids):
        count, before = int(row.recent or 0), int(row.baseline or 0)
        level = config.complaints.level(count)
        # Rising: more complaints per day now than in the baseline window.
        if level is None or count * days_baseline <= before * days_recent:
            continue
        usual = before * days_recent / days_baseline
        findings.append(
            Finding(
                rule=COMPLAINT_RATE,
                subject_key=customer_key(row.organization_id),
                kind=WarningKind.COMPLAINTS,
                level=level,
                customer_id=row.organization_id,
                measure=count,
                previous_measure=int(row.then or 0),
                description=f"{count} complaint(s) in the last {days_recent} days.",
                cause=f"The complaint rate is rising: {count} per {days_recent} days now against "
                f"{usual:.1f} in the {days_baseline} days before.",
            )
        )
    return findings


RULES = {
    ORDER_OVERDUE: _order_findings,
    SHIPMENT_LATE: _shipment_findings,
    PRODUCT_OBJECTIONS: _quality_findings,
    COMPLAINT_RATE: _complaint_findings,
}
KIND_OF_RULE = {
    ORDER_OVERDUE: WarningKind.ORDER_FULFILMENT,
    SHIPMENT_LATE: WarningKind.LOGISTICS,
    PRODUCT_OBJECTIONS: WarningKind.PRODUCT_QUALITY,
    COMPLAINT_RATE: WarningKind.COMPLAINTS,
}


async def find(session: AsyncSession, as_of: datetime, scope: Scope, config: RuleConfig) -> list[Finding]:
    findings: list[Finding] = []
    for rule, ids in scope.items():
        if ids is None or ids:
            findings.extend(await RULES[rule](session, as_of, config, ids))
    return findings


def _subject_keys(rule: str, ids: set[Any]) -> list[str]:
    if rule == ORDER_OVERDUE:
        return [order_key(i) for i in ids]
    if rule == SHIPMENT_LATE:
        return [shipment_key(i) for i in ids]
    if rule == PRODUCT_OBJECTIONS:
        return [product_key(c, p) for c, p in ids]
    return [customer_key(i) for i in ids]


def scope_of(warning: Any) -> Scope:
    """The scope that re-evaluates exactly the subject of `warning`."""
    if warning.rule == ORDER_OVERDUE:
        return {ORDER_OVERDUE: {warning.order_id}}
    if warning.rule == SHIPMENT_LATE:
        return {SHIPMENT_LATE: {warning.shipment_id}}
    if warning.rule == PRODUCT_OBJECTIONS:
        return {PRODUCT_OBJECTIONS: {(warning.customer_id, warning.product_id)}}
    return {COMPLAINT_RATE: {warning.customer_id}}


async def condition_holds(
    session: AsyncSession, warning: Any, as_of: datetime, config: RuleConfig | None = None
) -> bool:
    """Re-evaluate the rule of `warning` for its subject at `as_of`."""
    findings = await find(session, as_of, scope_of(warning), config or default_config())
    return any(f.subject_key == warning.subject_key for f in findings)


# -- applying findings ------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one evaluation did, by warning id."""

    raised: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    raced: int = 0  # findings another transaction raised first (applied as updates)

    def merge(self, other: Evaluation) -> None:
        for name in ("raised", "escalated", "cleared", "updated"):
            getattr(self, name).extend(getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("raised", "escalated", "cleared", "updated")}


async def _open_warnings(
    session: AsyncSession, scope: Scope, keys: Iterable[tuple[str, str]] = ()
) -> list[EarlyWarning]:
    """Warnings not yet closed in `scope` (or with these (rule, subject) keys), locked."""
    wanted: list[tuple[str, str]] = list(keys)
    everything = []
    for rule, ids in scope.items():
        if ids is None:
            everything.append(rule)
        elif ids:
            wanted.extend((rule, key) for key in _subject_keys(rule, ids))
    conditions = []
    if everything:
        conditions.append(WARNING.c.rule.in_(everything))
    found: list[EarlyWarning] = []
    by_rule: dict[str, list[str]] = {}
    for rule, key in wanted:
        by_rule.setdefault(rule, []).append(key)
    keyed = [
        and_(WARNING.c.rule == rule, WARNING.c.subject_key.in_(chunk))
        for rule, keys_of_rule in by_rule.items()
        for chunk in _chunks(keys_of_rule)
    ]
    conditions += keyed
    # One statement unless the scope is larger than a chunk.
    groups = [conditions] if len(wanted) <= _CHUNK else [[c] for c in conditions]
    for group in groups:
        if not group:
            continue
        stmt = (
            select(EarlyWarning)
            .where(WARNING.c.status != WarningStatus.CLOSED, or_(*group))
            .order_by(WARNING.c.id)
            .with_for_update()
        )
        found.extend((await session.execute(stmt)).scalars().all())
    return found


def _record_update(uow: UnitOfWork, warning: EarlyWarning, values: dict[str, Any]) -> bool:
    """Like `UnitOfWork.update`, without a flush per record (the evaluation flushes once)."""
    from graph.writes import Change

    changed = {}
    for name, value in values.items():
        before = getattr(warning, name)
        if before != value:
            changed[name] = (before, value)
            setattr(warning, name, value)
    if not changed:
        return False
    warning.version = warning.version + 1
    warning.updated_at = utcnow()
    uow.changes.append(Change(WARNING.name, warning.id, "update", changed, TYPE_NAME))
    return True


def _apply(
    uow: UnitOfWork, warning: EarlyWarning, finding: Finding, as_of: datetime, result: Evaluation
) -> None:
    values: dict[str, Any] = {
        "measure": finding.measure,
        "previous_measure": finding.previous_measure,
        "trend": finding.trend,
        "description": finding.description,
        "cause": finding.cause,
        "condition_holds": True,
        "condition_cleared_at": None,
    }
    if finding.supplier_id is not None:
        values["supplier_id"] = finding.supplier_id
    escalated = finding.level.rank > warning.level.rank
    if escalated:
        values["level"] = finding.level
        values["escalated_at"] = as_of
    if warning.status is WarningStatus.VERIFIED:
        values["status"] = WarningStatus.RESOLVING  # it came back before it was closed
    if any(getattr(warning, name) != value for name, value in values.items()):
        values["evaluated_at"] = as_of
        _record_update(uow, warning, values)
        (result.escalated if escalated else result.updated).append(warning.id)


def _insert_statement(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(WARNING)
        .on_conflict_do_nothing(
            index_elements=["rule", "subject_key"], index_where=text("status != 'closed'")
        )
        .returning(WARNING.c.id, WARNING.c.rule, WARNING.c.subject_key)
    )


async def _raise(
    uow: UnitOfWork, findings: list[Finding], as_of: datetime
) -> tuple[list[int], set[tuple[str, str]]]:
    """Insert warnings for new findings; (their ids, keys another transaction raised first)."""
    from graph.writes import Change

    if not findings:
        return [], set()
    session = uow.session
    org = Organization.__table__
    tiers: dict[int, Any] = {}
    for chunk in _chunks(f.customer_id for f in findings):
        tiers.update((await session.execute(select(org.c.id, org.c.tier).where(org.c.id.in_(chunk)))).all())
    now = utcnow()
    rows = [
        {
            "kind": f.kind,
            "level": f.level,
            "status": WarningStatus.OPEN,
            "rule": f.rule,
            "subject_key": f.subject_key,
            "customer_id": f.customer_id,
            "tier_at_raise": tiers.get(f.customer_id),
            "order_id": f.order_id,
            "shipment_id": f.shipment_id,
            "product_id": f.product_id,
            "supplier_id": f.supplier_id,
            "description": f.description,
            "cause": f.cause,
            "measure": f.measure,
            "previous_measure": f.previous_measure,
            "trend": f.trend,
            "raised_at": as_of,
            "evaluated_at": as_of,
            "condition_holds": True,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for f in findings
    ]
    stmt = _insert_statement(session.bind.dialect.name)
    inserted: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), _INSERT_CHUNK):
        for row in (await session.execute(stmt, rows[start : start + _INSERT_CHUNK])).all():
            inserted[(row.rule, row.subject_key)] = row.id
    columns = [c.key for c in inspect(EarlyWarning).mapper.column_attrs]
    ids = []
    for f, row in zip(findings, rows, strict=True):
        warning_id = inserted.get(f.key)
        if warning_id is None:
            continue
        ids.append(warning_id)
        values = {**row, "id": warning_id}
        fields = {name: (None, values.get(name)) for name in columns}
        uow.changes.append(Change(WARNING.name, warning_id, "create", fields, TYPE_NAME))
    return ids, {f.key for f in findings} - set(inserted)


async def evaluate(
    uow: UnitOfWork, as_of: datetime, scope: Scope, config: RuleConfig | None = None
) -> Evaluation:
    """Run the rules over `scope` at `as_of` and raise, escalate or clear warnings in `uow`."""
    config = config or default_config()
    session = uow.session
    result = Evaluation()
    findings = await find(session, as_of, scope, config)
    current = {(w.rule, w.subject_key): w for w in await _open_warnings(session, scope)}
    new = [f for f in findings if f.key not in current]
    result.raised, raced = await _raise(uow, new, as_of)
    result.raced = len(raced)
    if raced:  # raised meanwhile by a concurrent transaction: escalate that one instead
        current.update({(w.rule, w.subject_key): w for w in await _open_warnings(session, {}, raced)})
    fresh = {f.key for f in new} - raced
    for finding in findings:
        warning = current.get(finding.key)
        if warning is not None and finding.key not in fresh:
            _apply(uow, warning, finding, as_of, result)
    holding = {f.key for f in findings}
    for key, warning in current.items():
        if key not in holding and warning.condition_holds:
            _record_update(
                uow,
                warning,
                {
                    "condition_holds": False,
                    "condition_cleared_at": as_of,
                    "trend": WarningTrend.FALLING,
                    "evaluated_at": as_of,
                },
            )
            result.cleared.append(warning.id)
    await session.flush()
    return result


# -- the write path -------------------------------------------------------------------------


async def scope_of_changes(uow: UnitOfWork) -> Scope:
    """The subjects whose rules a transaction's changes may affect."""
    orders = {c.record_id for c in uow.changes if c.table == "orders"}
    shipments = {c.record_id for c in uow.changes if c.table == "shipments"}
    records = [c for c in uow.changes if c.table == "service_records"]
    scope: Scope = {}
    if orders:
        scope[ORDER_OVERDUE] = orders
    if shipments:
        scope[SHIPMENT_LATE] = shipments
    if records:
        r = ServiceRecord.__table__
        stmt = select(r.c.id, r.c.kind, r.c.organization_id, r.c.product_id)
        rows = {row.id: row for row in await _rows(uow.session, stmt, r.c.id, {c.record_id for c in records})}
        pairs: set[tuple[int, int]] = set()
        customers: set[int] = set()
        for change in records:
            row = rows.get(change.record_id)
            if row is None:
                continue
            # The customer and product now and, if this change moved the record, before.
            orgs = {row.organization_id, change.fields.get("organization_id", (None,))[0]} - {None}
            products = {row.product_id, change.fields.get("product_id", (None,))[0]} - {None}
            if row.kind is ServiceRecordKind.QUALITY_OBJECTION:
                pairs.update((org, product) for org in orgs for product in products)
            elif row.kind is ServiceRecordKind.COMPLAINT:
                customers.update(orgs)
        if pairs:
            scope[PRODUCT_OBJECTIONS] = pairs
        if customers:
            scope[COMPLAINT_RATE] = customers
    return scope


async def evaluate_changes(uow: UnitOfWork) -> None:
    """The write-path hook (graph/writes.py): re-run the rules over what this transaction
    changed, in the same transaction, before the audit trail and the outbox are written."""
    if not any(c.table in ("orders", "shipments", "service_records") for c in uow.changes):
        return
    scope = await scope_of_changes(uow)
    if scope:
        await evaluate(uow, utcnow(), scope)
