"""Mutations on organizations, contacts, users, account ownership, contracts and interactions.

Each mutation: the happy path is re-read from the graph to prove it persisted, and a bad
input returns a typed error (field path + code) and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import Backend


def uid() -> str:
    return uuid4().hex


async def mutate(backend: Backend, name: str, args: str, variables: dict[str, Any], selection: str) -> dict:
    """Run one mutation and return its payload (`errors` always selected).

    Every call also checks the audit trail: a successful mutation wrote at least one event
    for this request and this operation, a refused one wrote none."""
    request_id = uuid4().hex
    response = await backend.client.post(
        "/graphql",
        json={
            "query": f"mutation M{args} {{ {name}{_call(args)} {{ {selection} errors {{ field message code }} }} }}",
            "variables": variables,
        },
        headers={"x-request-id": request_id},
    )
    body = response.json()
    assert "errors" not in body, body["errors"]
    payload = body["data"][name]
    trail = await backend.gql(
        "query($r: String) { auditEvents(first: 100, filter: {requestId: $r}) { edges { node { operation action } } } }",
        {"r": request_id},
    )
    events = [e["node"] for e in trail["auditEvents"]["edges"]]
    if payload["errors"]:
        assert events == [], f"{name} was refused but wrote audit events: {events}"
    else:
        assert events and all(e["operation"] == name for e in events), f"{name} wrote no audit event"
    return payload


def _call(args: str) -> str:
    # "($id: ID!, $input: X!)" -> "(id: $id, input: $input)"
    names = [part.split(":")[0].strip().lstrip("$") for part in args.strip("()").split(",") if part.strip()]
    return "(" + ", ".join(f"{n}: ${n}" for n in names) + ")" if names else ""


def codes(payload: dict) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def node(backend: Backend, id: str, fields: str) -> dict:
    data = await backend.gql(f"query N($id: ID!) {{ node(id: $id) {{ id {fields} }} }}", {"id": id})
    return data["node"]


ORG_FIELDS = """... on Organization { name legalName registrationNumber email region status tier roles version archivedAt
  creditLimit { amount currency } addresses { kind line1 city country } }"""


async def create_org(backend: Backend, roles: list[str] | None = None, **extra: Any) -> str:
    payload = await mutate(
        backend, "createOrganization", "($input: CreateOrganizationInput!)",
        {"input": {"name": f"Org {uid()}", "roles": roles or ["CUSTOMER"], **extra}}, "organization { id }",
    )
    assert payload["errors"] == []
    return payload["organization"]["id"]


async def create_user(backend: Backend, **extra: Any) -> str:
    payload = await mutate(
        backend, "createUser", "($input: CreateUserInput!)",
        {"input": {"name": f"User {uid()}", "email": f"{uid()}@example.com", "role": "SALES", **extra}}, "user { id }",
    )
    assert payload["errors"] == []
    return payload["user"]["id"]


async def create_contact(backend: Backend, org_id: str, **extra: Any) -> str:
    payload = await mutate(
        backend, "createContact", "($input: CreateContactInput!)",
        {"input": {"organizationId": org_id, "name": f"Contact {uid()}", **extra}}, "contact { id }",
    )
    assert payload["errors"] == []
    return payload["contact"]["id"]


async def org_count(backend: Backend, search: str) -> int:
    data = await backend.gql(
        "query C($s: String) { organizations(filter: {search: $s, includeArchived: true}) { totalCount } }", {"s": search}
    )
    return data["organizations"]["totalCount"]


# -- organizations --------------------------------------------------------------------


async def test_create_organization_persists_roles_credit_and_addresses(backend: Backend) -> None:
    name, reg = f"Acme {uid()}", f"REG-{uid()[:20]}"
    payload = await mutate(
        backend, "createOrganization", "($input: CreateOrganizationInput!)",
        {"input": {
            "name": name, "roles": ["CUSTOMER", "DISTRIBUTOR"], "registrationNumber": reg, "email": "a@acme.example",
            "tier": "KEY", "creditLimit": "12345.6700", "creditCurrency": "CNY",
            "addresses": [{"kind": "SHIPPING", "line1": "1 Road", "city": "Suzhou", "country": "CN"}],
        }},
        f"organization {{ id {ORG_FIELDS} }}",
    )
    assert payload["errors"] == []
    created = payload["organization"]
    assert created["name"] == name and created["status"] == "ACTIVE" and created["version"] == 1
    stored = await node(backend, created["id"], ORG_FIELDS)
    assert stored["name"] == name
    assert sorted(stored["roles"]) == ["CUSTOMER", "DISTRIBUTOR"]
    assert stored["registrationNumber"] == reg and stored["tier"] == "KEY"
    assert Decimal(stored["creditLimit"]["amount"]) == Decimal("12345.67")
    assert stored["creditLimit"]["currency"] == "CNY"
    assert stored["addresses"] == [{"kind": "SHIPPING", "line1": "1 Road", "city": "Suzhou", "country": "CN"}]


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"name": "   "}, ["name"], "REQUIRED"),
        ({"roles": []}, ["roles"], "REQUIRED"),
        ({"email": "not-an-email"}, ["email"], "INVALID"),
        ({"creditLimit": "-1"}, ["creditLimit"], "OUT_OF_RANGE"),
        ({"creditCurrency": "yuan"}, ["creditCurrency"], "INVALID"),
        ({"addresses": [{"kind": "BILLING", "line1": "x", "country": "CHN"}]}, ["addresses", "0", "country"], "INVALID"),
        (
            {"addresses": [{"kind": "BILLING", "line1": "x"}, {"kind": "BILLING", "line1": "y"}]},
            ["addresses", "1", "kind"], "DUPLICATE",
        ),
    ],
)
async def test_create_organization_rejects_bad_input_and_creates_nothing(
    backend: Backend, extra: dict, field: list[str], code: str
) -> None:
    marker = uid()
    variables = {"input": {"name": f"Bad {marker}", "roles": ["CUSTOMER"], **extra}}
    payload = await mutate(backend, "createOrganization", "($input: CreateOrganizationInput!)", variables, "organization { id }")
    assert payload["organization"] is None
    assert (field, code) in codes(payload)
    assert await org_count(backend, marker) == 0


async def test_create_organization_rejects_a_taken_registration_number(backend: Backend) -> None:
    reg = f"REG-{uid()[:20]}"
    await create_org(backend, registrationNumber=reg)
    marker = uid()
    payload = await mutate(
        backend, "createOrganization", "($input: CreateOrganizationInput!)",
        {"input": {"name": f"Dup {marker}", "roles": ["SUPPLIER"], "registrationNumber": reg}}, "organization { id }",
    )
    assert payload["organization"] is None
    assert codes(payload) == [(["registrationNumber"], "DUPLICATE")]
    assert await org_count(backend, marker) == 0


async def test_update_organization_changes_fields_and_bumps_version(backend: Backend) -> None:
    org = await create_org(backend)
    new_name = f"Renamed {uid()}"
    payload = await mutate(
        backend, "updateOrganization", "($id: ID!, $input: UpdateOrganizationInput!)",
        {"id": org, "input": {"name": new_name, "roles": ["SUPPLIER"], "region": "East", "status": "SUSPENDED",
                              "addresses": [{"kind": "REGISTERED", "line1": "9 Lane"}]}},
        "organization { id version name }",
    )
    assert payload["errors"] == []
    assert payload["organization"]["version"] == 2
    stored = await node(backend, org, ORG_FIELDS)
    assert stored["name"] == new_name and stored["roles"] == ["SUPPLIER"]
    assert stored["region"] == "East" and stored["status"] == "SUSPENDED"
    assert stored["addresses"] == [{"kind": "REGISTERED", "line1": "9 Lane", "city": None, "country": "CN"}]


async def test_update_organization_rejects_bad_input_and_leaves_it_unchanged(backend: Backend) -> None:
    reg = f"REG-{uid()[:20]}"
    await create_org(backend, registrationNumber=reg)
    org = await create_org(backend)
    before = await node(backend, org, ORG_FIELDS)
    for change, field, code in [
        ({"registrationNumber": reg}, ["registrationNumber"], "DUPLICATE"),
        ({"status": "ARCHIVED"}, ["status"], "INVALID"),
        ({"name": ""}, ["name"], "REQUIRED"),
        ({"roles": []}, ["roles"], "REQUIRED"),
    ]:
        payload = await mutate(
            backend, "updateOrganization", "($id: ID!, $input: UpdateOrganizationInput!)",
            {"id": org, "input": change}, "organization { id }",
        )
        assert payload["organization"] is None
        assert codes(payload) == [(field, code)], change
    assert await node(backend, org, ORG_FIELDS) == before


async def test_archive_organization_archives_it_and_refuses_changes_afterwards(backend: Backend) -> None:
    org = await create_org(backend)
    payload = await mutate(backend, "archiveOrganization", "($id: ID!)", {"id": org}, "organization { id archivedAt status }")
    assert payload["errors"] == []
    stored = await node(backend, org, ORG_FIELDS)
    assert stored["archivedAt"] is not None and stored["status"] == "ARCHIVED" and stored["version"] == 2

    again = await mutate(backend, "archiveOrganization", "($id: ID!)", {"id": org}, "organization { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateOrganization", "($id: ID!, $input: UpdateOrganizationInput!)",
        {"id": org, "input": {"name": "Zombie"}}, "organization { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, org, ORG_FIELDS) == stored


async def test_archive_organization_with_an_unknown_id_is_not_found(backend: Backend) -> None:
    user = await create_user(backend)  # a User id is not an Organization id
    payload = await mutate(backend, "archiveOrganization", "($id: ID!)", {"id": user}, "organization { id }")
    assert payload["organization"] is None
    assert codes(payload) == [(["id"], "NOT_FOUND")]
    assert (await node(backend, user, "... on User { archivedAt }"))["archivedAt"] is None


SERVED = "... on Organization { servedCustomers(first: 50) { totalCount edges { node { id } } } }"


async def test_set_distributor_coverage_starts_and_stops_serving_a_customer(backend: Backend) -> None:
    distributor = await create_org(backend, ["DISTRIBUTOR"])
    customer = await create_org(backend, ["CUSTOMER"])
    args = "($input: DistributorCoverageInput!)"
    payload = await mutate(
        backend, "setDistributorCoverage", args,
        {"input": {"distributorId": distributor, "customerId": customer, "region": "North"}}, "organization { id }",
    )
    assert payload["errors"] == [] and payload["organization"]["id"] == distributor
    served = (await node(backend, distributor, SERVED))["servedCustomers"]
    assert served["totalCount"] == 1 and served["edges"][0]["node"]["id"] == customer

    payload = await mutate(
        backend, "setDistributorCoverage", args,
        {"input": {"distributorId": distributor, "customerId": customer, "serves": False}}, "organization { id }",
    )
    assert payload["errors"] == []
    assert (await node(backend, distributor, SERVED))["servedCustomers"]["totalCount"] == 0


async def test_set_distributor_coverage_rejects_organizations_without_the_roles(backend: Backend) -> None:
    distributor = await create_org(backend, ["DISTRIBUTOR"])
    supplier = await create_org(backend, ["SUPPLIER"])
    payload = await mutate(
        backend, "setDistributorCoverage", "($input: DistributorCoverageInput!)",
        {"input": {"distributorId": supplier, "customerId": supplier}}, "organization { id }",
    )
    assert payload["organization"] is None
    assert codes(payload) == [(["distributorId"], "INVALID"), (["customerId"], "INVALID")]
    payload = await mutate(
        backend, "setDistributorCoverage", "($input: DistributorCoverageInput!)",
        {"input": {"distributorId": distributor, "customerId": supplier}}, "organization { id }",
    )
    assert codes(payload) == [(["customerId"], "INVALID")]
    assert (await node(backend, distributor, SERVED))["servedCustomers"]["totalCount"] == 0


# -- contacts -------------------------------------------------------------------------

CONTACT_FIELDS = "... on Contact { name title email phone isPrimary notes version archivedAt organization { id } }"
CONTACTS_OF = "... on Organization { contacts(first: 50, filter: {includeArchived: true}) { totalCount } }"


async def test_create_contact_persists_and_a_new_primary_demotes_the_old_one(backend: Backend) -> None:
    org = await create_org(backend)
    first = await create_contact(backend, org, isPrimary=True)
    payload = await mutate(
        backend, "createContact", "($input: CreateContactInput!)",
        {"input": {"organizationId": org, "name": "Li Wei", "email": "li@example.com", "phone": "123", "isPrimary": True}},
        f"contact {{ id {CONTACT_FIELDS} }}",
    )
    assert payload["errors"] == []
    second = payload["contact"]
    assert second["isPrimary"] is True and second["organization"]["id"] == org
    stored = await node(backend, second["id"], CONTACT_FIELDS)
    assert (stored["name"], stored["email"], stored["phone"], stored["isPrimary"]) == ("Li Wei", "li@example.com", "123", True)
    demoted = await node(backend, first, CONTACT_FIELDS)
    assert demoted["isPrimary"] is False and demoted["version"] == 2
    primaries = await backend.gql(
        "query P($id: ID!) { node(id: $id) { ... on Organization { contacts(filter: {isPrimary: true}) { totalCount } } } }",
        {"id": org},
    )
    assert primaries["node"]["contacts"]["totalCount"] == 1


async def test_create_contact_rejects_bad_input_and_adds_nobody(backend: Backend) -> None:
    org = await create_org(backend)
    archived = await create_org(backend)
    await mutate(backend, "archiveOrganization", "($id: ID!)", {"id": archived}, "organization { id }")
    for variables, expected in [
        ({"organizationId": org, "name": "X", "email": "nope"}, [(["email"], "INVALID")]),
        ({"organizationId": org, "name": " "}, [(["name"], "REQUIRED")]),
        ({"organizationId": org, "name": "X", "title": "t" * 101}, [(["title"], "TOO_LONG")]),
        ({"organizationId": archived, "name": "X"}, [(["organizationId"], "ARCHIVED")]),
    ]:
        payload = await mutate(backend, "createContact", "($input: CreateContactInput!)", {"input": variables}, "contact { id }")
        assert payload["contact"] is None
        assert codes(payload) == expected
    for o in (org, archived):
        assert (await node(backend, o, CONTACTS_OF))["contacts"]["totalCount"] == 0


async def test_update_contact_changes_fields_and_primary_stays_unique(backend: Backend) -> None:
    org = await create_org(backend)
    primary = await create_contact(backend, org, isPrimary=True)
    other = await create_contact(backend, org)
    payload = await mutate(
        backend, "updateContact", "($id: ID!, $input: UpdateContactInput!)",
        {"id": other, "input": {"title": "Buyer", "isPrimary": True, "notes": "Prefers email"}},
        "contact { id version isPrimary }",
    )
    assert payload["errors"] == [] and payload["contact"]["version"] == 2
    stored = await node(backend, other, CONTACT_FIELDS)
    assert (stored["title"], stored["isPrimary"], stored["notes"]) == ("Buyer", True, "Prefers email")
    assert (await node(backend, primary, CONTACT_FIELDS))["isPrimary"] is False


async def test_update_contact_rejects_bad_input_and_leaves_it_unchanged(backend: Backend) -> None:
    org = await create_org(backend)
    contact = await create_contact(backend, org)
    before = await node(backend, contact, CONTACT_FIELDS)
    payload = await mutate(
        backend, "updateContact", "($id: ID!, $input: UpdateContactInput!)",
        {"id": contact, "input": {"name": "", "email": "bad@", "phone": "1" * 65}}, "contact { id }",
    )
    assert payload["contact"] is None
    assert codes(payload) == [(["name"], "REQUIRED"), (["email"], "INVALID"), (["phone"], "TOO_LONG")]
    assert await node(backend, contact, CONTACT_FIELDS) == before


async def test_archive_contact_archives_it_and_drops_primary(backend: Backend) -> None:
    org = await create_org(backend)
    contact = await create_contact(backend, org, isPrimary=True)
    payload = await mutate(backend, "archiveContact", "($id: ID!)", {"id": contact}, "contact { id archivedAt }")
    assert payload["errors"] == [] and payload["contact"]["archivedAt"] is not None
    stored = await node(backend, contact, CONTACT_FIELDS)
    assert stored["archivedAt"] is not None and stored["isPrimary"] is False
    again = await mutate(backend, "archiveContact", "($id: ID!)", {"id": contact}, "contact { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateContact", "($id: ID!, $input: UpdateContactInput!)",
        {"id": contact, "input": {"name": "Back"}}, "contact { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, contact, CONTACT_FIELDS) == stored


# -- users ----------------------------------------------------------------------------

USER_FIELDS = "... on User { name email role region active version archivedAt }"


async def user_count(backend: Backend, search: str) -> int:
    data = await backend.gql(
        "query U($s: String) { users(filter: {search: $s, includeArchived: true}) { totalCount } }", {"s": search}
    )
    return data["users"]["totalCount"]


async def test_create_user_persists(backend: Backend) -> None:
    email = f"{uid()}@example.com"
    payload = await mutate(
        backend, "createUser", "($input: CreateUserInput!)",
        {"input": {"name": "Zhang San", "email": email, "role": "SERVICE", "region": "South"}}, f"user {{ id {USER_FIELDS} }}",
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["user"]["id"], USER_FIELDS)
    assert stored == {
        "id": payload["user"]["id"], "name": "Zhang San", "email": email, "role": "SERVICE", "region": "South",
        "active": True, "version": 1, "archivedAt": None,
    }


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [({"email": "DUP"}, ["email"], "DUPLICATE"), ({"email": "x@y"}, ["email"], "INVALID"), ({"name": ""}, ["name"], "REQUIRED")],
)
async def test_create_user_rejects_bad_input_and_adds_nobody(backend: Backend, change: dict, field: list, code: str) -> None:
    taken = f"{uid()}@example.com"
    await create_user(backend, email=taken)
    marker = uid()
    data = {"name": f"N {marker}", "email": f"{marker}@example.com", "role": "SALES", **change}
    if data["email"] == "DUP":
        data["email"] = taken
    payload = await mutate(backend, "createUser", "($input: CreateUserInput!)", {"input": data}, "user { id }")
    assert payload["user"] is None
    assert codes(payload) == [(field, code)]
    assert await user_count(backend, marker) == 0
    assert await user_count(backend, taken) == 1


async def test_update_user_changes_fields(backend: Backend) -> None:
    user = await create_user(backend)
    email = f"{uid()}@example.com"
    payload = await mutate(
        backend, "updateUser", "($id: ID!, $input: UpdateUserInput!)",
        {"id": user, "input": {"email": email, "role": "ANALYST", "active": False}}, "user { id version }",
    )
    assert payload["errors"] == [] and payload["user"]["version"] == 2
    stored = await node(backend, user, USER_FIELDS)
    assert (stored["email"], stored["role"], stored["active"]) == (email, "ANALYST", False)


async def test_update_user_rejects_a_taken_email_and_leaves_it_unchanged(backend: Backend) -> None:
    taken = f"{uid()}@example.com"
    await create_user(backend, email=taken)
    user = await create_user(backend)
    before = await node(backend, user, USER_FIELDS)
    payload = await mutate(
        backend, "updateUser", "($id: ID!, $input: UpdateUserInput!)",
        {"id": user, "input": {"email": taken, "name": "Changed"}}, "user { id }",
    )
    assert payload["user"] is None
    assert codes(payload) == [(["email"], "DUPLICATE")]
    assert await node(backend, user, USER_FIELDS) == before


async def test_archive_user_deactivates_and_freezes_it(backend: Backend) -> None:
    user = await create_user(backend)
    payload = await mutate(backend, "archiveUser", "($id: ID!)", {"id": user}, "user { id active archivedAt }")
    assert payload["errors"] == []
    stored = await node(backend, user, USER_FIELDS)
    assert stored["active"] is False and stored["archivedAt"] is not None
    for name, variables in [
        ("archiveUser", {"id": user}),
        ("updateUser", {"id": user, "input": {"active": True}}),
    ]:
        args = "($id: ID!)" if name == "archiveUser" else "($id: ID!, $input: UpdateUserInput!)"
        payload = await mutate(backend, name, args, variables, "user { id }")
        assert codes(payload) == [(["id"], "ARCHIVED")]
    assert await node(backend, user, USER_FIELDS) == stored


# -- account ownership ----------------------------------------------------------------

OWNER = "... on Organization { owner { id } ownerHistory(first: 10) { totalCount edges { node { endedAt user { id } } } } }"


async def assign(backend: Backend, org: str, user: str, reason: str | None = None) -> dict:
    return await mutate(
        backend, "assignAccountOwner", "($input: AssignAccountOwnerInput!)",
        {"input": {"organizationId": org, "userId": user, "reason": reason}},
        "ownership { id startedAt endedAt reason organization { id } user { id } }",
    )


async def test_assign_account_owner_hands_over_and_keeps_history(backend: Backend) -> None:
    org = await create_org(backend)
    first, second = await create_user(backend), await create_user(backend)
    payload = await assign(backend, org, first, "new account")
    assert payload["errors"] == []
    ownership = payload["ownership"]
    assert ownership["user"]["id"] == first and ownership["organization"]["id"] == org
    assert ownership["endedAt"] is None and ownership["reason"] == "new account"
    assert (await node(backend, org, OWNER))["owner"]["id"] == first

    assert (await assign(backend, org, second))["errors"] == []
    stored = await node(backend, org, OWNER)
    assert stored["owner"]["id"] == second
    history = stored["ownerHistory"]
    assert history["totalCount"] == 2
    ended = {e["node"]["user"]["id"]: e["node"]["endedAt"] for e in history["edges"]}
    assert ended[second] is None and ended[first] is not None


async def test_assign_account_owner_rejects_bad_input_and_changes_no_ownership(backend: Backend) -> None:
    org = await create_org(backend)
    supplier = await create_org(backend, ["SUPPLIER"])
    owner, inactive, archived = await create_user(backend), await create_user(backend), await create_user(backend)
    await mutate(backend, "updateUser", "($id: ID!, $input: UpdateUserInput!)", {"id": inactive, "input": {"active": False}}, "user { id }")
    await mutate(backend, "archiveUser", "($id: ID!)", {"id": archived}, "user { id }")
    assert (await assign(backend, org, owner))["errors"] == []
    before = await node(backend, org, OWNER)
    for target, user, expected in [
        (org, owner, [(["userId"], "CONFLICT")]),
        (org, inactive, [(["userId"], "INVALID")]),
        (org, archived, [(["userId"], "ARCHIVED")]),
        (supplier, owner, [(["organizationId"], "INVALID")]),
        (org, supplier, [(["userId"], "INVALID")]),  # an Organization id where a User id belongs
    ]:
        payload = await assign(backend, target, user)
        assert payload["ownership"] is None
        assert codes(payload) == expected
    assert await node(backend, org, OWNER) == before
    assert (await node(backend, supplier, OWNER))["ownerHistory"]["totalCount"] == 0


# -- contracts ------------------------------------------------------------------------

CONTRACT_FIELDS = """... on Contract { number title kind status validFrom validTo paymentTerms version archivedAt
  value { amount currency } organization { id } }"""


async def create_contract(backend: Backend, org: str, **extra: Any) -> dict:
    return await mutate(
        backend, "createContract", "($input: CreateContractInput!)",
        {"input": {"organizationId": org, "number": f"C-{uid()[:24]}", "title": "Supply deal", "kind": "SUPPLY",
                   "validFrom": "2024-01-01", **extra}},
        f"contract {{ id {CONTRACT_FIELDS} }}",
    )


async def contract_count(backend: Backend, org: str) -> int:
    data = await node(backend, org, "... on Organization { contracts(filter: {includeArchived: true}) { totalCount } }")
    return data["contracts"]["totalCount"]


async def test_create_contract_persists(backend: Backend) -> None:
    org = await create_org(backend)
    number = f"C-{uid()[:24]}"
    payload = await create_contract(
        backend, org, number=number, validTo="2025-12-31", status="ACTIVE", value="1000000.50", currency="USD",
        paymentTerms="Net 30",
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["contract"]["id"], CONTRACT_FIELDS)
    assert stored["number"] == number and stored["kind"] == "SUPPLY" and stored["status"] == "ACTIVE"
    assert (stored["validFrom"], stored["validTo"], stored["paymentTerms"]) == ("2024-01-01", "2025-12-31", "Net 30")
    assert Decimal(stored["value"]["amount"]) == Decimal("1000000.50") and stored["value"]["currency"] == "USD"
    assert stored["organization"]["id"] == org and stored["version"] == 1


async def test_create_contract_rejects_bad_input_and_records_nothing(backend: Backend) -> None:
    org = await create_org(backend)
    taken = (await create_contract(backend, org))["contract"]["number"]
    for extra, expected in [
        ({"number": taken}, [(["number"], "DUPLICATE")]),
        ({"validTo": "2023-12-31"}, [(["validTo"], "OUT_OF_RANGE")]),
        ({"value": "-5"}, [(["value"], "OUT_OF_RANGE")]),
        ({"currency": "usd"}, [(["currency"], "INVALID")]),
        ({"title": " "}, [(["title"], "REQUIRED")]),
        ({"number": "n" * 65}, [(["number"], "TOO_LONG")]),
    ]:
        payload = await create_contract(backend, org, **extra)
        assert payload["contract"] is None
        assert codes(payload) == expected, extra
    assert await contract_count(backend, org) == 1


async def test_update_contract_changes_fields(backend: Backend) -> None:
    org = await create_org(backend)
    contract = (await create_contract(backend, org))["contract"]["id"]
    payload = await mutate(
        backend, "updateContract", "($id: ID!, $input: UpdateContractInput!)",
        {"id": contract, "input": {"status": "TERMINATED", "validTo": "2024-06-30", "title": "Ended deal"}},
        "contract { id version }",
    )
    assert payload["errors"] == [] and payload["contract"]["version"] == 2
    stored = await node(backend, contract, CONTRACT_FIELDS)
    assert (stored["status"], stored["validTo"], stored["title"]) == ("TERMINATED", "2024-06-30", "Ended deal")


async def test_update_contract_rejects_bad_input_and_leaves_it_unchanged(backend: Backend) -> None:
    org = await create_org(backend)
    taken = (await create_contract(backend, org))["contract"]["number"]
    contract = (await create_contract(backend, org))["contract"]["id"]
    before = await node(backend, contract, CONTRACT_FIELDS)
    for change, expected in [
        ({"number": taken}, [(["number"], "DUPLICATE")]),
        ({"validTo": "2023-01-01"}, [(["validTo"], "OUT_OF_RANGE")]),  # before the stored validFrom
        ({"validFrom": "2030-01-01", "validTo": "2029-01-01"}, [(["validTo"], "OUT_OF_RANGE")]),
        ({"number": ""}, [(["number"], "REQUIRED")]),
    ]:
        payload = await mutate(
            backend, "updateContract", "($id: ID!, $input: UpdateContractInput!)", {"id": contract, "input": change},
            "contract { id }",
        )
        assert payload["contract"] is None
        assert codes(payload) == expected, change
    assert await node(backend, contract, CONTRACT_FIELDS) == before


async def test_archive_contract_archives_it_and_freezes_it(backend: Backend) -> None:
    org = await create_org(backend)
    contract = (await create_contract(backend, org))["contract"]["id"]
    payload = await mutate(backend, "archiveContract", "($id: ID!)", {"id": contract}, "contract { id archivedAt }")
    assert payload["errors"] == [] and payload["contract"]["archivedAt"] is not None
    stored = await node(backend, contract, CONTRACT_FIELDS)
    assert stored["archivedAt"] is not None
    visible = await node(backend, org, "... on Organization { contracts { totalCount } }")
    assert visible["contracts"]["totalCount"] == 0
    again = await mutate(backend, "archiveContract", "($id: ID!)", {"id": contract}, "contract { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateContract", "($id: ID!, $input: UpdateContractInput!)",
        {"id": contract, "input": {"title": "Revived"}}, "contract { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, contract, CONTRACT_FIELDS) == stored


# -- interactions ---------------------------------------------------------------------

INTERACTION_FIELDS = """... on Interaction { channel direction summary occurredAt version archivedAt
  organization { id } contact { id } user { id } }"""


async def log(backend: Backend, org: str, **extra: Any) -> dict:
    return await mutate(
        backend, "logInteraction", "($input: LogInteractionInput!)",
        {"input": {"organizationId": org, "channel": "CALL", "direction": "INBOUND", "summary": f"Call {uid()}", **extra}},
        f"interaction {{ id {INTERACTION_FIELDS} }}",
    )


async def interaction_count(backend: Backend, org: str) -> int:
    data = await node(backend, org, "... on Organization { interactions(filter: {includeArchived: true}) { totalCount } }")
    return data["interactions"]["totalCount"]


async def test_log_interaction_persists_with_its_contact_and_user(backend: Backend) -> None:
    org = await create_org(backend)
    contact, user = await create_contact(backend, org), await create_user(backend)
    occurred = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    payload = await log(
        backend, org, channel="MEETING", direction="OUTBOUND", summary="Quarterly review", contactId=contact, userId=user,
        occurredAt=occurred.isoformat(),
    )
    assert payload["errors"] == []
    stored = await node(backend, payload["interaction"]["id"], INTERACTION_FIELDS)
    assert (stored["channel"], stored["direction"], stored["summary"]) == ("MEETING", "OUTBOUND", "Quarterly review")
    assert datetime.fromisoformat(stored["occurredAt"]) == occurred
    assert stored["contact"]["id"] == contact and stored["user"]["id"] == user and stored["organization"]["id"] == org
    assert await interaction_count(backend, org) == 1


async def test_log_interaction_rejects_bad_input_and_logs_nothing(backend: Backend) -> None:
    org, other = await create_org(backend), await create_org(backend)
    foreign_contact = await create_contact(backend, other)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for extra, expected in [
        ({"occurredAt": future}, [(["occurredAt"], "OUT_OF_RANGE")]),
        ({"contactId": foreign_contact}, [(["contactId"], "INVALID")]),
        ({"summary": "  "}, [(["summary"], "REQUIRED")]),
        ({"userId": org}, [(["userId"], "INVALID")]),
    ]:
        payload = await log(backend, org, **extra)
        assert payload["interaction"] is None
        assert codes(payload) == expected, extra
    assert await interaction_count(backend, org) == 0


async def test_update_interaction_corrects_it(backend: Backend) -> None:
    org = await create_org(backend)
    contact = await create_contact(backend, org)
    interaction = (await log(backend, org))["interaction"]["id"]
    payload = await mutate(
        backend, "updateInteraction", "($id: ID!, $input: UpdateInteractionInput!)",
        {"id": interaction, "input": {"channel": "EMAIL", "summary": "Actually an email", "contactId": contact}},
        "interaction { id version }",
    )
    assert payload["errors"] == [] and payload["interaction"]["version"] == 2
    stored = await node(backend, interaction, INTERACTION_FIELDS)
    assert (stored["channel"], stored["summary"], stored["contact"]["id"]) == ("EMAIL", "Actually an email", contact)


async def test_update_interaction_rejects_bad_input_and_leaves_it_unchanged(backend: Backend) -> None:
    org, other = await create_org(backend), await create_org(backend)
    foreign_contact = await create_contact(backend, other)
    interaction = (await log(backend, org))["interaction"]["id"]
    before = await node(backend, interaction, INTERACTION_FIELDS)
    payload = await mutate(
        backend, "updateInteraction", "($id: ID!, $input: UpdateInteractionInput!)",
        {"id": interaction, "input": {"summary": "", "contactId": foreign_contact,
                                      "occurredAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}},
        "interaction { id }",
    )
    assert payload["interaction"] is None
    assert sorted(codes(payload)) == sorted(
        [(["summary"], "REQUIRED"), (["occurredAt"], "OUT_OF_RANGE"), (["contactId"], "INVALID")]
    )
    assert await node(backend, interaction, INTERACTION_FIELDS) == before


async def test_archive_interaction_hides_it_and_freezes_it(backend: Backend) -> None:
    org = await create_org(backend)
    interaction = (await log(backend, org))["interaction"]["id"]
    payload = await mutate(backend, "archiveInteraction", "($id: ID!)", {"id": interaction}, "interaction { id archivedAt }")
    assert payload["errors"] == [] and payload["interaction"]["archivedAt"] is not None
    stored = await node(backend, interaction, INTERACTION_FIELDS)
    visible = await node(backend, org, "... on Organization { interactions { totalCount } }")
    assert visible["interactions"]["totalCount"] == 0
    again = await mutate(backend, "archiveInteraction", "($id: ID!)", {"id": interaction}, "interaction { id }")
    assert codes(again) == [(["id"], "ARCHIVED")]
    update = await mutate(
        backend, "updateInteraction", "($id: ID!, $input: UpdateInteractionInput!)",
        {"id": interaction, "input": {"summary": "Edited"}}, "interaction { id }",
    )
    assert codes(update) == [(["id"], "ARCHIVED")]
    assert await node(backend, interaction, INTERACTION_FIELDS) == stored
