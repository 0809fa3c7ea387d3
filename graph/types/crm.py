"""GraphQL types for CRM insights: customer figures, tiers and their review, lifecycle
history, visit plans, sales targets and rep scorecards. All of it is internal: partners are
refused, sales reps see the customers graph/access.py gives them and their own scorecard."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.crm import lifecycle as lifecycle_work
from graph.crm import scorecards as scorecard_work
from graph.crm import tiers as tier_work
from graph.crm import visits as visit_work
from graph.crm.scope import session_runner
from graph.crm.value import CustomerFigures, lifecycle_stage
from graph.errors import BadInput, ErrorCode, ErrorCollector
from graph.loaders import NO_FILTER
from graph.models import crm as m
from graph.models import organizations as morg
from graph.models import people as mp
from graph.pagination import Page, fetch_page
from graph.resolvers import crm as r
from graph.resolvers import validation as check
from graph.types.common import (
    After,
    Before,
    Connection,
    DateRange,
    First,
    InternalOnly,
    Last,
    Money,
    SortDirection,
    UserError,
    allow,
    build_connection,
    doc,
    freeze,
    input_values,
    internal,
    list_connection,
    load_one,
    make_page_request,
    money,
    mutate,
    nested_connection,
    payload_runner,
    row_builder,
    updating,
)
from graph.types.organizations import CustomerTier
from graph.types.refs import OrganizationRef, UserRef

LifecycleStage = strawberry.enum(m.LifecycleStage, description="Where a customer is in its lifecycle.")
TierChangeSource = strawberry.enum(
    m.TierChangeSource, description="Whether a tier change came from a review or by hand."
)
TierReviewStatus = strawberry.enum(
    m.TierReviewStatus, description="Whether all of a review's proposals are applied."
)
VisitPlanStatus = strawberry.enum(m.VisitPlanStatus, description="Where a planned visit stands.")

_INTERNAL = [InternalOnly]

AsOf = Annotated[
    datetime | None,
    strawberry.argument(
        description="The moment the figures are taken at (default now); later orders do not exist yet."
    ),
]


@strawberry.enum(description="How long the periods of a revenue breakdown are.")
class PeriodGrain(enum.Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def _cny(amount: Decimal | None) -> Money | None:
    return money(amount, "CNY")


# -- customer figures ----------------------------------------------------------------------


@strawberry.type(description="RFM quintile scores, 1 (lowest fifth of customers) to 5 (highest).")
class RfmScores:
    recency: int = doc("5 = among the most recent buyers.")
    frequency: int = doc("5 = among the most frequent buyers (orders in the last 12 months).")
    monetary: int = doc("5 = among the highest revenue in the last 12 months.")
    segment: str = doc('The three scores as one code, e.g. "545".')


@strawberry.type(
    description="What a customer is worth and how likely it is to leave, as of a moment. Internal only."
)
class CustomerInsights:
    f: strawberry.Private[CustomerFigures]

    @strawberry.field(description="The moment the figures are taken at.")
    def as_of(self) -> datetime:
        return self.f.as_of

    @strawberry.field(description="Counted orders (not draft or cancelled) before asOf.")
    def order_count(self) -> int:
        return self.f.order_count

    @strawberry.field(description="Counted orders in the 365 days before asOf.")
    def orders_last_12_months(self) -> int:
        return self.f.orders_ttm

    @strawberry.field(description="First counted order.")
    def first_order_at(self) -> datetime | None:
        return self.f.first_order_at

    @strawberry.field(description="Latest counted order.")
    def last_order_at(self) -> datetime | None:
        return self.f.last_order_at

    @strawberry.field(description="Revenue of the 365 days before asOf (order totals).")
    def revenue_last_12_months(self) -> Money:
        return _cny(self.f.revenue_ttm)

    @strawberry.field(description="Margin of the 365 days before asOf: revenue − cost of the goods.")
    def margin_last_12_months(self) -> Money:
        return _cny(self.f.margin_ttm)

    @strawberry.field(description="Revenue over the whole relationship.")
    def revenue_to_date(self) -> Money:
        return _cny(self.f.revenue_total)

    @strawberry.field(description="Margin over the whole relationship.")
    def margin_to_date(self) -> Money:
        return _cny(self.f.margin_total)

    @strawberry.field(
        description="Revenue of the last 182 days against the 182 before (0.25 = +25 %); null without the earlier half."
    )
    def growth(self) -> Decimal | None:
        return self.f.growth

    @strawberry.field(
        description="Revenue of the last 12 months ÷ contracted value (sales and framework contracts) prorated to them."
    )
    def contract_fulfilment(self) -> Decimal | None:
        return self.f.contract_fulfilment

    @strawberry.field(description="Days since the latest order.")
    def days_since_last_order(self) -> Decimal | None:
        return self.f.days_since_last_order

    @strawberry.field(
        description="Its own purchase rhythm: the mean gap between its orders in days (≥ 7; 90 with one order)."
    )
    def purchase_rhythm_days(self) -> Decimal | None:
        return self.f.rhythm_days

    @strawberry.field(
        description="0 while within its own rhythm, rising to 1 after three of its gaps of silence."
    )
    def churn_risk(self) -> Decimal | None:
        return self.f.churn_risk

    @strawberry.field(description="Margin to date + (12-month margin ÷ 12) × 36 × (1 − churn risk).")
    def lifetime_value(self) -> Money:
        return _cny(self.f.lifetime_value)

    @strawberry.field(description="Churn risk × 12-month margin: what losing it would cost in a year.")
    def value_at_risk(self) -> Money:
        return _cny(self.f.value_at_risk)

    @strawberry.field(description="RFM quintile scores among all customers with orders; null without orders.")
    def rfm(self) -> RfmScores | None:
        f = self.f
        if f.rfm is None:
            return None
        return RfmScores(
            recency=f.recency_score, frequency=f.frequency_score, monetary=f.monetary_score, segment=f.rfm
        )

    @strawberry.field(description="Lifecycle stage derived from the order history.")
    def lifecycle_stage(self) -> LifecycleStage:
        return lifecycle_stage(self.f)[0]

    @strawberry.field(description="Why it is in that stage.")
    def lifecycle_reason(self) -> str:
        return lifecycle_stage(self.f)[1]

    @strawberry.field(description="The tier the current rules give it (what a review would propose).")
    async def rule_tier(self, info: Info) -> CustomerTier:
        rules = await info.context.loaders.custom(
            "crm_rules", lambda keys: r.load_rules(info.context.reader, keys)
        ).load(0)
        return tier_work.decide(rules, self.f)[0]


async def insights_of(info: Info, organization_id: int, as_of: datetime | None) -> CustomerInsights | None:
    moment = r.as_of_or_now(info.context, as_of)
    loader = info.context.loaders.custom(
        "crm_figures", lambda keys: r.load_figures(info.context.reader, keys)
    )
    figures = await loader.load((organization_id, moment))
    return None if figures is None else CustomerInsights(f=figures)


@strawberry.type(description="Revenue, cost and margin of one period.")
class PeriodRevenue:
    period: str = doc("2026-03 (month), 2026-Q1 (quarter) or 2026 (year), UTC.")
    revenue: Money = doc("Order totals of counted orders placed in the period.")
    cost: Money = doc("Cost of the goods on them.")
    margin: Money = doc("Revenue − cost.")


async def revenue_by_period_of(
    info: Info, organization_id: int, grain: PeriodGrain | None, start: date | None, end: date | None
) -> list[PeriodRevenue]:
    grain = grain or PeriodGrain.MONTH
    today = r.request_now(info.context).date()
    end = end or today
    start = start or date(end.year - 1, end.month, 1)
    r.check_period(start, end)
    loader = info.context.loaders.custom(
        "crm_revenue_by_period", lambda keys: r.load_revenue_by_period(info.context.reader, keys)
    )
    rows = await loader.load((organization_id, grain.value, start, end))
    return [
        PeriodRevenue(
            period=p["period"],
            revenue=_cny(p["revenue"]),
            cost=_cny(p["cost"]),
            margin=_cny(p["revenue"] - p["cost"]),
        )
        for p in rows
    ]


# -- tiers ------------------------------------------------------------------------------------


@strawberry.type(
    description="The thresholds a customer must all meet for a tier; empty ones are not checked."
)
class TierRule:
    tier: CustomerTier = doc("The tier.")
    min_revenue_amount: strawberry.Private[Decimal | None]
    min_orders: int | None = doc("Counted orders in the last 12 months, at least.")
    min_contract_fulfilment: Decimal | None = doc("Contract fulfilment, at least (1 = 100 %).")
    min_growth: Decimal | None = doc("Half-on-half revenue growth, at least (0.1 = +10 %).")

    @strawberry.field(description="Revenue in the last 12 months, at least.")
    def min_revenue(self) -> Money | None:
        return _cny(self.min_revenue_amount)


def _build_rule(rule: tier_work.Rule) -> TierRule:
    return TierRule(
        tier=rule.tier,
        min_revenue_amount=rule.min_revenue,
        min_orders=rule.min_orders,
        min_contract_fulfilment=rule.min_contract_fulfilment,
        min_growth=rule.min_growth,
    )


@strawberry.type(description="A customer's tier changed: when, why, and who approved it.")
class TierChange(relay.Node):
    id: relay.NodeID[int]
    from_tier: CustomerTier | None = doc("The tier before (null: none).")
    to_tier: CustomerTier = doc("The tier after.")
    changed_at: datetime = doc("When it changed.")
    reason: str = doc("Why, in the words of the rule or of the person who overrode it.")
    approved_by: str = doc("Who approved the change.")
    source: TierChangeSource = doc("A review or a manual override.")
    organization_id: strawberry.Private[int]

    @strawberry.field(description="The customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, morg.Organization, self.organization_id, build_organization)


build_tier_change = row_builder(TierChange)


@strawberry.type(description="A proposed tier change from a review, with the figures behind it.")
class TierProposal(relay.Node):
    id: relay.NodeID[int]
    current_tier: CustomerTier | None = doc("The customer's tier when the review ran.")
    proposed_tier: CustomerTier = doc("The tier the rules give.")
    reason: str = doc("Which thresholds were met or missed.")
    orders: int = doc("Counted orders in the 12 months before the review's asOf.")
    contract_fulfilment: Decimal | None = doc("Contract fulfilment at the review.")
    growth: Decimal | None = doc("Half-on-half growth at the review.")
    applied_at: datetime | None = doc("When it was applied; null while open.")
    revenue_amount: strawberry.Private[Decimal]
    organization_id: strawberry.Private[int]

    @strawberry.field(description="Revenue in the 12 months before the review's asOf.")
    def revenue(self) -> Money:
        return _cny(self.revenue_amount)

    @strawberry.field(description="The customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, morg.Organization, self.organization_id, build_organization)


build_proposal = row_builder(TierProposal, renames={"revenue_amount": "revenue"})


@strawberry.type(description="One run of the tier review and the changes it proposes.")
class TierReview(relay.Node):
    id: relay.NodeID[int]
    as_of: datetime = doc("The moment the customers' figures were taken at.")
    status: TierReviewStatus = doc("OPEN while some proposals are not applied.")
    requested_by: str = doc("Who ran it.")
    created_at: datetime = doc("When it ran.")

    @strawberry.field(description="The proposed changes, by customer id.")
    async def proposals(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[TierProposal]:
        return await nested_connection(
            info,
            r.PROPOSALS_OF_REVIEW,
            self.id,
            build_proposal,
            NO_FILTER,
            "id",
            SortDirection.ASC,
            first,
            after,
            None,
            None,
        )


build_review = row_builder(TierReview)


@strawberry.type(description="A customer's lifecycle stage moved, as found by a recompute.")
class LifecycleChange(relay.Node):
    id: relay.NodeID[int]
    from_stage: LifecycleStage | None = doc("The stage before (null: first record).")
    to_stage: LifecycleStage = doc("The stage after.")
    changed_at: datetime = doc("The asOf of the recompute that found it.")
    reason: str = doc("The rule that placed it there.")
    organization_id: strawberry.Private[int]

    @strawberry.field(description="The customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, morg.Organization, self.organization_id, build_organization)


build_lifecycle_change = row_builder(LifecycleChange)


# -- visits and targets -------------------------------------------------------------------------


@strawberry.type(description="A rep's planned visit to a customer, linked to the visit once done.")
class VisitPlan(relay.Node):
    id: relay.NodeID[int]
    planned_on: date = doc("The planned day.")
    purpose: str = doc("What to tell or ask the customer.")
    status: VisitPlanStatus = doc("Planned, done or cancelled.")
    version: int = doc("Incremented on every change.")
    rep_id: strawberry.Private[int]
    organization_id: strawberry.Private[int]
    visit_id: strawberry.Private[int | None]

    @strawberry.field(description="The sales rep.")
    async def rep(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, mp.User, self.rep_id, build_user)

    @strawberry.field(description="The customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, morg.Organization, self.organization_id, build_organization)

    @strawberry.field(description="The visit record (feedback, when it took place) once done.")
    async def visit(self, info: Info) -> Annotated["Visit", strawberry.lazy("graph.types.service")] | None:
        from graph.models import service as ms
        from graph.types.service import build_service_record

        return await load_one(info, ms.ServiceRecord, self.visit_id, build_service_record)


build_visit_plan = row_builder(VisitPlan)


@strawberry.type(description="A rep's revenue target for a period.")
class SalesTarget(relay.Node):
    id: relay.NodeID[int]
    period_start: date = doc("First day of the period.")
    period_end: date = doc("Last day of the period.")
    target_amount: strawberry.Private[Decimal]
    rep_id: strawberry.Private[int]

    @strawberry.field(description="Revenue the rep should bring in the period.")
    def revenue_target(self) -> Money:
        return _cny(self.target_amount)

    @strawberry.field(description="The sales rep.")
    async def rep(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, mp.User, self.rep_id, build_user)


build_target = row_builder(SalesTarget, renames={"target_amount": "revenue_target"})


@strawberry.type(
    description="How a sales rep did in a period: customers gained and lost, revenue against plan, visits."
)
class RepScorecard:
    card: strawberry.Private[scorecard_work.Scorecard]

    @strawberry.field(description="The rep.")
    async def rep(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, mp.User, self.card.rep_id, build_user)

    @strawberry.field(name="from", description="First day of the period.")
    def from_(self) -> date:
        return self.card.start

    @strawberry.field(description="Last day of the period.")
    def to(self) -> date:
        return self.card.end

    @strawberry.field(
        description="Revenue of counted orders in the period from accounts the rep owned when ordered."
    )
    def revenue(self) -> Money:
        return _cny(self.card.revenue)

    @strawberry.field(description="Sum of the rep's targets whose periods lie inside this one.")
    def target(self) -> Money | None:
        return _cny(self.card.target)

    @strawberry.field(description="Revenue ÷ target (1 = on plan); null without a target.")
    def attainment(self) -> Decimal | None:
        return self.card.attainment

    @strawberry.field(description="Accounts the rep owns at the end of the period.")
    def accounts(self) -> int:
        return self.card.portfolio

    @strawberry.field(description="Of those, customers active (ordered in the 365 days before) at the start.")
    def active_at_start(self) -> int:
        return self.card.active_at_start

    @strawberry.field(description="Of those, customers active at the end.")
    def active_at_end(self) -> int:
        return self.card.active_at_end

    @strawberry.field(description="Active at the end but not at the start.")
    def customers_gained(self) -> int:
        return self.card.gained

    @strawberry.field(description="Active at the start but not at the end.")
    def customers_lost(self) -> int:
        return self.card.lost

    @strawberry.field(description="Lost ÷ active at the start.")
    def churn_rate(self) -> Decimal | None:
        return self.card.churn_rate

    @strawberry.field(description="Visits planned in the period (not cancelled).")
    def visits_planned(self) -> int:
        return self.card.visits.planned

    @strawberry.field(description="Of those, done.")
    def visits_done(self) -> int:
        return self.card.visits.done

    @strawberry.field(description="Done ÷ planned.")
    def visit_fulfilment(self) -> Decimal | None:
        return self.card.visits.rate


@strawberry.type(description="A customer at risk of leaving, with what losing it would cost.")
class AtRiskCustomer:
    f: strawberry.Private[CustomerFigures]

    @strawberry.field(description="The customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, morg.Organization, self.f.customer_id, build_organization)

    @strawberry.field(description="Its figures.")
    def insights(self) -> CustomerInsights:
        return CustomerInsights(f=self.f)

    @strawberry.field(description="Churn risk × 12-month margin: the ranking key.")
    def value_at_risk(self) -> Money:
        return _cny(self.f.value_at_risk)


@strawberry.type(description="A page of at-risk customers, highest value at risk first.")
class AtRiskCustomerConnection:
    edges: list[AtRiskCustomerEdge] = doc("The customers of this page with their cursors.")
    page_info: relay.PageInfo = doc("Paging information.")
    total_count: int = doc("How many customers are at risk, over all pages.")


@strawberry.type(description="An at-risk customer and its cursor.")
class AtRiskCustomerEdge:
    node: AtRiskCustomer = doc("The customer.")
    cursor: str = doc("Pass as `after` to continue after this one.")


# -- inputs and payloads ------------------------------------------------------------------------


@strawberry.input(description="Conditions on visit plans; all given conditions must hold.")
class VisitPlanFilter:
    rep_id: strawberry.ID | None = doc("Planned by this rep.", default=None)
    organization_id: strawberry.ID | None = doc("To this customer.", default=None)
    status: list[VisitPlanStatus] | None = doc("In any of these statuses.", default=None)
    planned: DateRange | None = doc("Planned in this range of days.", default=None)


@strawberry.input(description="Thresholds of a tier rule; an empty one is not checked.")
class TierRuleInput:
    min_revenue: Decimal | None = doc("Revenue in the last 12 months (CNY), at least.", default=None)
    min_orders: int | None = doc("Counted orders in the last 12 months, at least.", default=None)
    min_contract_fulfilment: Decimal | None = doc("Contract fulfilment, at least (1 = 100 %).", default=None)
    min_growth: Decimal | None = doc("Half-on-half growth, at least (0.1 = +10 %).", default=None)


@strawberry.input(description="One visit to plan.")
class PlannedVisitInput:
    customer_id: strawberry.ID = doc("The customer to visit.")
    planned_on: date = doc("The day.")
    purpose: str = doc("What to tell or ask the customer.")


@strawberry.input(description="A rep's visits to plan, e.g. for next month.")
class PlanVisitsInput:
    rep_id: strawberry.ID = doc("The sales rep (a rep may only plan its own).")
    visits: list[PlannedVisitInput] = doc("The visits, at most 100.")


@strawberry.input(description="A planned visit that took place.")
class RecordVisitInput:
    visit_id: strawberry.ID | None = doc(
        "An existing Visit record to link; else one is created.", default=None
    )
    done_at: datetime | None = doc(
        "When it took place (required unless the linked visit says).", default=None
    )
    feedback: str | None = doc("What the customer said.", default=None)


@strawberry.input(description="A rep's revenue target for a period.")
class SalesTargetInput:
    rep_id: strawberry.ID = doc("The sales rep.")
    period_start: date = doc("First day.")
    period_end: date = doc("Last day.")
    revenue_target: Decimal = doc("Revenue to bring (CNY).")


@strawberry.type(description="The result of changing a tier rule.")
class TierRulePayload:
    rules: list[TierRule] | None = doc("All rules after the change.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a tier review or of applying its proposals.")
class TierReviewPayload:
    review: TierReview | None = doc("The review.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of setting a customer's tier by hand.")
class CustomerTierPayload:
    organization: OrganizationRef | None = doc("The customer.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The stage changes a lifecycle recompute recorded.")
class LifecycleRefreshPayload:
    changes: list[LifecycleChange] | None = doc("The changes recorded (empty if no stage moved).")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The visits planned.")
class VisitPlansPayload:
    plans: list[VisitPlan] | None = doc("The new plans.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a visit-plan mutation.")
class VisitPlanPayload:
    plan: VisitPlan | None = doc("The plan.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of setting a sales target.")
class SalesTargetPayload:
    target: SalesTarget | None = doc("The target.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


def _build_org(obj):  # noqa: ANN001, ANN202
    from graph.types.organizations import build_organization

    return build_organization(obj)


_review_payload = payload_runner(TierReviewPayload, "review", build_review)
_tier_payload = payload_runner(CustomerTierPayload, "organization", _build_org)
_plan_payload = payload_runner(VisitPlanPayload, "plan", build_visit_plan)
_target_payload = payload_runner(SalesTargetPayload, "target", build_target)


# -- queries ------------------------------------------------------------------------------------


def _figures_cursor(f: CustomerFigures) -> str:
    import base64
    import json

    raw = json.dumps(["risk1", str(f.value_at_risk), f.customer_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after_position(cursor: str) -> tuple[Decimal, int]:
    import base64
    import binascii
    import json

    try:
        kind, value, cid = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if kind != "risk1" or not isinstance(cid, int):
            raise ValueError(kind)
        return Decimal(value), cid
    except (ValueError, TypeError, ArithmeticError, binascii.Error) as exc:
        raise BadInput("Malformed cursor: pass back a cursor this API returned.") from exc


@strawberry.type
class CrmQueries:
    @strawberry.field(
        description="The tier rules in force (highest tier first). Internal only.",
        permission_classes=_INTERNAL,
    )
    async def tier_rules(self, info: Info) -> list[TierRule]:
        rules = await r.load_rules(info.context.reader, [0])
        by_tier = {rule.tier: rule for rule in rules[0]}
        return [_build_rule(by_tier[t]) for t in tier_work.TIER_ORDER if t in by_tier]

    @strawberry.field(description="Tier reviews, newest first. Internal only.", permission_classes=_INTERNAL)
    async def tier_reviews(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[TierReview]:
        return await list_connection(
            info, m.TierReview, build_review, NO_FILTER, "id", SortDirection.DESC, first, after, None, None
        )

    @strawberry.field(
        description="Customers at risk of churning (churn risk ≥ minChurnRisk, default any risk), highest value "
        "at risk first. Internal only; sales reps see their own customers.",
        permission_classes=_INTERNAL,
    )
    async def at_risk_customers(
        self,
        info: Info,
        as_of: AsOf = None,
        min_churn_risk: Annotated[
            Decimal, strawberry.argument(description="Only customers with at least this churn risk (0–1).")
        ] = Decimal("0.0001"),
        first: First = None,
        after: After = None,
    ) -> AtRiskCustomerConnection:
        settings = info.context.settings
        size = settings.default_page_size if first is None else first
        if not 0 <= size <= settings.max_page_size:
            raise BadInput(f"`first` must be between 0 and {settings.max_page_size}.")
        moment = r.as_of_or_now(info.context, as_of)
        ranked = await r.ranked_at_risk(info.context.reader, moment, min_churn_risk)
        start = 0
        if after:
            value, cid = _after_position(after)
            start = next(
                (i for i, f in enumerate(ranked) if (-f.value_at_risk, f.customer_id) > (-value, cid)),
                len(ranked),
            )
        window = ranked[start : start + size]
        edges = [AtRiskCustomerEdge(node=AtRiskCustomer(f=f), cursor=_figures_cursor(f)) for f in window]
        info_ = relay.PageInfo(
            has_next_page=start + size < len(ranked),
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return AtRiskCustomerConnection(edges=edges, page_info=info_, total_count=len(ranked))

    @strawberry.field(description="Visit plans, by planned day. Internal only.", permission_classes=_INTERNAL)
    async def visit_plans(
        self,
        info: Info,
        filter: VisitPlanFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[VisitPlan]:
        return await list_connection(
            info,
            m.VisitPlan,
            build_visit_plan,
            r.visit_plan_filter(filter, freeze(filter)),
            "planned_on",
            SortDirection.ASC,
            first,
            after,
            last,
            before,
        )

    @strawberry.field(
        description="Sales targets, by period. Internal only; a rep sees its own.",
        permission_classes=_INTERNAL,
    )
    async def sales_targets(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[SalesTarget]:
        return await list_connection(
            info, m.SalesTarget, build_target, NO_FILTER, "id", SortDirection.ASC, first, after, None, None
        )

    @strawberry.field(
        description="Scorecards of the sales reps for a period of days (`from`–`to`, inclusive; default: the "
        "three calendar months before this one), by name. Internal only; a sales rep sees only its own.",
        permission_classes=_INTERNAL,
    )
    async def rep_scorecards(
        self,
        info: Info,
        period: Annotated[
            DateRange | None,
            strawberry.argument(
                description="The days to score (inclusive); default the three months before this one."
            ),
        ] = None,
        include_inactive: Annotated[
            bool, strawberry.argument(description="Include reps who have left.")
        ] = False,
        first: First = None,
        after: After = None,
    ) -> Connection[RepScorecard]:
        start, end = r.scorecard_period(info.context, period)
        users = mp.User.__table__
        conditions = [users.c.role == mp.UserRole.SALES]
        if not include_inactive:
            conditions.append(users.c.active.is_(True))
        principal = info.context.principal
        if principal.role == "sales":
            conditions.append(users.c.id == (principal.user_id or -1))
        request = make_page_request(info, mp.User, "name", SortDirection.ASC, first, after, None, None)
        reader = info.context.reader
        page: Page = await fetch_page(reader, mp.User, request, conditions)
        loader = info.context.loaders.custom("crm_scorecards", lambda keys: r.load_scorecards(reader, keys))
        cards = await loader.load_many([(row.id, start, end) for row in page.rows])
        by_rep = {card.rep_id: card for card in cards}

        async def count() -> int:
            return await reader.count(reader.select(mp.User).where(*conditions))

        return build_connection(page, lambda row: RepScorecard(card=by_rep[row.id]), count)


# -- mutations ----------------------------------------------------------------------------------


def _naive(field_name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        from graph.errors import UserInputError

        raise UserInputError.one(field_name, "Give a time zone (UTC).", ErrorCode.INVALID)


@strawberry.type
class CrmMutations:
    @strawberry.mutation(
        description="Set the thresholds of a tier's rule (admin).", permission_classes=[allow("admin")]
    )
    async def set_tier_rule(
        self,
        info: Info,
        tier: Annotated[CustomerTier, strawberry.argument(description="The tier whose rule to set.")],
        input: TierRuleInput,
    ) -> TierRulePayload:
        async def work(uow):  # noqa: ANN001, ANN202
            await tier_work.set_rule(uow, tier, input_values(input))
            return await tier_work.load_rules(session_runner(uow.session))

        rules, errors = await mutate(info, work)
        if errors:
            return TierRulePayload(rules=None, errors=errors)
        by_tier = {rule.tier: rule for rule in rules}
        return TierRulePayload(
            rules=[_build_rule(by_tier[t]) for t in tier_work.TIER_ORDER if t in by_tier], errors=[]
        )

    @strawberry.mutation(
        description="Review every customer's tier as of a moment (default now): proposes a change, with its "
        "reason, wherever the rules give another tier; also records lifecycle-stage changes (admin).",
        permission_classes=[allow("admin")],
    )
    async def review_tiers(self, info: Info, as_of: AsOf = None) -> TierReviewPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            _naive("asOf", as_of)
            return await tier_work.review_tiers(uow, as_of)

        return await _review_payload(info, work)

    @strawberry.mutation(
        description="Apply a review's proposals — all open ones, or those in proposalIds — as tier changes "
        "recorded with date, reason and approver (admin).",
        permission_classes=[allow("admin")],
    )
    async def apply_tier_proposals(
        self,
        info: Info,
        review_id: Annotated[strawberry.ID, strawberry.argument(description="The review.")],
        proposal_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="The proposals to apply; all open ones if omitted."),
        ] = None,
    ) -> TierReviewPayload:
        return await _review_payload(
            info,
            updating(
                m.TierReview,
                "TierReview",
                lambda uow, review: tier_work.apply_proposals(uow, review, proposal_ids),
                review_id,
            ),
        )

    @strawberry.mutation(
        description="Set a customer's tier by hand, with the reason (admin).",
        permission_classes=[allow("admin")],
    )
    async def set_customer_tier(
        self,
        info: Info,
        organization_id: Annotated[strawberry.ID, strawberry.argument(description="The customer.")],
        tier: Annotated[CustomerTier, strawberry.argument(description="Its new tier.")],
        reason: Annotated[str, strawberry.argument(description="Why, kept in the tier history.")],
    ) -> CustomerTierPayload:
        return await _tier_payload(
            info,
            updating(
                morg.Organization,
                "Organization",
                lambda uow, org: tier_work.override_tier(uow, org, tier, reason),
                organization_id,
            ),
        )

    @strawberry.mutation(
        description="Recompute every customer's lifecycle stage as of a moment (default now) and record the "
        "stages that moved (admin).",
        permission_classes=[allow("admin")],
    )
    async def refresh_lifecycle(self, info: Info, as_of: AsOf = None) -> LifecycleRefreshPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            _naive("asOf", as_of)
            return await lifecycle_work.refresh(uow, as_of)

        changes, errors = await mutate(info, work)
        return LifecycleRefreshPayload(
            changes=None if errors else [build_lifecycle_change(c) for c in changes], errors=errors
        )

    @strawberry.mutation(
        description="Plan visits to customers for a rep.", permission_classes=[allow("records")]
    )
    async def plan_visits(self, info: Info, input: PlanVisitsInput) -> VisitPlansPayload:
        items = [input_values(v) for v in input.visits]
        plans, errors = await mutate(info, lambda uow: visit_work.plan_visits(uow, input.rep_id, items))
        return VisitPlansPayload(
            plans=None if errors else [build_visit_plan(p) for p in plans], errors=errors
        )

    @strawberry.mutation(
        description="Record that a planned visit took place: links an existing Visit or creates one.",
        permission_classes=[allow("records")],
    )
    async def record_visit(self, info: Info, id: strawberry.ID, input: RecordVisitInput) -> VisitPlanPayload:
        async def change(uow, plan):  # noqa: ANN001, ANN202
            _naive("doneAt", input.done_at)
            return await visit_work.record_visit(uow, plan, input.visit_id, input.done_at, input.feedback)

        return await _plan_payload(info, updating(m.VisitPlan, "VisitPlan", change, id))

    @strawberry.mutation(description="Cancel a planned visit.", permission_classes=[allow("records")])
    async def cancel_visit_plan(self, info: Info, id: strawberry.ID) -> VisitPlanPayload:
        return await _plan_payload(info, updating(m.VisitPlan, "VisitPlan", visit_work.cancel_plan, id))

    @strawberry.mutation(
        description="Set a sales rep's revenue target for a period (admin).",
        permission_classes=[allow("admin")],
    )
    async def set_sales_target(self, info: Info, input: SalesTargetInput) -> SalesTargetPayload:
        async def work(uow):  # noqa: ANN001, ANN202
            errors = ErrorCollector()
            rep = await check.reference(
                uow,
                errors,
                "repId",
                input.rep_id,
                mp.User,
                "User",
                check=lambda u: None if u.role is mp.UserRole.SALES else "Not a sales rep.",
            )
            check.date_order(errors, "periodEnd", input.period_start, input.period_end)
            check.amount(errors, "revenueTarget", input.revenue_target)
            errors.raise_if_any()
            return await scorecard_work.set_target(
                uow, rep, input.period_start, input.period_end, input.revenue_target
            )

        return await _target_payload(info, work)


# Node types to register in graph/schema.py NODE_TYPES: name → (table, builder).
NODES = {
    "TierChange": (m.TierChange, build_tier_change),
    "TierProposal": (m.TierProposal, build_proposal),
    "TierReview": (m.TierReview, build_review),
    "LifecycleChange": (m.LifecycleChange, build_lifecycle_change),
    "VisitPlan": (m.VisitPlan, build_visit_plan),
    "SalesTarget": (m.SalesTarget, build_target),
}

# Fields for graph/types/organizations.py (Organization), kept here with the rest of CRM.


async def organization_insights(info: Info, organization_id: int, is_customer: bool, as_of: datetime | None):
    return await insights_of(info, organization_id, as_of) if is_customer else None


def tier_history_connection(info: Info, organization_id: int, first: int | None, after: str | None):
    return nested_connection(
        info,
        r.TIER_CHANGES_OF_ORGANIZATION,
        organization_id,
        build_tier_change,
        NO_FILTER,
        "changed_at",
        SortDirection.DESC,
        first,
        after,
        None,
        None,
    )


def lifecycle_history_connection(info: Info, organization_id: int, first: int | None, after: str | None):
    return nested_connection(
        info,
        r.LIFECYCLE_OF_ORGANIZATION,
        organization_id,
        build_lifecycle_change,
        NO_FILTER,
        "changed_at",
        SortDirection.DESC,
        first,
        after,
        None,
        None,
    )


def visit_plans_connection(info: Info, organization_id: int, filter: VisitPlanFilter | None, first, after):  # noqa: ANN001
    return nested_connection(
        info,
        r.VISIT_PLANS_OF_ORGANIZATION,
        organization_id,
        build_visit_plan,
        r.visit_plan_filter(filter, freeze(filter)),
        "planned_on",
        SortDirection.DESC,
        first,
        after,
        None,
        None,
    )


__all__ = ["CrmMutations", "CrmQueries", "NODES", "PeriodGrain", "internal"]
