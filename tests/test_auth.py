"""Authentication (API keys, JWT), field-level rules and who may run which mutation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from graph.app import create_app
from graph.auth import revoke_api_key
from graph.ids import decode_global_id
from graph.settings import Settings
from tests.conftest import Backend

QUERY = {"query": "{ products(first: 1) { edges { node { sku } } } }"}


async def _org_ids(backend: Backend, role: str) -> list[int]:
    data = await backend.gql(
        "query($r: [OrganizationRole!]) { organizations(first: 100, filter: {roles: $r}) { edges { node { id } } } }",
        {"r": [role.upper()]},
    )
    return [decode_global_id(e["node"]["id"])[1] for e in data["organizations"]["edges"]]


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer pgk_deadbeef_nope"}, {"authorization": "Basic abc"}, {"x-api-key": "junk"}],
    ids=["none", "unknown-key", "wrong-scheme", "junk-header"],
)
async def test_missing_or_bad_credentials_get_401_and_no_data(backend: Backend, headers: dict) -> None:
    async with httpx.AsyncClient(transport=backend.client._transport, base_url="http://t") as anonymous:
        response = await anonymous.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_health_endpoints_stay_open(backend: Backend) -> None:
    async with httpx.AsyncClient(transport=backend.client._transport, base_url="http://t") as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
        assert (await anonymous.get("/readyz")).status_code == 200


async def test_a_revoked_key_is_refused(backend: Backend) -> None:
    key = await backend.key("analyst")
    assert "errors" not in await backend.gql(QUERY["query"], key=key, errors=True)
    async with backend.session_factory() as session, session.begin():
        await revoke_api_key(session, key.split("_")[1])
    body = await backend.gql(QUERY["query"], key=key, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "revoked" in body["errors"][0]["message"]


async def test_an_expired_key_is_refused(backend: Backend) -> None:
    key = await backend.key("analyst", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    from sqlalchemy import update

    from graph.models.security import ApiKey

    async with backend.session_factory() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.prefix == key.split("_")[1]).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    body = await backend.gql(QUERY["query"], key=key, errors=True)
    assert "expired" in body["errors"][0]["message"]


async def _set_key(backend: Backend, key: str, **values: object) -> None:
    """Change a key's row behind the server's back (an operator's SQL)."""
    from sqlalchemy import update

    from graph.models.security import ApiKey

    async with backend.session_factory() as session, session.begin():
        await session.execute(update(ApiKey).where(ApiKey.prefix == key.split("_")[1]).values(**values))


async def _ask(app: object, key: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {key}"})


async def test_a_checked_key_is_trusted_for_api_key_cache_seconds_then_checked_again(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import graph.auth

    clock = [1000.0]
    monkeypatch.setattr(graph.auth, "_clock", lambda: clock[0])
    app = create_app(Settings(database_url=backend.url, api_key_cache_seconds=5))
    key = await backend.key("analyst")
    assert (await _ask(app, key)).status_code == 200
    await _set_key(backend, key, revoked_at=datetime.now(UTC))  # not through PartnerGraph: nothing forgets it
    clock[0] += 4.9
    assert (await _ask(app, key)).status_code == 200  # within the cache time: still trusted
    clock[0] += 0.2
    refused = await _ask(app, key)
    assert refused.status_code == 401 and "revoked" in refused.json()["errors"][0]["message"]


async def test_with_api_key_cache_seconds_0_every_request_checks_the_key(backend: Backend) -> None:
    app = create_app(Settings(database_url=backend.url, api_key_cache_seconds=0))
    key = await backend.key("analyst")
    assert (await _ask(app, key)).status_code == 200
    await _set_key(backend, key, revoked_at=datetime.now(UTC))
    assert (await _ask(app, key)).status_code == 401


async def test_a_trusted_key_is_still_refused_once_it_expires(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    import graph.auth

    app = create_app(Settings(database_url=backend.url, api_key_cache_seconds=300))
    key = await backend.key("analyst", expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert (await _ask(app, key)).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(graph.auth, "utcnow", lambda: later)
    refused = await _ask(app, key)
    assert refused.status_code == 401 and "expired" in refused.json()["errors"][0]["message"]


async def test_a_trusted_key_does_not_vouch_for_another_secret_with_its_prefix(backend: Backend) -> None:
    key = await backend.key("analyst")
    assert "errors" not in await backend.gql(QUERY["query"], key=key, errors=True)
    forged = key[: key.rindex("_") + 1] + "x" * 43
    body = await backend.gql(QUERY["query"], key=forged, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_rolled_back_revocation_forgets_nothing_and_revokes_nothing(backend: Backend) -> None:
    key = await backend.key("analyst")
    assert "errors" not in await backend.gql(QUERY["query"], key=key, errors=True)
    with pytest.raises(RuntimeError):
        async with backend.session_factory() as session, session.begin():
            await revoke_api_key(session, key.split("_")[1])
            raise RuntimeError("fails before commit")
    assert "errors" not in await backend.gql(QUERY["query"], key=key, errors=True)


def test_known_keys_keep_at_most_their_limit_dropping_the_least_recently_checked() -> None:
    from graph.access import Principal
    from graph.auth import KnownKeys, _Known

    known = KnownKeys(limit=2)
    for name in ("a", "b", "c"):
        known.put("db", name, _Known(Principal.for_role("admin", name=name, key_prefix=name), 1, None, None, 0.0))
        known.put("db", "a", known._entries[("db", "a")])  # "a" is checked again each time
    assert set(known._entries) == {("db", "a"), ("db", "c")}
    known.forget("a")
    assert set(known._entries) == {("db", "c")}


async def test_keys_are_stored_only_as_a_hash_with_a_visible_prefix(backend: Backend) -> None:
    key = await backend.key("read_only")
    from sqlalchemy import select

    from graph.models.security import ApiKey

    async with backend.session_factory() as session:
        row = (await session.execute(select(ApiKey).where(ApiKey.prefix == key.split("_")[1]))).scalar_one()
    assert key not in (row.secret_hash, row.prefix, row.name)
    assert len(row.secret_hash) == 64
    await backend.gql(QUERY["query"], key=key)
    async with backend.session_factory() as session:
        row = (await session.execute(select(ApiKey).where(ApiKey.id == row.id))).scalar_one()
    assert row.last_used_at is not None


async def test_partner_keys_need_an_organization_of_that_role(backend: Backend) -> None:
    from graph.errors import UserInputError

    supplier = (await _org_ids(backend, "supplier"))[0]
    customers = set(await _org_ids(backend, "customer"))
    with pytest.raises(UserInputError) as missing:
        await backend.key("customer")
    assert missing.value.errors[0].field == ("organizationId",)
    if supplier not in customers:
        with pytest.raises(UserInputError):
            await backend.key("customer", organization_id=supplier)


async def test_jwt_bearer_tokens_are_checked_and_mapped_to_a_principal(backend: Backend) -> None:
    secret = "s3cret-for-tests-only-0123456789abcdef"
    settings = Settings(
        database_url=backend.url, debug=True, jwt_secret=secret, jwt_issuer="https://idp.example",
        jwt_audience="partnergraph", jwt_algorithms=["HS256"],
    )
    app = create_app(settings)
    customer = (await _org_ids(backend, "customer"))[0]
    now = datetime.now(UTC)
    claims = {"sub": "alice", "iss": "https://idp.example", "aud": "partnergraph", "exp": now + timedelta(minutes=5),
              "partnergraph_role": "customer", "partnergraph_org": customer}

    def token(**changes: object) -> str:
        return jwt.encode({**claims, **changes}, secret, algorithm="HS256")

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            async def ask(tok: str) -> httpx.Response:
                return await client.post("/graphql", headers={"authorization": f"Bearer {tok}"},
                                         json={"query": "{ organizations { edges { node { id } } } }"})

            ok = await ask(token())
            assert ok.status_code == 200
            ids = [decode_global_id(e["node"]["id"])[1] for e in ok.json()["data"]["organizations"]["edges"]]
            assert ids == [customer]
            for bad in (token(aud="other"), token(iss="https://evil"), token(exp=now - timedelta(seconds=5)),
                        token(partnergraph_role="god"), jwt.encode(claims, "wrong-secret-0123456789abcdef0123", algorithm="HS256")):
                assert (await ask(bad)).status_code == 401
    finally:
        await app.state.engine.dispose()


async def test_internal_fields_are_refused_to_partners_with_an_error_on_the_field(backend: Backend) -> None:
    customer = (await _org_ids(backend, "customer"))[0]
    key = await backend.key("customer", organization_id=customer)
    body = await backend.gql("{ organizations { edges { node { name tier creditLimit { amount } } } } }", key=key, errors=True)
    node = body["data"]["organizations"]["edges"][0]["node"]
    assert node["name"] and node["tier"] is None and node["creditLimit"] is None
    refused = {tuple(e["path"][-1:]) for e in body["errors"]}
    assert refused == {("tier",), ("creditLimit",)}
    assert all(e["extensions"]["code"] == "FORBIDDEN" for e in body["errors"])
    # The same fields are there for internal users.
    data = await backend.gql("{ organizations(first: 1, filter: {roles: [CUSTOMER]}) { edges { node { tier } } } }")
    assert data["organizations"]["edges"]


async def test_suppliers_see_their_lines_but_not_the_prices_the_customer_pays(backend: Backend) -> None:
    supplier = (await _org_ids(backend, "supplier"))[0]
    key = await backend.key("supplier", organization_id=supplier)
    body = await backend.gql(
        "{ orders(first: 5) { edges { node { number total { amount } lines { edges { node { quantity unitPrice { amount } supplier { id } } } } } } } }",
        key=key, errors=True,
    )
    edges = body["data"]["orders"]["edges"]
    assert edges, "the demo supplier fulfils lines"
    for edge in edges:
        assert edge["node"]["total"] is None
        for line in edge["node"]["lines"]["edges"]:
            assert line["node"]["unitPrice"] is None
            assert decode_global_id(line["node"]["supplier"]["id"])[1] == supplier
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_a_customer_places_orders_for_itself_only(backend: Backend) -> None:
    customers = await _org_ids(backend, "customer")
    mine, other = customers[0], customers[1]
    key = await backend.key("customer", organization_id=mine)
    product = (await backend.gql("{ products(first: 1) { edges { node { id } } } }"))["products"]["edges"][0]["node"]["id"]
    from graph.ids import encode_global_id

    mutation = """mutation($c: ID!, $p: ID!) { createOrder(input: {customerId: $c, lines: [{productId: $p, quantity: "2"}]}) {
        order { id customer { id } } errors { field code } } }"""
    placed = await backend.gql(mutation, {"c": encode_global_id("Organization", mine), "p": product}, key=key)
    assert placed["createOrder"]["errors"] == []
    refused = await backend.gql(mutation, {"c": encode_global_id("Organization", other), "p": product}, key=key)
    assert refused["createOrder"]["order"] is None
    assert refused["createOrder"]["errors"] == [{"field": ["customerId"], "code": "NOT_FOUND"}]


@pytest.mark.parametrize("role", ["analyst", "read_only", "customer", "supplier"])
async def test_roles_without_write_rights_are_refused_before_anything_runs(backend: Backend, role: str) -> None:
    org = None
    if role in ("customer", "supplier"):
        org = (await _org_ids(backend, role))[0]
    key = await backend.key(role, organization_id=org)
    before = (await backend.gql("{ products { totalCount } }"))["products"]["totalCount"]
    body = await backend.gql(
        'mutation { createProduct(input: {sku: "X-DENIED", name: "Nope", listPrice: "1"}) { product { id } } }',
        key=key, errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await backend.gql("{ products { totalCount } }"))["products"]["totalCount"] == before


async def test_a_sales_rep_sees_its_own_customers_and_the_unowned_ones_only(backend: Backend) -> None:
    from sqlalchemy import select

    from graph.models.organizations import Organization
    from graph.models.people import AccountOwnership

    async with backend.session_factory() as session:
        rows = (await session.execute(select(AccountOwnership.__table__).where(AccountOwnership.ended_at.is_(None)))).all()
        archived = set((await session.execute(select(Organization.id).where(Organization.archived_at.is_not(None)))).scalars())
    owners: dict[int, set[int]] = {}
    for row in rows:
        owners.setdefault(row.user_id, set()).add(row.organization_id)
    rep, theirs = next(iter(owners.items()))
    owned_by_others = {org for user, orgs in owners.items() if user != rep for org in orgs}
    key = await backend.key("sales", user_id=rep)
    data = await backend.gql("{ organizations(first: 100, filter: {roles: [CUSTOMER]}) { edges { node { id } } } }", key=key)
    seen = {decode_global_id(e["node"]["id"])[1] for e in data["organizations"]["edges"]}
    assert theirs - archived <= seen  # every live account the rep owns (lists hide archived ones)
    assert not seen & owned_by_others  # and none that another rep owns


def test_cli_creates_a_key_and_prints_it_as_the_last_line(tmp_path) -> None:
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    run = [sys.executable, "-m", "graph.cli"]
    assert subprocess.run([*run, "migrate", "--database-url", url], capture_output=True).returncode == 0
    made = subprocess.run([*run, "apikey", "create", "--role", "analyst", "--name", "bi", "--database-url", url],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("pgk_") and len(key) > 40
    refused = subprocess.run([*run, "apikey", "create", "--role", "supplier", "--database-url", url],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "organizationId" in refused.stderr
    listed = subprocess.run([*run, "apikey", "list", "--database-url", url], capture_output=True, text=True)
    assert key.split("_")[1] in listed.stdout and key not in listed.stdout


async def test_admins_create_and_revoke_keys_through_the_api(backend: Backend) -> None:
    created = await backend.gql(
        'mutation { createApiKey(input: {name: "bi tool", role: "analyst"}) { key apiKey { id prefix role } errors { field code } } }'
    )
    payload = created["createApiKey"]
    assert payload["errors"] == [] and payload["key"].startswith(f"pgk_{payload['apiKey']['prefix']}_")
    assert "errors" not in await backend.gql(QUERY["query"], key=payload["key"], errors=True)
    revoked = await backend.gql(
        "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } errors { code } } }", {"id": payload["apiKey"]["id"]}
    )
    assert revoked["revokeApiKey"]["apiKey"]["revokedAt"]
    assert (await backend.gql(QUERY["query"], key=payload["key"], errors=True))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    trail = await backend.gql(
        "query($id: ID!) { auditEvents(filter: {nodeId: $id}) { edges { node { action changes } } } }", {"id": payload["apiKey"]["id"]}
    )
    actions = [e["node"]["action"] for e in trail["auditEvents"]["edges"]]
    assert sorted(actions) == ["archive", "create"]
    assert all("secret_hash" not in e["node"]["changes"] for e in trail["auditEvents"]["edges"])
    bad = await backend.gql('mutation { createApiKey(input: {name: "x", role: "wizard"}) { key errors { field code } } }')
    assert bad["createApiKey"] == {"key": None, "errors": [{"field": ["role"], "code": "INVALID"}]}


async def test_only_admins_manage_keys(backend: Backend) -> None:
    key = await backend.key("service")
    body = await backend.gql('mutation { createApiKey(input: {name: "x", role: "admin"}) { key } }', key=key, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await backend.gql("{ apiKeys { edges { node { prefix } } } }", key=key, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_read_scoped_key_never_writes_whatever_its_role(backend: Backend) -> None:
    created = await backend.gql(
        'mutation { createApiKey(input: {name: "ro admin", role: "admin", scopes: ["read"]}) { key errors { field code } } }'
    )
    key = created["createApiKey"]["key"]
    assert (await backend.gql("{ products { totalCount } }", key=key))["products"]["totalCount"] > 0
    body = await backend.gql(
        'mutation { createProduct(input: {sku: "RO-1", name: "x", listPrice: "1"}) { product { id } } }', key=key, errors=True
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await backend.gql('mutation { createApiKey(input: {name: "x", role: "admin", scopes: ["root"]}) { errors { field code } } }')
    assert bad["createApiKey"]["errors"] == [{"field": ["scopes"], "code": "INVALID"}]


async def test_idle_keys_used_concurrently_beside_writers_never_fail(backend: Backend) -> None:
    """Recording a key's last use once a minute must not turn a read into a failed write: on
    SQLite, a read transaction cannot become a write once another writer has committed, so the
    stamp has a transaction of its own and a failure to stamp never fails the request."""
    import asyncio

    keys = [await backend.key("admin") for _ in range(6)]  # all idle: each request would stamp

    async def read(key: str) -> dict:
        return await backend.gql("{ orders(first: 2) { edges { node { number } } } }", errors=True, key=key)

    async def write(i: int) -> dict:
        return await backend.gql(
            'mutation($n: String!) { createOrganization(input: {name: $n, roles: [CUSTOMER]}) { errors { code } } }',
            {"n": f"Stamp race {i}"},
            errors=True,
        )

    results = await asyncio.gather(*(read(k) for k in keys * 4), *(write(i) for i in range(8)))
    assert all("errors" not in body for body in results), [b for b in results if "errors" in b][:2]


async def test_recording_a_keys_last_use_never_makes_a_request_wait_for_sqlites_write_lock(backend: Backend) -> None:
    """A bulk sync holds SQLite's write lock for a batch at a time; a read that also records its
    key's last use used to queue for the lock for the whole busy timeout (5 s), then fail it."""
    if backend.name != "sqlite":
        pytest.skip("SQLite's single writer")
    import sqlite3
    import time

    from sqlalchemy import select

    from graph.models.security import ApiKey

    key = await backend.key("read_only")
    writer = sqlite3.connect(backend.url.split("///", 1)[1], isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another writer, mid-batch
        started = time.monotonic()
        await backend.gql(QUERY["query"], key=key)
        assert time.monotonic() - started < 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    prefix = key.split("_")[1]
    async with backend.session_factory() as session:
        assert (await session.execute(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix))).scalar() is None
    await backend.gql(QUERY["query"], key=key)  # the lock is free: this request records it
    async with backend.session_factory() as session:
        assert (await session.execute(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix))).scalar() is not None
