"""GraphQL types for the relationship side of CRM: survey campaigns and the satisfaction
index, opportunities and the pipeline, and cross-selling recommendations.

All of it is internal: the root fields and the Organization fields declare InternalOnly,
and partners have no row rule for these tables (graph/access.py), so node(id:) hides them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.crm import opportunities as pipeline
from graph.crm import recommendations as rec
from graph.crm import satisfaction as sat
from graph.errors import BadInput
from graph.ids import decode_global_id, encode_global_id
from graph.loaders import NO_FILTER
from graph.models import organizations as om
from graph.models import people as pm
from graph.models import products as prm
from graph.models import relationship as m
from graph.resolvers import relationship as r
from graph.types.common import (
    After,
    Before,
    Connection,
    DateRange,
    DateTimeRange,
    ExpectedVersion,
    First,
    InternalOnly,
    Last,
    Money,
    SortDirection,
    UserError,
    allow,
    doc,
    freeze,
    input_values,
    list_connection,
    load_one,
    nested_connection,
    payload_runner,
    row_builder,
    updating_version,
)
from graph.types.refs import OrganizationRef, ProductRef, ServiceRecordRef, UserRef

OpportunityStage = strawberry.enum(m.OpportunityStage, description="Where an opportunity stands in the sales pipeline.")
CampaignStatus = strawberry.enum(m.CampaignStatus, description="Whether a survey campaign takes responses.")
SatisfactionGrouping = strawberry.enum(sat.SatisfactionGrouping, description="How to group the satisfaction index.")
# Lazy: graph.types.organizations imports this module for the Organization fields below.
CustomerTierRef = Annotated["CustomerTier", strawberry.lazy("graph.types.organizations")]


@strawberry.enum(description="How an opportunity ended.")
class OpportunityOutcome(enum.Enum):
    WON = "won"
    LOST = "lost"


# -- satisfaction ------------------------------------------------------------------------------


@strawberry.type(
    description="Satisfaction of a group of survey responses: index = 10 × mean score (scores 0–10), "
    "so 0–100; null when there are no responses."
)
class SatisfactionIndex:
    responses: int = doc("Scored responses counted.")
    mean_score: Decimal | None = doc("Mean score, 0–10, rounded half-up to 0.01.")
    index: Decimal | None = doc("100 × mean score / 10, rounded half-up to 0.1.")
    lowest_score: int | None = doc("Lowest score given.")
    highest_score: int | None = doc("Highest score given.")


def build_index(figures: sat.SatisfactionFigures) -> SatisfactionIndex:
    return SatisfactionIndex(
        responses=figures.responses,
        mean_score=figures.mean_score,
        index=figures.index,
        lowest_score=figures.lowest,
        highest_score=figures.highest,
    )


@strawberry.type(description="The satisfaction index of one group (a customer, tier, campaign, month or quarter).")
class SatisfactionGroup:
    key: str = doc("The group: a tier value, a period (2026-03, 2026-Q1), or the customer's or campaign's global id.")
    label: str = doc("A readable name for the group.")
    tier: CustomerTierRef | None = doc("The tier, when grouped by tier.")
    satisfaction: SatisfactionIndex = doc("The group's figures.")
    organization_id: strawberry.Private[int | None]
    campaign_id: strawberry.Private[int | None]

    @strawberry.field(description="The customer, when grouped by customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)

    @strawberry.field(description="The campaign, when grouped by campaign.")
    async def campaign(self, info: Info) -> SurveyCampaign | None:
        return await load_one(info, m.SurveyCampaign, self.campaign_id, build_campaign)


@strawberry.type(description="A satisfaction survey run over a period, for a tier, for listed customers, or for all.")
class SurveyCampaign(relay.Node):
    id: relay.NodeID[int]
    name: str = doc("Name, e.g. 'Satisfaction survey 2026-Q1'.")
    description: str | None = doc("What the campaign asks and why.")
    period_start: date = doc("First day of the survey period.")
    period_end: date = doc("Last day of the survey period.")
    target_tier: CustomerTierRef | None = doc("The tier it asks (with any listed customers); null and none listed: all.")
    status: CampaignStatus = doc("PLANNED, OPEN (taking responses) or CLOSED.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")

    @strawberry.field(description="Customers the campaign asks by name.")
    async def target_customers(self, info: Info, first: First = None, after: After = None) -> Connection[OrganizationRef]:
        from graph.types.organizations import build_organization

        return await nested_connection(
            info, r.TARGETS_OF_CAMPAIGN, self.id, build_organization, NO_FILTER, "name", SortDirection.ASC,
            first, after, None, None,
        )

    @strawberry.field(description="The responses (satisfaction-survey service records), newest first.")
    async def responses(self, info: Info, first: First = None, after: After = None) -> Connection[ServiceRecordRef]:
        from graph.types.service import build_service_record

        return await nested_connection(
            info, r.RESPONSES_OF_CAMPAIGN, self.id, build_service_record, NO_FILTER, "opened_at",
            SortDirection.DESC, first, after, None, None,
        )

    @strawberry.field(description="The campaign's satisfaction index over its responses.")
    async def satisfaction(self, info: Info) -> SatisfactionIndex:
        loader = info.context.loaders.custom(
            "campaign_satisfaction", lambda ids: sat.figures_by_campaign(info.context.reader, ids)
        )
        return build_index(await loader.load(self.id))


build_campaign = row_builder(SurveyCampaign)


# -- opportunities ------------------------------------------------------------------------------


@strawberry.type(description="Possible business with a prospect or customer: its value, probability and stage.")
class Opportunity(relay.Node):
    id: relay.NodeID[int]
    title: str = doc("What the business is.")
    description: str | None = doc("Details.")
    stage: OpportunityStage = doc("Pipeline stage; WON and LOST are closed.")
    probability: int = doc("Chance of winning, in percent (0–100).")
    expected_close_date: date = doc("When it is expected to close.")
    competitors: list[str] | None = doc("Competitors noted for this business.")
    closed_at: datetime | None = doc("When it was won or lost.")
    close_reason: str | None = doc("Why it was won or lost.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    organization_id: strawberry.Private[int]
    owner_id: strawberry.Private[int]
    value_amount: strawberry.Private[Decimal]
    currency: strawberry.Private[str]

    @strawberry.field(description="What the business is worth if won.")
    def expected_value(self) -> Money:
        return Money(amount=self.value_amount, currency=self.currency)

    @strawberry.field(description="Expected value × probability / 100.")
    def weighted_value(self) -> Money:
        return Money(amount=pipeline.weighted_value(self.value_amount, self.probability), currency=self.currency)

    @strawberry.field(description="The prospect or customer.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)

    @strawberry.field(description="The sales rep who owns it.")
    async def owner(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, pm.User, self.owner_id, build_user)


build_opportunity = row_builder(Opportunity, renames={"value_amount": "expected_value"})


@strawberry.input(description="Conditions on opportunities; all given conditions must hold.")
class OpportunityFilter:
    stages: list[OpportunityStage] | None = doc("In any of these stages.", default=None)
    open: bool | None = doc("Only open (true) or only won/lost (false) opportunities.", default=None)
    owner_id: strawberry.ID | None = doc("Owned by this user.", default=None)
    organization_id: strawberry.ID | None = doc("With this organization.", default=None)
    min_probability: int | None = doc("Probability at least this (percent).", default=None)
    expected_close: DateRange | None = doc("Expected to close in this date range.", default=None)
    search: str | None = doc("Text in the title.", default=None)
    include_archived: bool = doc("Include archived opportunities.", default=False)


@strawberry.type(description="One group of the pipeline: a stage (and owner) in one currency.")
class PipelineGroup:
    stage: OpportunityStage = doc("The stage.")
    count: int = doc("How many opportunities.")
    total_value: Money = doc("Sum of their expected values.")
    weighted_value: Money = doc("Sum of expected value × probability / 100.")
    owner_id: strawberry.Private[int | None]

    @strawberry.field(description="The owner (null on stage totals).")
    async def owner(self, info: Info) -> UserRef | None:
        from graph.types.people import build_user

        return await load_one(info, pm.User, self.owner_id, build_user)


def _pipeline_group(g: pipeline.PipelineGroup) -> PipelineGroup:
    return PipelineGroup(
        stage=g.stage,
        count=g.count,
        total_value=Money(amount=g.total_value, currency=g.currency),
        weighted_value=Money(amount=g.weighted_value, currency=g.currency),
        owner_id=g.owner_id,
    )


@strawberry.type(description="The sales pipeline by stage, and by stage and owner (GROUP BY, scoped to the caller).")
class PipelineReport:
    by_stage: list[PipelineGroup] = doc("One group per stage (and currency), in pipeline order.")
    by_stage_and_owner: list[PipelineGroup] = doc("One group per stage, owner (and currency).")


# -- recommendations -----------------------------------------------------------------------------


@strawberry.type(description="A product to offer a customer, with the co-purchase evidence behind it.")
class ProductRecommendation:
    buyers: int = doc("Similar customers who buy the product (the support).")
    similar_customers: int = doc("Customers sharing at least `minSharedProducts` products with this one.")
    score: float = doc("buyers / similarCustomers (the confidence), 0–1, rounded to 4 places.")
    product_id: strawberry.Private[int]
    shared_product_ids: strawberry.Private[list[int]]

    @strawberry.field(description="The recommended product.")
    async def product(self, info: Info) -> ProductRef | None:
        from graph.types.products import build_product

        return await load_one(info, prm.Product, self.product_id, build_product)

    @strawberry.field(description="Up to 3 products this customer bought that the product's buyers also bought, most shared first.")
    async def shared_products(self, info: Info) -> list[ProductRef]:
        from graph.types.products import build_product

        rows = await info.context.loaders.by_id(prm.Product).load_many(self.shared_product_ids)
        return [build_product(row) for row in rows if row is not None]


_MAX_SHARED = 50


async def recommended_products(
    info: Info, organization_id: int, first: int | None, after: str | None, min_shared: int
) -> Connection[ProductRecommendation]:
    settings = info.context.settings
    limit = settings.default_page_size if first is None else first
    if not 0 <= limit <= settings.max_page_size:
        raise BadInput(f"`first` must be between 0 and {settings.max_page_size}.")
    if not 1 <= min_shared <= _MAX_SHARED:
        raise BadInput(f"`minSharedProducts` must be between 1 and {_MAX_SHARED}.")
    position = rec.decode_cursor(after) if after else None
    reader = info.context.reader

    async def load(ids: list[int]) -> list[rec.RecommendationPage]:
        pages = await rec.recommendation_pages(reader, ids, limit=limit, after=position, min_shared=min_shared)
        return [pages[i] for i in ids]

    loader = info.context.loaders.custom(f"recommendations:{limit}:{after}:{min_shared}", load)
    page = await loader.load(organization_id)
    edges = [
        relay.Edge(
            node=ProductRecommendation(
                buyers=item.buyers,
                similar_customers=item.similar_customers,
                score=item.score,
                product_id=item.product_id,
                shared_product_ids=item.shared_product_ids,
            ),
            cursor=rec.encode_cursor(item.position),
        )
        for item in page.items
    ]
    page_info = relay.PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )

    async def count() -> int:
        return page.total

    return Connection(edges=edges, page_info=page_info, _count=count)


# Responses opened in a range (the argument of every satisfaction figure).
OpenedIn = Annotated[
    DateTimeRange | None, strawberry.argument(description="Only responses opened in this range (UTC).")
]


# -- fields on Organization (declared there) -----------------------------------------------------


async def _organization_satisfaction(self, info: Info, opened: OpenedIn = None) -> SatisfactionIndex:  # noqa: ANN001
    start = opened.from_ if opened is not None else None
    end = opened.to if opened is not None else None
    reader = info.context.reader
    loader = info.context.loaders.custom(
        f"satisfaction:{start}:{end}", lambda ids: sat.figures_by_customer(reader, ids, start, end)
    )
    return build_index(await loader.load(self.id))


async def _organization_opportunities(
    self,  # noqa: ANN001
    info: Info,
    filter: OpportunityFilter | None = None,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
) -> Connection[Opportunity]:
    return await nested_connection(
        info, r.OPPORTUNITIES_OF_ORGANIZATION, self.id, build_opportunity, r.opportunity_filter(filter, freeze(filter)),
        "expected_close_date", SortDirection.ASC, first, after, last, before,
    )


async def _organization_recommendations(
    self,  # noqa: ANN001
    info: Info,
    first: Annotated[int | None, strawberry.argument(description="How many (default 20, at most 100).")] = None,
    after: After = None,
    min_shared_products: Annotated[
        int, strawberry.argument(description="Products a customer must share with this one to count as similar.")
    ] = 2,
) -> Connection[ProductRecommendation]:
    return await recommended_products(info, self.id, first, after, min_shared_products)


satisfaction_field = strawberry.field(
    resolver=_organization_satisfaction,
    description="Satisfaction index of this customer's survey responses (opened in `opened`, if given). Internal only.",
    permission_classes=[InternalOnly],
)
opportunities_field = strawberry.field(
    resolver=_organization_opportunities,
    description="Opportunities with this organization, by expected close date. Internal only.",
    permission_classes=[InternalOnly],
)
recommended_products_field = strawberry.field(
    resolver=_organization_recommendations,
    description="Products customers with similar purchases buy and this one does not, best first. Internal only.",
    permission_classes=[InternalOnly],
)


# -- root fields and mutations ------------------------------------------------------------------


@strawberry.input(description="Conditions on survey campaigns.")
class SurveyCampaignFilter:
    status: list[CampaignStatus] | None = doc("In any of these statuses.", default=None)
    search: str | None = doc("Text in the name.", default=None)
    include_archived: bool = doc("Include archived campaigns.", default=False)


@strawberry.input(description="A new survey campaign.")
class CreateSurveyCampaignInput:
    name: str = doc("Name.")
    period_start: date = doc("First day of the period.")
    period_end: date = doc("Last day of the period.")
    description: str | None = doc("What it asks and why.", default=None)
    target_tier: CustomerTierRef | None = doc("Ask every customer of this tier.", default=None)
    target_customer_ids: list[strawberry.ID] | None = doc("Ask these customers (at most 500).", default=None)
    status: CampaignStatus | None = doc("PLANNED (default) or OPEN.", default=None)


@strawberry.input(description="A customer's answer to an open survey campaign.")
class RecordSurveyResponseInput:
    campaign_id: strawberry.ID = doc("The campaign answered.")
    organization_id: strawberry.ID = doc("The customer answering.")
    score: int = doc("Score from 0 (worst) to 10 (best).")
    comments: str | None = doc("The customer's comments.", default=None)
    contact_id: strawberry.ID | None = doc("The contact who answered.", default=None)


@strawberry.input(description="A new opportunity.")
class CreateOpportunityInput:
    organization_id: strawberry.ID = doc("The prospect or customer.")
    title: str = doc("What the business is.")
    expected_value: Decimal = doc("What it is worth if won.")
    probability: int = doc("Chance of winning in percent, 0–100.")
    expected_close_date: date = doc("When it is expected to close.")
    stage: OpportunityStage | None = doc("An open stage (default QUALIFICATION).", default=None)
    currency: str | None = doc("Currency (default CNY).", default=None)
    owner_id: strawberry.ID | None = doc("Owning user (default: the caller's user).", default=None)
    description: str | None = doc("Details.", default=None)
    competitors: list[str] | None = doc("Competitors noted (at most 20).", default=None)


@strawberry.input(description="Changes to an open opportunity; omitted fields stay as they are.")
class UpdateOpportunityInput:
    title: str | None = doc("Title.", default=strawberry.UNSET)
    description: str | None = doc("Details.", default=strawberry.UNSET)
    stage: OpportunityStage | None = doc("An open stage (close with closeOpportunity).", default=strawberry.UNSET)
    expected_value: Decimal | None = doc("Expected value.", default=strawberry.UNSET)
    currency: str | None = doc("Currency.", default=strawberry.UNSET)
    probability: int | None = doc("Probability in percent, 0–100.", default=strawberry.UNSET)
    expected_close_date: date | None = doc("Expected close date.", default=strawberry.UNSET)
    owner_id: strawberry.ID | None = doc("Owning user.", default=strawberry.UNSET)
    competitors: list[str] | None = doc("Competitors (replaces the list).", default=strawberry.UNSET)


@strawberry.type(description="The result of an opportunity mutation.")
class OpportunityPayload:
    opportunity: Opportunity | None = doc("The opportunity, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of a survey campaign mutation.")
class SurveyCampaignPayload:
    campaign: SurveyCampaign | None = doc("The campaign, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


@strawberry.type(description="The result of recording a survey response.")
class SurveyResponsePayload:
    response: ServiceRecordRef | None = doc("The response (a SatisfactionSurvey record), when recorded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


def _build_response(row):  # noqa: ANN001, ANN202
    from graph.types.service import build_service_record

    return build_service_record(row)


_opportunity = payload_runner(OpportunityPayload, "opportunity", build_opportunity)
_campaign = payload_runner(SurveyCampaignPayload, "campaign", build_campaign)
_response = payload_runner(SurveyResponsePayload, "response", _build_response)


def _group_key(g: sat.SatisfactionGroup) -> str:
    """A customer or campaign group is keyed by its global id, other groups by their value."""
    if g.organization_id is not None:
        return encode_global_id("Organization", g.organization_id)
    if g.campaign_id is not None:
        return encode_global_id("SurveyCampaign", g.campaign_id)
    return g.key


def _opened_range(opened: DateTimeRange | None) -> dict:
    return {"opened_from": opened.from_ if opened else None, "opened_to": opened.to if opened else None}


@strawberry.type
class RelationshipQueries:
    @strawberry.field(description="Survey campaigns, newest period first. Internal only.", permission_classes=[InternalOnly])
    async def survey_campaigns(
        self, info: Info,
        filter: SurveyCampaignFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[SurveyCampaign]:
        return await list_connection(
            info, m.SurveyCampaign, build_campaign, r.campaign_filter(filter, freeze(filter)), "period_start",
            SortDirection.DESC, first, after, last, before,
        )

    @strawberry.field(
        description="The satisfaction index grouped by customer (least satisfied first), tier, campaign, month "
        "or quarter (in time order). Internal only.",
        permission_classes=[InternalOnly],
    )
    async def satisfaction_index(
        self, info: Info,
        group_by: Annotated[SatisfactionGrouping, strawberry.argument(description="What to group the responses by.")],
        opened: OpenedIn = None,
        campaign_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only the responses to this campaign.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="At most this many groups (default 20, at most 100).")] = None,
    ) -> list[SatisfactionGroup]:
        settings = info.context.settings
        limit = settings.default_page_size if first is None else first
        if not 0 <= limit <= settings.max_page_size:
            raise BadInput(f"`first` must be between 0 and {settings.max_page_size}.")
        campaign = None
        if campaign_id is not None:
            decoded = decode_global_id(campaign_id, "SurveyCampaign")
            campaign = decoded[1] if decoded else -1  # an id of another kind matches nothing
        groups = await sat.satisfaction_groups(
            info.context.reader, group_by, campaign_id=campaign, limit=limit, **_opened_range(opened)
        )
        return [
            SatisfactionGroup(
                key=_group_key(g), label=g.label, tier=g.tier, satisfaction=build_index(g.figures),
                organization_id=g.organization_id, campaign_id=g.campaign_id,
            )
            for g in groups
        ]

    @strawberry.field(description="Opportunities, by expected close date. Internal only.", permission_classes=[InternalOnly])
    async def opportunities(
        self, info: Info,
        filter: OpportunityFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Opportunity]:
        return await list_connection(
            info, m.Opportunity, build_opportunity, r.opportunity_filter(filter, freeze(filter)), "expected_close_date",
            SortDirection.ASC, first, after, last, before,
        )

    @strawberry.field(
        description="The pipeline: count, total and weighted value by stage and by stage and owner. Internal only.",
        permission_classes=[InternalOnly],
    )
    async def pipeline(self, info: Info, filter: OpportunityFilter | None = None) -> PipelineReport:
        groups = await pipeline.pipeline_by_stage_and_owner(info.context.reader, r.opportunity_filter(filter, None).conditions)
        return PipelineReport(
            by_stage=[_pipeline_group(g) for g in pipeline.stage_totals(groups)],
            by_stage_and_owner=[_pipeline_group(g) for g in groups],
        )


@strawberry.type
class RelationshipMutations:
    @strawberry.mutation(description="Plan (or open) a satisfaction survey campaign.", permission_classes=[allow("surveys")])
    async def create_survey_campaign(self, info: Info, input: CreateSurveyCampaignInput) -> SurveyCampaignPayload:
        return await _campaign(info, lambda uow: r.create_campaign(uow, input_values(input)))

    @strawberry.mutation(description="Open a planned campaign for responses.", permission_classes=[allow("surveys")])
    async def open_survey_campaign(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> SurveyCampaignPayload:
        return await _campaign(
            info, updating_version(m.SurveyCampaign, "SurveyCampaign", r.set_campaign_status, id, expected_version,
                                   m.CampaignStatus.OPEN),
        )

    @strawberry.mutation(description="Close a campaign: it takes no more responses.", permission_classes=[allow("surveys")])
    async def close_survey_campaign(
        self, info: Info, id: strawberry.ID, expected_version: ExpectedVersion = None
    ) -> SurveyCampaignPayload:
        return await _campaign(
            info, updating_version(m.SurveyCampaign, "SurveyCampaign", r.set_campaign_status, id, expected_version,
                                   m.CampaignStatus.CLOSED),
        )

    @strawberry.mutation(description="Record a customer's response to an open campaign.", permission_classes=[allow("surveys")])
    async def record_survey_response(self, info: Info, input: RecordSurveyResponseInput) -> SurveyResponsePayload:
        return await _response(info, lambda uow: r.record_response(uow, input_values(input)))

    @strawberry.mutation(description="Open an opportunity with a prospect or customer.", permission_classes=[allow("opportunities")])
    async def create_opportunity(self, info: Info, input: CreateOpportunityInput) -> OpportunityPayload:
        return await _opportunity(info, lambda uow: r.create_opportunity(uow, input_values(input)))

    @strawberry.mutation(description="Change an open opportunity.", permission_classes=[allow("opportunities")])
    async def update_opportunity(
        self, info: Info, id: strawberry.ID, input: UpdateOpportunityInput, expected_version: ExpectedVersion = None
    ) -> OpportunityPayload:
        return await _opportunity(
            info, updating_version(m.Opportunity, "Opportunity", r.update_opportunity, id, expected_version,
                                   input_values(input)),
        )

    @strawberry.mutation(
        description="Close an opportunity as WON (probability 100) or LOST (probability 0; give the reason). Once.",
        permission_classes=[allow("opportunities")],
    )
    async def close_opportunity(
        self, info: Info, id: strawberry.ID,
        outcome: Annotated[OpportunityOutcome, strawberry.argument(description="WON or LOST.")],
        reason: Annotated[
            str | None, strawberry.argument(description="Why it was won or lost (required when lost).")
        ] = None,
        expected_version: ExpectedVersion = None,
    ) -> OpportunityPayload:
        return await _opportunity(
            info, updating_version(m.Opportunity, "Opportunity", r.close_opportunity, id, expected_version,
                                   outcome is OpportunityOutcome.WON, reason),
        )
