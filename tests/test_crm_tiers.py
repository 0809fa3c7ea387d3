"""Tier rules, the tier review, applying proposals and manual overrides, pinned by hand on the
world of tests/test_crm_value.py (as of 2026-07-01), on both databases.

Rules set here (setTierRule):
  strategic  TTM revenue ≥ 7000, contract fulfilment ≥ 0.3, growth ≥ 1
  key        TTM revenue ≥ 5000
  general    TTM revenue ≥ 1000 and ≥ 2 orders in 12 months
Customers' figures (see test_crm_value): revenue / orders / fulfilment / growth
  A 3000/3/–/–  → general (is general: no proposal)
  B 5000/1/–/–  → key     (is general: proposal up)
  C 8000/4/–/–  → strategic needs a fulfilment it has not → key (is key: none)
  D 0/0         → potential (is key: proposal down, misses key's revenue)
  E no orders   → potential (has no tier: proposal "first tier")
  F 3000/1      → general needs 2 orders → potential (is potential: none)
  G 7000/3/0.3867/5 → strategic (is key: proposal up)
  H 1500/3/–/−0.5   → general (is potential: proposal up)
"""

from __future__ import annotations

from graph.ids import encode_global_id
from tests.conftest import Backend
from tests.test_crm_value import AS_OF_TEXT, World, build_world

RULES = """mutation {
  s: setTierRule(tier: STRATEGIC, input: {minRevenue: "7000", minContractFulfilment: "0.3", minGrowth: "1"}) { errors { code } }
  k: setTierRule(tier: KEY, input: {minRevenue: "5000"}) { errors { code } }
  g: setTierRule(tier: GENERAL, input: {minRevenue: "1000", minOrders: 2}) { rules { tier minRevenue { amount } minOrders minContractFulfilment minGrowth } errors { code } }
}"""

REVIEW = """mutation($as: DateTime) { reviewTiers(asOf: $as) { errors { code message } review { id status asOf
  proposals(first: 50) { edges { node { id currentTier proposedTier reason orders revenue { amount } organization { name } } } } } } }"""

APPLY = """mutation($review: ID!, $ids: [ID!]) { applyTierProposals(reviewId: $review, proposalIds: $ids) {
  errors { field code } review { status proposals { edges { node { organization { name } appliedAt } } } } } }"""

HISTORY = """query($id: ID!) { node(id: $id) { ... on Organization { tier
  tierHistory { edges { node { fromTier toTier reason approvedBy source } } } } } }"""


async def _world(backend: Backend) -> World:
    world = getattr(backend, "_crm_world", None)
    if world is None:
        world = await build_world(backend)
        backend._crm_world = world  # type: ignore[attr-defined]
        data = await backend.gql(RULES)
        assert all(not v["errors"] for v in data.values()), data
    return world


async def test_documented_defaults_apply_until_an_admin_sets_a_rule(blank_backend: Backend) -> None:
    data = await blank_backend.gql("{ tierRules { tier minRevenue { amount } minOrders } }")
    rules = {r["tier"]: r for r in data["tierRules"]}
    assert list(rules) == ["STRATEGIC", "KEY", "GENERAL", "POTENTIAL"]
    if getattr(blank_backend, "_crm_world", None) is None:  # before this module's rules replace them
        assert rules["STRATEGIC"]["minOrders"] == 12
        assert float(rules["KEY"]["minRevenue"]["amount"]) == 200000
        assert (rules["GENERAL"]["minOrders"], float(rules["GENERAL"]["minRevenue"]["amount"])) == (2, 20000)
        assert rules["POTENTIAL"]["minRevenue"] is None
        # Storing one tier's rule leaves the others at their defaults.
        data = await blank_backend.gql(
            'mutation { setTierRule(tier: KEY, input: {minRevenue: "250000"}) { rules { tier minRevenue { amount } minOrders } } }'
        )
        rules = {r["tier"]: r for r in data["setTierRule"]["rules"]}
        assert float(rules["KEY"]["minRevenue"]["amount"]) == 250000
        assert rules["STRATEGIC"]["minOrders"] == 12


async def test_review_proposes_each_change_with_its_reason(blank_backend: Backend) -> None:
    await _world(blank_backend)
    data = (await blank_backend.gql(REVIEW, {"as": AS_OF_TEXT}))["reviewTiers"]
    assert data["errors"] == []
    proposals = {
        e["node"]["organization"]["name"][-1]: e["node"] for e in data["review"]["proposals"]["edges"]
    }
    assert {k: (p["currentTier"], p["proposedTier"]) for k, p in proposals.items()} == {
        "B": ("GENERAL", "KEY"),
        "D": ("KEY", "POTENTIAL"),
        "E": (None, "POTENTIAL"),
        "G": ("KEY", "STRATEGIC"),
        "H": ("POTENTIAL", "GENERAL"),
    }
    assert (
        proposals["B"]["reason"] == "Up from general: meets the key rule (TTM revenue 5,000.00 ≥ 5,000.00)."
    )
    assert proposals["D"]["reason"] == (
        "Down from key: misses the key rule (TTM revenue 0.00 < 5,000.00); meets no higher rule, so potential."
    )
    assert proposals["E"]["reason"] == "First tier: meets no higher rule, so potential."
    assert proposals["G"]["reason"] == (
        "Up from key: meets the strategic rule (TTM revenue 7,000.00 ≥ 7,000.00; "
        "contract fulfilment 0.3867 ≥ 0.3000; growth 5.0000 ≥ 1.0000)."
    )
    assert proposals["H"]["reason"] == (
        "Up from potential: meets the general rule (TTM revenue 1,500.00 ≥ 1,000.00; orders in 12 months 3 ≥ 2)."
    )
    assert (proposals["G"]["orders"], float(proposals["G"]["revenue"]["amount"])) == (3, 7000)
    assert data["review"]["status"] == "OPEN"
    blank_backend._crm_review = (data["review"]["id"], {k: p["id"] for k, p in proposals.items()})  # type: ignore[attr-defined]


async def test_applying_selected_then_all_proposals_records_history(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    if getattr(blank_backend, "_crm_review", None) is None:
        await test_review_proposes_each_change_with_its_reason(blank_backend)
    review_id, ids = blank_backend._crm_review  # type: ignore[attr-defined]

    bad = await blank_backend.gql(
        APPLY, {"review": review_id, "ids": [ids["B"], encode_global_id("TierProposal", 999999)]}
    )
    assert [e["code"] for e in bad["applyTierProposals"]["errors"]] == ["NOT_FOUND"]
    assert (await blank_backend.gql(HISTORY, {"id": world.gid("B")}))["node"][
        "tier"
    ] == "GENERAL"  # nothing applied

    some = (await blank_backend.gql(APPLY, {"review": review_id, "ids": [ids["B"], ids["G"]]}))[
        "applyTierProposals"
    ]
    assert some["errors"] == [] and some["review"]["status"] == "OPEN"
    applied = {
        e["node"]["organization"]["name"][-1]
        for e in some["review"]["proposals"]["edges"]
        if e["node"]["appliedAt"]
    }
    assert applied == {"B", "G"}
    g = (await blank_backend.gql(HISTORY, {"id": world.gid("G")}))["node"]
    assert g["tier"] == "STRATEGIC"
    change = g["tierHistory"]["edges"][0]["node"]
    assert (change["fromTier"], change["toTier"], change["source"]) == ("KEY", "STRATEGIC", "REVIEW")
    assert change["reason"].startswith("Up from key: meets the strategic rule")
    assert change["approvedBy"] == "key:test admin"

    rest = (await blank_backend.gql(APPLY, {"review": review_id}))["applyTierProposals"]
    assert rest["errors"] == [] and rest["review"]["status"] == "APPLIED"
    tiers = {}
    for name in "BDEGH":
        tiers[name] = (await blank_backend.gql(HISTORY, {"id": world.gid(name)}))["node"]["tier"]
    assert tiers == {"B": "KEY", "D": "POTENTIAL", "E": "POTENTIAL", "G": "STRATEGIC", "H": "GENERAL"}
    # Applying twice changes nothing more: one history entry per change.
    await blank_backend.gql(APPLY, {"review": review_id})
    history = (await blank_backend.gql(HISTORY, {"id": world.gid("B")}))["node"]["tierHistory"]["edges"]
    assert len(history) == 1


async def test_the_review_records_lifecycle_stages(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    if getattr(blank_backend, "_crm_review", None) is None:
        await test_review_proposes_each_change_with_its_reason(blank_backend)
    query = "query($id: ID!) { node(id: $id) { ... on Organization { lifecycleHistory { edges { node { fromStage toStage changedAt reason } } } } } }"
    g = (await blank_backend.gql(query, {"id": world.gid("G")}))["node"]["lifecycleHistory"]["edges"]
    assert [(e["node"]["fromStage"], e["node"]["toStage"]) for e in g] == [(None, "GROWTH")]
    assert g[0]["node"]["changedAt"].startswith("2026-07-01T00:00:00")
    assert g[0]["node"]["reason"] == "revenue grew 500.00 % half on half"


async def test_manual_override_needs_a_reason_and_is_kept_in_history(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    mutation = """mutation($id: ID!, $reason: String!, $tier: CustomerTier!) {
      setCustomerTier(organizationId: $id, tier: $tier, reason: $reason) { errors { field code } organization { tier } } }"""
    refused = (await blank_backend.gql(mutation, {"id": world.gid("F"), "reason": " ", "tier": "KEY"}))[
        "setCustomerTier"
    ]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["reason"], "REQUIRED")]
    done = (
        await blank_backend.gql(
            mutation, {"id": world.gid("F"), "reason": "Signed a framework deal", "tier": "KEY"}
        )
    )["setCustomerTier"]
    assert done == {"errors": [], "organization": {"tier": "KEY"}}
    change = (await blank_backend.gql(HISTORY, {"id": world.gid("F")}))["node"]["tierHistory"]["edges"][0][
        "node"
    ]
    assert (change["fromTier"], change["toTier"], change["source"], change["reason"]) == (
        "POTENTIAL",
        "KEY",
        "MANUAL",
        "Manual override: Signed a framework deal",
    )
    same = (await blank_backend.gql(mutation, {"id": world.gid("F"), "reason": "again", "tier": "KEY"}))[
        "setCustomerTier"
    ]
    assert [e["code"] for e in same["errors"]] == ["INVALID"]
    audit = await blank_backend.gql(
        '{ auditEvents(filter: {operation: "setCustomerTier"}) { edges { node { action changes } } } }'
    )
    assert {e["node"]["action"] for e in audit["auditEvents"]["edges"]} == {"create", "update"}


async def test_rule_input_is_checked(blank_backend: Backend) -> None:
    await _world(blank_backend)
    data = await blank_backend.gql(
        'mutation { a: setTierRule(tier: KEY, input: {minRevenue: "-1", minOrders: -2}) { errors { field code } }'
        " b: setTierRule(tier: POTENTIAL, input: {minOrders: 1}) { errors { field code } } }"
    )
    assert {e["code"] for e in data["a"]["errors"]} == {"OUT_OF_RANGE"}
    assert [e["field"] for e in data["b"]["errors"]] == [["tier"]]


async def test_only_admins_review_and_partners_see_nothing(blank_backend: Backend) -> None:
    world = await _world(blank_backend)
    sales = await blank_backend.key("sales", user_id=world.reps["R1"])
    body = await blank_backend.gql(REVIEW, {"as": AS_OF_TEXT}, errors=True, key=sales)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await blank_backend.gql(
        'mutation($id: ID!) { setCustomerTier(organizationId: $id, tier: KEY, reason: "x") { errors { code } } }',
        {"id": world.gid("A")},
        errors=True,
        key=sales,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    partner = await blank_backend.key("customer", organization_id=world.customers["A"])
    for query in ("{ tierRules { tier } }", "{ tierReviews { totalCount } }"):
        body = await blank_backend.gql(query, errors=True, key=partner)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    own_history = "query($id: ID!) { node(id: $id) { ... on Organization { tierHistory { totalCount } } } }"
    body = await blank_backend.gql(own_history, {"id": world.gid("A")}, errors=True, key=partner)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_every_tier_change_lands_in_the_history(backend: Backend) -> None:
    """A tier given at creation or changed with updateOrganization is history too, not only
    reviews and overrides: the history explains every tier a customer has had."""
    created = await backend.gql(
        """mutation { createOrganization(input: {name: "Tier trail Ltd", roles: [CUSTOMER], tier: GENERAL}) {
        organization { id } errors { code } } }"""
    )
    org = created["createOrganization"]["organization"]["id"]
    update = """mutation($id: ID!, $tier: CustomerTier) { updateOrganization(id: $id, input: {tier: $tier}) {
        errors { code } } }"""
    assert (await backend.gql(update, {"id": org, "tier": "KEY"}))["updateOrganization"]["errors"] == []
    assert (await backend.gql(update, {"id": org, "tier": "KEY"}))["updateOrganization"]["errors"] == []
    node = (await backend.gql(HISTORY, {"id": org}))["node"]
    assert node["tier"] == "KEY"
    trail = sorted(
        ((e["node"]["fromTier"], e["node"]["toTier"], e["node"]["source"]) for e in node["tierHistory"]["edges"]),
        key=lambda t: t[0] or "",
    )
    # Setting the tier it already has records nothing.
    assert trail == [(None, "GENERAL", "MANUAL"), ("GENERAL", "KEY", "MANUAL")]
