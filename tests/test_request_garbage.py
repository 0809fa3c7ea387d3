"""An answered request leaves no reference cycles behind: reference counting frees everything it
read and built the moment it is answered.

Objects in a cycle wait for the cycle collector, and every collection walks the objects of the
requests still in flight. When each request left its context, loaders and session in cycles, a
server collected every few dozen requests, paid about a millisecond of CPU per portal page for
it, and paused for up to a quarter of a second, which set the p99 latency (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from graph.app import create_app
from graph.ids import decode_global_id
from tests.conftest import Backend
from tests.test_performance_bounds import PORTAL

NODE = "query($id: ID!) { node(id: $id) { id ... on Order { number lines(first: 5) { edges { node { product { sku } } } } } } }"
LIST = """{ orders(first: 10, filter: {status: [SUBMITTED, CONFIRMED]}, orderBy: {field: CREATED_AT, direction: DESC})
  { totalCount edges { cursor node { number customer { name } total { amount currency } } } } }"""
CREATE_CONTACT = """mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id name } errors { field message code } } }"""


@pytest.fixture
def collector_off() -> Iterator[None]:
    """No automatic collection while the test runs: nothing is collected unseen."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
        if enabled:
            gc.enable()


def _named(component: Iterator[object]) -> str:
    """A cycle by the classes in it (builtins such as dict and cell only when nothing else is)."""
    kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in component)
    ours = {kind: n for kind, n in kinds.items() if not kind.startswith("builtins.")} or kinds
    return ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in sorted(ours.items()))


def _cycles(garbage: list) -> Counter:
    """The reference cycles among `garbage` (its strongly connected components), each named by
    the types in it: the objects that keep the rest of the garbage from being freed."""
    gc.collect()
    objects = {id(o): o for o in garbage}
    edges = {i: [id(r) for r in gc.get_referents(o) if id(r) in objects] for i, o in objects.items()}
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    found: Counter = Counter()
    for root in edges:  # Tarjan's algorithm, without recursion
        if root in index:
            continue
        work = [(root, 0)]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, i = work[-1]
            if i < len(edges[node]):
                work[-1] = (node, i + 1)
                child = edges[node][i]
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while (member := stack.pop()) != node:
                    on_stack.discard(member)
                    component.append(member)
                on_stack.discard(node)
                component.append(node)
                if len(component) > 1 or node in edges[node]:
                    found[_named(objects[m] for m in component)] += 1
    return found


@pytest.fixture
async def own_app(backend: Backend) -> AsyncIterator[Backend]:
    """The shared database behind an app of this test's own: its pool holds no connection that
    an earlier test broke (replacing one leaves a cycle that is no request's)."""
    app = create_app(backend.settings)
    headers = {"authorization": f"Bearer {await backend.key('admin')}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            yield dataclasses.replace(backend, client=client)
    finally:
        await app.state.engine.dispose()


async def test_answered_requests_leave_no_cycles(own_app: Backend, collector_off: None) -> None:
    backend = own_app
    order = await backend.gql("{ orders(first: 1) { edges { node { id customer { id } } } } }")
    edge = order["orders"]["edges"][0]["node"]
    customer = await backend.key("customer", organization_id=decode_global_id(edge["customer"]["id"])[1])
    contact = {"input": {"organizationId": edge["customer"]["id"], "name": "Garbage Check"}}

    async def requests() -> None:
        await backend.gql(PORTAL, key=customer)
        await backend.gql(NODE, {"id": edge["id"]})
        await backend.gql(LIST)
        created = await backend.gql(CREATE_CONTACT, contact)
        assert created["createContact"]["errors"] == []

    await requests()  # first use builds kept statements, validates the documents, fills caches
    gc.collect()  # and frees what that left behind
    gc.set_debug(gc.DEBUG_SAVEALL)  # from here on the collector keeps what it finds, to be named

    for _ in range(3):
        await requests()
    found = _cycles(gc.garbage)
    # Not the server's: the test's own HTTP client (httpx) leaves a cycle per response, and
    # connections that earlier tests left to close in the background leave asyncio transports.
    theirs = ("httpx.", "asyncio.")
    ours = {cycle: n for cycle, n in found.items() if not all(t.startswith(theirs) for t in cycle.split(", "))}
    assert ours == {}
