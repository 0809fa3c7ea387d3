"""The shortcuts the read path takes (graph/execution.py, graph/prepared.py, graph/documents.py,
node includes): each must answer exactly what the long way answers, errors included."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
import strawberry
from conftest import Backend
from sqlalchemy import event, literal_column, select, table, text
from sqlalchemy.exc import DBAPIError
from strawberry.permission import BasePermission

from graph.access import SYSTEM
from graph.db import create_engine, create_read_session_factory, create_session_factory
from graph.documents import Documents
from graph.execution import ExecutionContext, thin_resolvers
from graph.ids import decode_global_id
from graph.models import orders, organizations, security, service
from graph.prepared import fetch_all, keep, run_kept
from graph.reader import Reader

# -- kept statements on the driver's connection -------------------------------------------------


def _engine(backend: Backend) -> Any:
    return backend.session_factory.kw["bind"]


@pytest.mark.parametrize(
    "model",
    [orders.Order, orders.OrderLine, organizations.Organization, service.ServiceRecord, security.ApiKey],
    ids=lambda m: m.__name__,
)
async def test_the_driver_path_returns_the_rows_sqlalchemy_returns(backend: Backend, model: type) -> None:
    stmt = keep(select(*model.__table__.columns).order_by(model.__table__.c.id).limit(40))
    async with create_read_session_factory(_engine(backend))() as session:
        fast = await run_kept(session, stmt, None)
        slow = (await session.execute(stmt)).all()
    assert fast is not None, "a kept statement on a read session must take the driver's path"
    assert len(fast) == len(slow) > 0
    for mine, theirs in zip(fast, slow, strict=True):
        assert tuple(mine) == tuple(theirs)  # types too: datetimes, decimals, enums, JSON
        assert [type(v) for v in mine] == [type(v) for v in theirs]
        for column in model.__table__.columns:
            assert getattr(mine, column.name) == getattr(theirs, column.name)


async def test_bound_parameters_reach_the_driver(backend: Backend) -> None:
    column = orders.Order.__table__.c.id
    async with create_read_session_factory(_engine(backend))() as session:
        ids = [row.id for row in (await session.execute(select(column).limit(5))).all()]
        reader = Reader(session, SYSTEM)
        stmt = keep(select(column).where(reader.id_in(column, "ids")).order_by(column))
        for wanted in (ids[:1], ids[1:4], []):
            rows = await fetch_all(session, stmt, {"ids": wanted})
            assert [row.id for row in rows] == sorted(wanted)


async def test_in_over_a_list_fixed_at_build_takes_the_driver_path_and_a_list_given_per_run_does_not(
    backend: Backend,
) -> None:
    from sqlalchemy import bindparam

    records = service.ServiceRecord.__table__
    fixed = keep(
        select(records.c.id, records.c.status)
        .where(records.c.status.in_(service.OPEN_STATUSES), records.c.id > bindparam("after"))
        .order_by(records.c.id)
    )
    per_run = keep(select(records.c.id).where(records.c.id.in_(bindparam("ids", expanding=True))))
    async with create_read_session_factory(_engine(backend))() as session:
        fast = await run_kept(session, fixed, {"after": 0})
        slow = (await session.execute(fixed, {"after": 0})).all()
        assert fast is not None and len(fast) > 0
        assert [tuple(row) for row in fast] == [tuple(row) for row in slow]
        assert {row.status for row in fast} <= set(service.OPEN_STATUSES)
        assert await run_kept(session, per_run, {"ids": [1, 2]}) is None
        assert len(await fetch_all(session, per_run, {"ids": [1, 2, 3]})) <= 3


async def test_reads_in_a_postgresql_transaction_keep_sqlalchemys_path(backend: Backend) -> None:
    stmt = keep(select(*organizations.Organization.__table__.columns).limit(3))
    async with backend.session_factory() as session:
        for _ in range(2):  # before SQLAlchemy began the transaction, and after
            rows = await run_kept(session, stmt, None)
            if backend.name == "postgresql":
                assert rows is None  # a read must neither escape the transaction nor abort it
            else:
                assert rows is not None and len(rows) == 3
            assert len(await fetch_all(session, stmt)) == 3
        await session.rollback()


async def test_a_driver_error_is_raised_the_sqlalchemy_way(backend: Backend) -> None:
    stmt = keep(select(literal_column("x")).select_from(table("no_such_table")))
    async with create_read_session_factory(_engine(backend))() as session:
        assert await run_kept(session, stmt, None) is None
        with pytest.raises(DBAPIError):
            await fetch_all(session, stmt)


# -- node(id:) joins what the client selects -----------------------------------------------------


async def test_a_node_reads_its_selected_to_one_records_in_its_own_statement(backend: Backend) -> None:
    data = await backend.gql("{ orders(first: 3) { edges { node { id customer { id } } } } }")
    for edge in data["orders"]["edges"]:
        order_id, customer_id = edge["node"]["id"], edge["node"]["customer"]["id"]
        query = (
            "query($id: ID!) { node(id: $id) { id ... on Order { number customer { id name } "
            "distributor { id name } } } }"
        )
        found, statements = await backend.statements(query, {"id": order_id})
        assert statements == 1
        alone = await backend.gql("query($id: ID!) { node(id: $id) { ... on Organization { id name } } }", {"id": customer_id})
        assert found["node"]["customer"] == alone["node"]
        distributor = found["node"]["distributor"]
        if distributor is not None:
            again = await backend.gql(
                "query($id: ID!) { node(id: $id) { ... on Organization { id name } } }", {"id": distributor["id"]}
            )
            assert distributor == again["node"]


async def test_a_partner_node_include_sees_what_a_lookup_would(backend: Backend) -> None:
    lines = await backend.gql(
        "{ orders(first: 5) { edges { node { customer { id } lines(first: 2) { edges { node { id } } } } } } }"
    )
    edge = next(e for e in lines["orders"]["edges"] if e["node"]["lines"]["edges"])
    customer = decode_global_id(edge["node"]["customer"]["id"], "Organization")[1]
    key = await backend.key("customer", organization_id=customer)
    line_id = edge["node"]["lines"]["edges"][0]["node"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on OrderLine { id product { sku } supplier { name } } } }"
    joined, statements = await backend.statements(query, {"id": line_id}, key=key)
    assert statements == 1
    plain = await backend.gql(
        "query($id: ID!) { node(id: $id) { ... on OrderLine { id } } }", {"id": line_id}, key=key
    )
    assert joined["node"]["id"] == plain["node"]["id"]


async def test_fields_come_back_in_the_order_asked_with_aliases(backend: Backend) -> None:
    order_id = (await backend.gql("{ orders(first: 1) { edges { node { id } } } }"))["orders"]["edges"][0]["node"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on Order { status a: number customer { name } id b: number placedAt } } }"
    node = (await backend.gql(query, {"id": order_id}))["node"]
    assert list(node) == ["status", "a", "customer", "id", "b", "placedAt"]
    assert node["a"] == node["b"]


# -- the executor's leaf shortcut and direct resolvers on a schema of their own ------------------


@strawberry.enum
class Color(enum.Enum):
    RED = "red"


class Denied(BasePermission):
    message = "not for you"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return info.context["allowed"]


@strawberry.interface
class Named:
    label: str


@strawberry.type
class Part(Named):
    @strawberry.field
    async def later(self) -> str:
        return self.label.upper()

    @strawberry.field
    def boom(self) -> str | None:
        raise ValueError(f"boom in {self.label}")


@strawberry.input
class Window:
    size: int
    tags: list[str] | None = None
    color: Color | None = None


@strawberry.type
class Thing:
    name: str
    maybe: str | None
    color: Color
    count: int
    # Plain object fields (read without a resolver by the executor's object shortcut).
    parts: list[Part] = strawberry.field(default_factory=list)
    loose: list[Part | None] | None = None
    best: Part | None = None
    odd: Part | None = None  # filled with a value of the wrong type
    mixed: list[Part] | None = None  # non-null items: filled with a null, a wrong type, an error

    @strawberry.field(permission_classes=[Denied])
    def secret(self) -> str:
        return "s3cret"

    # Fields with resolvers of their own (the executor's resolver shortcut).
    @strawberry.field
    def must(self) -> str:
        return self.maybe  # type: ignore[return-value]  # null for the first thing

    @strawberry.field
    async def later_part(self) -> Part | None:
        return Part(label=f"later {self.count}") if self.count != 2 else self  # type: ignore[return-value]  # wrong type

    @strawberry.field
    async def later_parts(self) -> list[Part]:
        return [Part(label="x"), Part(label=None)] if self.count == 3 else [Part(label="y")]  # type: ignore[arg-type]

    @strawberry.field
    async def awaited_parts(self) -> list[Part] | None:
        async def part(label: str) -> Part:
            return Part(label=label)

        return [Part(label="now"), part("then")]  # type: ignore[list-item]  # an awaitable item

    @strawberry.field
    def named(self) -> list[Named]:
        return [Part(label=f"named {self.count}")]

    @strawberry.field
    def wrong(self) -> Part | None:
        return self.odd or self  # type: ignore[return-value]  # a Thing where a Part belongs

    @strawberry.field
    def framed(self, window: Window, more: list[Window | None] | None = None, colors: list[Color] | None = None) -> str:
        # What the resolver was handed: input objects built as strawberry builds them.
        windows = [window, *(more or [])]
        return repr([(type(w).__name__, w.size, w.tags, w.color) if w else None for w in windows]) + repr(colors)

    @strawberry.field
    def greet(self, info: strawberry.Info, some_name: str, times: int | None = 1) -> str:
        return f"{info.context['greeting']} {some_name}" * (times or 1)


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return [
            Thing(
                name="a", maybe=None, color=Color.RED, count=1,
                parts=[Part(label="p1"), Part(label="p2")], loose=[Part(label="l1"), None, Part(label=None)],  # type: ignore[arg-type]
                best=Part(label="b"), mixed=[Part(label="m"), None],  # type: ignore[list-item]
            ),
            Thing(
                name=None, maybe="x", color=Color.RED, count=2,  # type: ignore[arg-type]
                parts=(Part(label=str(i)) for i in range(2)),  # type: ignore[arg-type]  # a generator: graphql-core's way
                odd=Thing(name="t", maybe=None, color=Color.RED, count=0),  # type: ignore[arg-type]
                mixed=[Part(label="n"), Thing(name="t", maybe=None, color=Color.RED, count=0)],  # type: ignore[list-item]
            ),
            Thing(
                name="c", maybe="y", color="not a color", count=3,  # type: ignore[arg-type]
                parts=[Part(label="q"), Part(label=None)],  # type: ignore[arg-type]  # a null label: the list fails
                mixed=[ValueError("no part here"), Part(label="o")],  # type: ignore[list-item]
            ),
        ]


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    plain = strawberry.Schema(query=Query)
    fast = strawberry.Schema(query=Query)
    assert thin_resolvers(fast) >= 2
    fast.execution_context_class = ExecutionContext.for_schema(fast._schema)
    return plain, fast


def _same(query: str, context: dict[str, Any]) -> dict[str, Any]:
    plain, fast = _schemas()
    expected = plain.execute_sync(query, context_value=context)
    got = fast.execute_sync(query, context_value=context)
    assert got.data == expected.data
    assert [(e.message, e.path, e.extensions) for e in got.errors or []] == [
        (e.message, e.path, e.extensions) for e in expected.errors or []
    ]
    return {"data": got.data, "errors": got.errors}


def test_leaves_null_in_a_non_null_field_and_refused_values_fail_as_graphql_core_fails() -> None:
    result = _same("{ things { count name maybe } }", {"allowed": True, "greeting": "hi"})
    assert result["data"] is None  # a null in name: String! nulls the non-null list item, and up
    assert "Cannot return null for non-nullable field Thing.name." in result["errors"][0].message
    result = _same("{ things { count color } }", {"allowed": True, "greeting": "hi"})
    assert result["errors"] and result["errors"][0].path == ["things", 2, "color"]


async def _same_async(query: str) -> dict[str, Any]:
    plain, fast = _schemas()
    context = {"allowed": True, "greeting": "hi"}
    expected = await plain.execute(query, context_value=context)
    got = await fast.execute(query, context_value=context)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [(e.message, e.path) for e in expected.errors or []]
    return {"data": got.data, "errors": got.errors}


@pytest.mark.filterwarnings("error")  # a coroutine left unawaited when a list fails is a bug too
async def test_plain_object_fields_complete_as_graphql_core_completes_them() -> None:
    _, fast = _schemas()
    assert {("Thing", "parts"), ("Thing", "loose"), ("Thing", "best")} <= set(fast.execution_context_class.objects)
    context = {"allowed": True, "greeting": "hi"}
    ok = _same("{ things { count best { label } loose { label } } }", context)
    # A null label nulls its (nullable) item in `loose`, and nothing else.
    assert ok["data"]["things"][0] == {
        "count": 1, "best": {"label": "b"}, "loose": [{"label": "l1"}, None, None]
    }
    assert [e.path for e in ok["errors"]] == [["things", 0, "loose", 2, "label"]]
    # A null label in the non-null list `parts` nulls the list, the thing, and the whole list up.
    bubbled = _same("{ things { count parts { label } } }", context)
    assert bubbled["data"] is None and bubbled["errors"][0].path == ["things", 2, "parts", 1, "label"]
    # A value of the wrong type fails the field; a generator takes graphql-core's own path.
    odd = _same("{ things { odd { label } } }", context)
    assert odd["errors"][0].path == ["things", 1, "odd"] and "Expected value of type" in odd["errors"][0].message
    # Async fields and errors below plain objects, in lists.
    deep = await _same_async("{ things { count best { later boom } loose { later } } }")
    assert deep["data"]["things"][0]["best"] == {"later": "B", "boom": None}
    assert ["things", 0, "best", "boom"] in [e.path for e in deep["errors"]]
    await _same_async("{ things { parts { later label } } }")
    await _same_async("{ things { count parts { ... on Named { label } } } }")
    # Items of a list of non-null objects: a null, a value of the wrong type, an error. Each
    # nulls the (nullable) list; the error is located at its item.
    items = _same("{ things { count mixed { label } } }", context)
    assert [t["mixed"] for t in items["data"]["things"]] == [None, None, None]
    assert [e.path for e in items["errors"]] == [["things", 0, "mixed", 1], ["things", 1, "mixed", 1], ["things", 2, "mixed", 0]]
    assert items["errors"][2].message == "no part here"


def test_direct_resolvers_check_permissions_and_rename_arguments_as_strawberry_does() -> None:
    result = _same('{ things { count greet(someName: "x", times: 2) secret } }', {"allowed": False, "greeting": "hi"})
    assert result["errors"][0].message == "not for you"
    assert result["errors"][0].extensions == {"code": "FORBIDDEN"}
    _, fast = _schemas()
    query = '{ things { count greet(someName: "x", times: 2) secret } }'
    allowed = fast.execute_sync(query, context_value={"allowed": True, "greeting": "hi"})
    assert allowed.data is not None and allowed.data["things"][0] == {"count": 1, "greet": "hi xhi x", "secret": "s3cret"}


async def test_fields_with_resolvers_complete_as_graphql_core_completes_them() -> None:
    _, fast = _schemas()
    assert {("Thing", "must"), ("Thing", "laterPart"), ("Thing", "laterParts"), ("Thing", "wrong"), ("Query", "things")} <= set(
        fast.execution_context_class.resolved
    )
    context = {"allowed": True, "greeting": "hi"}
    nulled = _same("{ things { count must } }", context)  # null in a non-null leaf: the item, and up
    assert nulled["data"] is None and "Cannot return null for non-nullable field Thing.must." in nulled["errors"][0].message
    wrong = _same("{ things { count wrong { label } } }", context)
    assert wrong["errors"][0].path == ["things", 0, "wrong"] and "Expected value of type" in wrong["errors"][0].message
    later = await _same_async("{ things { count laterPart { label later } } }")
    assert [t["laterPart"] for t in later["data"]["things"]] == [
        {"label": "later 1", "later": "LATER 1"}, None, {"label": "later 3", "later": "LATER 3"}
    ]
    assert [e.path for e in later["errors"]] == [["things", 1, "laterPart"]]  # an awaited value of the wrong type
    bubbled = await _same_async("{ things { count laterParts { label } } }")  # a null label in a non-null list
    assert bubbled["data"] is None and bubbled["errors"][0].path == ["things", 2, "laterParts", 1, "label"]
    await _same_async("{ things { count greet(someName: \"z\") laterPart { boom } } }")
    # An awaitable item in a list a resolver returns is awaited, as graphql-core awaits it.
    awaited = await _same_async("{ things { count awaitedParts { label later } } }")
    assert awaited["data"]["things"][0]["awaitedParts"] == [{"label": "now", "later": "NOW"}, {"label": "then", "later": "THEN"}]


async def test_interface_values_complete_as_the_type_strawberry_resolves() -> None:
    _, fast = _schemas()
    await _same_async("{ things { named { __typename label ... on Part { later } } } }")
    assert fast.execution_context_class.runtime_types == {}  # learnt per schema, on first use
    result = await fast.execute("{ things { named { __typename label } } }", context_value={"allowed": True})
    assert result.data == {"things": [{"named": [{"__typename": "Part", "label": f"named {i}"}]} for i in (1, 2, 3)]}
    assert fast.execution_context_class.runtime_types == {("Named", Part): fast._schema.get_type("Part")}


def test_direct_resolvers_build_input_objects_as_strawberry_does() -> None:
    _, fast = _schemas()
    assert fast._schema.type_map["Thing"].fields["framed"].resolve.__qualname__.startswith("_direct")
    context = {"allowed": True, "greeting": "hi"}
    result = _same(
        '{ things { count a: framed(window: { size: 1, tags: ["x"], color: RED }) '
        "b: framed(window: { size: 2 }, more: [null, { size: 3, tags: [] }], colors: [RED]) "
        "c: framed(window: { size: 4, tags: null }, more: null, colors: null) } }",
        context,
    )
    assert result["data"]["things"][0]["a"] == "[('Window', 1, ['x'], <Color.RED: 'red'>)]None"
    assert result["data"]["things"][0]["b"] == "[('Window', 2, None, None), None, ('Window', 3, [], None)][<Color.RED: 'red'>]"
    variables = {"w": {"size": 5, "tags": ["y"]}, "m": [{"size": 6}]}
    query = "query Q($w: Window!, $m: [Window]) { things { count framed(window: $w, more: $m) } }"
    plain, _ = _schemas()
    expected = plain.execute_sync(query, variable_values=variables, context_value=context)
    got = fast.execute_sync(query, variable_values=variables, context_value=context)
    assert got.errors is None and got.data == expected.data


# -- documents: parsed and validated once, errors every time --------------------------------------


def test_documents_report_syntax_validation_and_token_errors_on_every_request() -> None:
    schema = strawberry.Schema(query=Query, extensions=[lambda: Documents((), max_tokens=20)])
    for _ in range(2):
        assert "Syntax Error" in schema.execute_sync("{ things { count ").errors[0].message
        assert "Cannot query field 'nope'" in schema.execute_sync("{ things { nope } }").errors[0].message
        too_long = "{ things { " + " ".join(["count"] * 30) + " } }"
        assert "token" in schema.execute_sync(too_long).errors[0].message.lower()
        assert schema.execute_sync("{ things { count } }", context_value={}).errors is None


# -- field arguments: literal ones coerced once per field of a document --------------------------


def test_literal_arguments_are_coerced_once_per_field_and_variables_on_every_run(monkeypatch: Any) -> None:
    from graph import arguments

    coerced: list[str] = []
    graphql_core = arguments._graphql_get_argument_values

    def counted(*args: Any) -> Any:
        coerced.append(args[1].alias.value)
        return graphql_core(*args)

    monkeypatch.setattr(arguments, "_graphql_get_argument_values", counted)
    fast = strawberry.Schema(query=Query, extensions=[lambda: Documents((), max_tokens=1000)])  # one parse
    thin_resolvers(fast)
    fast.execution_context_class = ExecutionContext.for_schema(fast._schema)
    query = """query Q($n: String!) { things { count
      literal: greet(someName: "x", times: 2) defaulted: greet(someName: "y") given: greet(someName: $n) } }"""
    for name in ("a", "b"):
        result = fast.execute_sync(query, variable_values={"n": name}, context_value={"allowed": True, "greeting": "hi"})
        assert result.errors is None
        assert result.data["things"][0] == {"count": 1, "literal": "hi xhi x", "defaulted": "hi y", "given": f"hi {name}"}
    # Three things in each of two runs: the literal fields once in all, the variable one each time.
    assert {alias: coerced.count(alias) for alias in set(coerced)} == {"literal": 1, "defaulted": 1, "given": 6}


# -- PostgreSQL: generic plans for request reads -------------------------------------------------


async def _plan_cache_mode(factory: Any, write: bool) -> str:
    async with factory() as session:
        if write:
            async with session.begin():
                return (await session.execute(text("SHOW plan_cache_mode"))).scalar()
        return (await session.execute(text("SHOW plan_cache_mode"))).scalar()


def test_the_generic_read_plans_setting_refuses_what_is_not_a_boolean(monkeypatch: Any) -> None:
    from pydantic import ValidationError

    from graph.settings import Settings

    monkeypatch.setenv("PARTNERGRAPH_GENERIC_READ_PLANS", "sometimes")
    with pytest.raises(ValidationError, match="generic_read_plans"):
        Settings()
    monkeypatch.setenv("PARTNERGRAPH_GENERIC_READ_PLANS", "false")
    assert Settings().generic_read_plans is False


async def test_request_reads_use_generic_plans_and_writes_the_servers_setting(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    for generic in (True, False):
        # One pooled connection, so each session below reuses it and must switch it.
        settings = backend.settings.model_copy(update={"pool_size": 1, "max_overflow": 0, "generic_read_plans": generic})
        engine = create_engine(settings)
        try:
            reads, writes = create_read_session_factory(engine), create_session_factory(engine)
            read_mode = "force_generic_plan" if generic else "auto"
            assert [await _plan_cache_mode(reads, False), await _plan_cache_mode(writes, True)] == [read_mode, "auto"]
            assert [await _plan_cache_mode(reads, False), await _plan_cache_mode(reads, False)] == [read_mode] * 2
            assert await _plan_cache_mode(writes, True) == "auto"
        finally:
            await engine.dispose()


async def test_a_read_cancelled_while_its_connection_switches_plans_leaks_no_connection(
    backend: Backend, monkeypatch: Any
) -> None:
    if backend.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    import asyncpg

    engine = create_engine(backend.settings.model_copy(update={"pool_size": 1, "max_overflow": 0}))
    reads = create_read_session_factory(engine)
    switching = asyncio.Event()
    execute = asyncpg.Connection.execute

    async def stalled(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if query.startswith("SET plan_cache_mode"):
            switching.set()
            await asyncio.Event().wait()  # until cancelled
        return await execute(self, query, *args, **kwargs)

    try:
        monkeypatch.setattr(asyncpg.Connection, "execute", stalled)
        read = asyncio.create_task(_plan_cache_mode(reads, False))
        await switching.wait()
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        monkeypatch.undo()
        assert engine.sync_engine.pool.checkedout() == 0
        # The pool's only connection was replaced, and the next read switches the new one.
        assert await asyncio.wait_for(_plan_cache_mode(reads, False), 10) == "force_generic_plan"
    finally:
        await engine.dispose()


async def test_page_sizes_are_written_into_the_statement(backend: Backend) -> None:
    """A generic plan is made without the values: `LIMIT $1` was costed as a tenth of the table."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = _engine(backend).sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await backend.client.post("/graphql", json={"query": "{ orders(first: 7) { edges { node { number } } } }"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.json()["data"]["orders"]["edges"]
    pages = [sql for sql in seen if "FROM orders" in sql]
    assert pages and all("LIMIT 8" in sql for sql in pages), pages


def test_extension_hooks_run_as_strawberry_runs_them_wrapped_once_per_class() -> None:
    from strawberry.extensions import SchemaExtension
    from strawberry.extensions.context import ExtensionContextManagerBase

    import graph.schema  # noqa: F401 - the server's schema installs the cached hooks
    from graph import extension_hooks

    seen: list[str] = []

    class Hooks(SchemaExtension):
        def on_operation(self) -> Any:  # a generator
            seen.append(f"operation in {self.tag}")
            yield
            seen.append(f"operation out {self.tag}")

        async def on_execute(self) -> Any:  # an async generator
            seen.append(f"execute in {self.tag}")
            yield
            seen.append(f"execute out {self.tag}")

        def on_validate(self) -> None:  # a plain function: strawberry wraps it itself
            seen.append(f"validate {self.tag}")

    tags = iter(range(100))

    def made() -> Hooks:
        hooks = Hooks()
        hooks.tag = next(tags)  # type: ignore[attr-defined]
        return hooks

    assert ExtensionContextManagerBase.get_hook is extension_hooks.get_hook  # installed by graph.schema
    schema = strawberry.Schema(query=Query, extensions=[made])
    for _ in range(2):
        assert asyncio.run(schema.execute("{ things { count } }", context_value={})).errors is None
    assert seen == [
        "operation in 0", "validate 0", "execute in 0", "execute out 0", "operation out 0",
        "operation in 1", "validate 1", "execute in 1", "execute out 1", "operation out 1",
    ]  # fmt: skip
    assert extension_hooks._WRAPPED[Hooks, "on_operation"][0] is False
    assert extension_hooks._WRAPPED[Hooks, "on_execute"][0] is True
    assert extension_hooks._WRAPPED[Hooks, "on_validate"] is extension_hooks._ITS_OWN
    assert extension_hooks._WRAPPED[Hooks, "on_parse"] is None


def test_row_builders_store_what_the_dataclass_init_would() -> None:
    import dataclasses
    from types import SimpleNamespace

    from graph.types.common import row_builder

    @strawberry.type
    class Built:
        name: str
        amount: int | None
        color: Color = Color.RED
        kind: str = dataclasses.field(default="fixed", init=False)  # not an argument: left on the class

        @strawberry.field
        def shout(self) -> str:
            return self.name.upper()

    @strawberry.type
    class Checked:
        name: str
        amount: int | None

        def __post_init__(self) -> None:
            self.name = self.name.strip()

    row = SimpleNamespace(name=" n ", total=7, color=Color.RED, kind="from the row")
    built = row_builder(Built, renames={"amount": "total"})(row)
    assert type(built) is Built and vars(built) == vars(Built(name=" n ", amount=7, color=Color.RED))
    assert built.kind == "fixed" and built.shout() == " N "
    # A class whose __init__ does more is built by calling it.
    checked = row_builder(Checked, renames={"amount": "total"})(row)
    assert vars(checked) == {"name": "n", "amount": 7}
    schema = strawberry.Schema(query=Query, types=[Built])
    assert schema.execute_sync("{ __typename }").errors is None


async def test_sub_fields_are_collected_once_across_requests_unless_variables_can_change_them() -> None:
    from graph import execution

    _, fast = _schemas()
    context = {"allowed": True, "greeting": "hi"}
    query = "query Q($n: String!) { things { count best { label ... on Part { later } } greet(someName: $n) } }"
    first = await fast.execute(query, context_value=context, variable_values={"n": "x"})
    remembered = {key: entry[1] for key, entry in execution._COLLECTED.items() if key[0].name == "Part"}
    assert remembered, "a document without directives has its sub-fields collected once"
    again = await fast.execute(query, context_value=context, variable_values={"n": "x"})
    assert first.errors is None and again.data == first.data
    assert all(execution._COLLECTED[key][1] is collected for key, collected in remembered.items())
    # With @include on a variable, each request collects its own: the answers differ.
    execution._COLLECTED.clear()
    query = "query Q($with: Boolean!) { things { count best { label later @include(if: $with) } } }"
    shown = await fast.execute(query, context_value=context, variable_values={"with": True})
    hidden = await fast.execute(query, context_value=context, variable_values={"with": False})
    assert shown.data["things"][0]["best"] == {"label": "b", "later": "B"}
    assert hidden.data["things"][0]["best"] == {"label": "b"}
    assert not any(key[0].name == "Part" for key in execution._COLLECTED)
    # A fragment spread with a directive counts too.
    query = "query Q($with: Boolean!) { things { best { ...P @include(if: $with) label } } } fragment P on Part { later }"
    hidden = await fast.execute(query, context_value=context, variable_values={"with": False})
    shown = await fast.execute(query, context_value=context, variable_values={"with": True})
    assert hidden.data["things"][0]["best"] == {"label": "b"} and shown.data["things"][0]["best"] == {"later": "B", "label": "b"}
