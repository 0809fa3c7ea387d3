"""The supervisor's acceptor (graph/workers.py): connections go to the worker holding the fewest,
and a worker on its way out hands back what it was sent and had not taken.

The workers here are asyncio protocols in this process that answer with their own name, so the
hand-out can be checked exactly; tests/test_cli.py runs the real `serve --workers 2`."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from graph.workers import Dispatcher, HandedConnections, listening_socket

pytestmark = pytest.mark.skipif(not hasattr(socket, "send_fds"), reason="passing sockets needs a Unix")


class _Named(asyncio.Protocol):
    """Says which worker holds the connection, then keeps it open until the client closes it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.name.encode())  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        pass


def _worker(dispatcher: Dispatcher, name: str, buffer: int | None = None) -> HandedConnections:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if buffer is not None:  # room for only a few connections in flight to it
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
    dispatcher.add(ours)
    factory: Callable[[], asyncio.Protocol] = lambda: _Named(name)  # noqa: E731
    return HandedConnections(theirs, factory)


async def _connect(port: int) -> tuple[str, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    name = await asyncio.wait_for(reader.read(64), timeout=5)  # one small write: one read
    return name.decode(), writer


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


@pytest.fixture
def dispatcher():
    d = Dispatcher(listening_socket("127.0.0.1", 0, 128))
    d.start()
    yield d
    d.stop()


async def test_connections_opened_in_a_burst_split_evenly(dispatcher: Dispatcher) -> None:
    port = dispatcher.listener.getsockname()[1]
    workers = [_worker(dispatcher, "a"), _worker(dispatcher, "b")]
    for worker in workers:
        worker.start()
    await _until(lambda: len(dispatcher.loads()) == 2)

    held = await asyncio.gather(*(_connect(port) for _ in range(16)))
    names = [name for name, _ in held]
    assert names.count("a") == names.count("b") == 8

    # Worker a's clients leave: it reports the closes, and the next connections all go to it.
    for name, writer in held:
        if name == "a":
            writer.close()
    await _until(lambda: sorted(dispatcher.loads()) == [0, 8])
    more = await asyncio.gather(*(_connect(port) for _ in range(8)))
    assert [name for name, _ in more] == ["a"] * 8
    for _, writer in held + more:
        writer.close()


async def test_no_connection_waits_on_a_worker_until_one_is_ready(dispatcher: Dispatcher) -> None:
    port = dispatcher.listener.getsockname()[1]
    late = _worker(dispatcher, "late")
    opening = asyncio.ensure_future(_connect(port))
    await asyncio.sleep(0.2)
    assert not opening.done()  # held in the listen backlog, not handed to a worker still starting
    late.start()
    name, writer = await asyncio.wait_for(opening, timeout=5)
    assert name == "late"
    writer.close()


async def test_a_leaving_worker_hands_back_what_it_had_not_taken(dispatcher: Dispatcher) -> None:
    port = dispatcher.listener.getsockname()[1]
    stays, leaves = _worker(dispatcher, "stays"), _worker(dispatcher, "leaves")
    stays.start()
    # "leaves" says it is ready but never reads: connections sent to it wait in its channel.
    leaves.channel.send(b"0")
    await _until(lambda: len(dispatcher.loads()) == 2)

    opening = [asyncio.ensure_future(_connect(port)) for _ in range(6)]
    await _until(lambda: sum(dispatcher.loads()) == 6)
    assert sorted(dispatcher.loads()) == [3, 3]

    await leaves.leave()
    held = await asyncio.wait_for(asyncio.gather(*opening), timeout=5)
    assert [name for name, _ in held] == ["stays"] * 6
    await _until(lambda: dispatcher.loads() == [6])
    for _, writer in held:
        writer.close()


async def test_a_worker_that_dies_is_forgotten(dispatcher: Dispatcher) -> None:
    port = dispatcher.listener.getsockname()[1]
    lives, dies = _worker(dispatcher, "lives"), _worker(dispatcher, "dies")
    lives.start()
    dies.start()
    await _until(lambda: len(dispatcher.loads()) == 2)
    asyncio.get_running_loop().remove_reader(dies.channel.fileno())
    dies.channel.close()
    await _until(lambda: len(dispatcher.loads()) == 1)
    held = await asyncio.gather(*(_connect(port) for _ in range(4)))
    assert [name for name, _ in held] == ["lives"] * 4
    for _, writer in held:
        writer.close()


async def test_connections_wait_in_the_backlog_while_every_channel_is_full(dispatcher: Dispatcher) -> None:
    port = dispatcher.listener.getsockname()[1]
    busy = _worker(dispatcher, "busy", buffer=4096)
    busy.channel.send(b"0")  # ready, but not reading its channel for now
    await _until(lambda: len(dispatcher.loads()) == 1)

    opening = [asyncio.ensure_future(_connect(port)) for _ in range(40)]
    await _until(lambda: dispatcher.loads()[0] > 0)
    await asyncio.sleep(0.2)
    assert dispatcher.loads()[0] < 40  # the channel is full: the rest were not sent
    busy.start()  # it reads again: every connection arrives, none was closed
    held = await asyncio.wait_for(asyncio.gather(*opening), timeout=10)
    assert [name for name, _ in held] == ["busy"] * 40
    for _, writer in held:
        writer.close()


async def test_at_start_up_connections_wait_until_every_worker_is_ready() -> None:
    # Clients that open their connections as soon as the first worker answers (a proxy's pool,
    # the benchmark's load generator) would otherwise all stay on that worker.
    dispatcher = Dispatcher(listening_socket("127.0.0.1", 0, 128), workers=2)
    dispatcher.start()
    try:
        port = dispatcher.listener.getsockname()[1]
        first = _worker(dispatcher, "a")
        first.start()
        early = [asyncio.create_task(_connect(port)) for _ in range(16)]
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in early)  # waiting in the backlog, not on worker a
        second = _worker(dispatcher, "b")
        second.start()
        names = [name for name, _ in await asyncio.gather(*early)]
        assert names.count("a") == names.count("b") == 8
    finally:
        dispatcher.stop()


async def test_at_start_up_a_worker_that_never_comes_up_holds_nothing_back_past_the_grace() -> None:
    dispatcher = Dispatcher(listening_socket("127.0.0.1", 0, 128), workers=2, start_grace=0.3)
    dispatcher.start()
    try:
        port = dispatcher.listener.getsockname()[1]
        _worker(dispatcher, "a").start()
        _worker(dispatcher, "never")  # its channel is there; it never says it is ready
        started = asyncio.get_running_loop().time()
        name, _ = await _connect(port)
        assert name == "a" and asyncio.get_running_loop().time() - started >= 0.25
        _worker(dispatcher, "late").start()  # after start-up, a new worker takes its share at once
        await _until(lambda: len(dispatcher.loads()) == 2)
        assert sorted([name for name, _ in await asyncio.gather(*(_connect(port) for _ in range(3)))]) == [
            "a", "late", "late"
        ]
    finally:
        dispatcher.stop()
