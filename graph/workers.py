"""`partnergraph serve --workers N`: uvicorn's supervisor, with one acceptor handing out connections.

Clients that keep connections open (a proxy's pool, a portal's backend, the benchmark's load
generator) open them in a burst and hold them. How those connections land on workers decides how
evenly the work is shared for as long as they live:

- one shared listening socket (uvicorn's way): whichever worker is idle at that moment accepts,
  so one worker can take all of them while the others sit idle;
- a socket per worker with SO_REUSEPORT (our previous way): the kernel hashes each connection to a
  worker, so 16 connections split 10/6 or 12/4 more often than 8/8, and the busier worker's
  queue set the p99 latency.

So the supervisor's process accepts every connection itself and passes it (SCM_RIGHTS over a
Unix socket, a channel per worker) to the worker that holds the fewest; each worker reports the
connections it has closed. Only accepting and handing over happen in the supervisor: the
requests never pass through it. A worker that shuts down gracefully first hands back whatever
was sent to it and not yet taken, so a rolling restart (SIGHUP) drops no connection. The
supervisor (restarts, health checks, signals) is uvicorn's own.

At start-up nothing is accepted until every worker is ready (or START_GRACE_SECONDS have passed
since the first was, in case one never comes up): connections opened while only the first
worker is up would all stay on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

log = logging.getLogger("uvicorn.error")

# Messages on a worker's channel. Supervisor to worker: a connection (one fd, CONNECTION), or
# STOPPED, the answer to LEAVING after which nothing more is sent. Worker to supervisor: its count
# of closed connections as ASCII digits (the first one also says it is ready), LEAVING, or a
# connection handed back (one fd, RETURNED).
CONNECTION = b"c"
LEAVING = b"leaving"
STOPPED = b"stopped"
RETURNED = b"r"
_MESSAGE = 64

START_GRACE_SECONDS = 10.0  # how long the first ready worker waits for the others at start-up


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


class _Channel:
    """The supervisor's end of one worker's channel, and what it knows of that worker's load."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sent = 0
        self.closed = 0
        self.ready = False
        self.leaving = False

    @property
    def load(self) -> int:
        return self.sent - self.closed


class Dispatcher:
    """Accepts on `listener` (a thread in the supervisor's process) and hands each connection to
    the ready worker holding the fewest. While no worker is ready, or every ready worker's
    channel is full (a burst of connections while the workers are busy), it stops accepting:
    connections wait in the listen backlog, as they would for a single server. At start-up it
    waits, the same way, for `workers` workers to be ready, or `start_grace` seconds after the
    first one was."""

    def __init__(
        self, listener: socket.socket, workers: int = 1, start_grace: float = START_GRACE_SECONDS
    ) -> None:
        self.listener = listener
        self._workers = workers
        self._start_grace = start_grace
        self._first_ready: float | None = None  # when the first worker was ready (monotonic)
        self._started = False  # every initial worker is ready, or the grace is over
        self._selector = selectors.DefaultSelector()
        self._channels: dict[socket.socket, _Channel] = {}
        self._added: list[socket.socket] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._accepting = False
        self._stopping = False
        self._next = 0  # round-robin among equally loaded workers
        self._waiting: collections.deque[socket.socket] = collections.deque()  # accepted, not yet handed out
        self._thread = threading.Thread(target=self._run, name="partnergraph-acceptor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, sock: socket.socket) -> None:
        """A new worker's channel (thread-safe: the supervisor adds workers as it starts them)."""
        sock.setblocking(False)
        with self._lock:
            self._added.append(sock)
        self._wake()

    def stop(self) -> None:
        """Accept no more; connections already handed out stay with their workers."""
        self._stopping = True
        self._wake()
        self._thread.join(timeout=5)

    def loads(self) -> list[int]:
        return [channel.load for channel in list(self._channels.values()) if channel.ready]

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"!")

    def _run(self) -> None:
        try:
            while not self._stopping:
                # While connections wait for room in a channel, look again soon.
                for key, _ in self._selector.select(0.005 if self._waiting else self._grace_left()):
                    if key.fileobj is self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            self._wake_r.recv(4096)
                        self._take_added()
                    elif key.fileobj is self.listener:
                        self._accept()
                    else:
                        self._hear(key.fileobj)  # type: ignore[arg-type]
                while self._waiting and self._hand_out(self._waiting[0]):
                    self._waiting.popleft().close()
                self._listen_while_someone_is_ready()
        finally:
            self._selector.close()
            self.listener.close()
            for waiting in self._waiting:
                waiting.close()
            for channel in self._channels.values():
                channel.sock.close()

    def _take_added(self) -> None:
        with self._lock:
            added, self._added = self._added, []
        for sock in added:
            self._channels[sock] = _Channel(sock)
            self._selector.register(sock, selectors.EVENT_READ)

    def _grace_left(self) -> float | None:
        """Seconds until the start-up grace is over, while it is running; else None."""
        if self._started or self._first_ready is None:
            return None
        return max(0.0, self._first_ready + self._start_grace - time.monotonic())

    def _listen_while_someone_is_ready(self) -> None:
        ready = sum(1 for c in self._channels.values() if c.ready and not c.leaving)
        if not self._started and ready:
            if self._first_ready is None:
                self._first_ready = time.monotonic()
            if ready >= self._workers or self._grace_left() == 0.0:
                self._started = True
        anyone = self._started and ready > 0 and not self._waiting and not self._stopping
        if anyone and not self._accepting:
            self._selector.register(self.listener, selectors.EVENT_READ)
        elif self._accepting and not anyone:
            self._selector.unregister(self.listener)
        self._accepting = anyone

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: let the backlog hold the rest
                log.warning("accept failed: %s", exc)
                return
            if not self._hand_out(connection):
                self._waiting.append(connection)
                return  # accept no more until it is handed out
            connection.close()

    def _hand_out(self, connection: socket.socket) -> bool:
        """Pass `connection` to a worker (the caller closes its own copy); False if none could
        take it now."""
        fd = connection.fileno()
        candidates = [c for c in self._channels.values() if c.ready and not c.leaving]
        while candidates:
            least = min(c.load for c in candidates)
            tied = [c for c in candidates if c.load == least]
            self._next += 1
            channel = tied[self._next % len(tied)]
            try:
                socket.send_fds(channel.sock, [CONNECTION], [fd])
            except OSError:  # its buffer is full or it is gone: try the others
                candidates.remove(channel)
                continue
            channel.sent += 1
            return True
        return False

    def _hear(self, sock: socket.socket) -> None:
        channel = self._channels[sock]
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(sock, _MESSAGE, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message:  # the worker is gone; what was in flight to it is lost with it
                self._selector.unregister(sock)
                del self._channels[sock]
                sock.close()
                return
            if message == RETURNED:
                channel.sent -= 1
                self._waiting.extend(socket.socket(fileno=fd) for fd in fds)  # handed out next
            elif message == LEAVING:
                channel.leaving = True
                with contextlib.suppress(OSError):
                    sock.send(STOPPED)
            elif message.isdigit():
                channel.closed = int(message)
                channel.ready = True
            else:
                for fd in fds:
                    socket.close(fd)


class HandedConnections:
    """A worker's side of its channel: serves the connections the supervisor hands it."""

    def __init__(self, channel: socket.socket, protocol: Callable[[], asyncio.Protocol]) -> None:
        self.channel = channel
        self.protocol = protocol
        self.closed = 0
        self._opening: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        self.channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self.channel.fileno(), self._receive)
        self._report()  # also says: ready

    async def leave(self, timeout: float = 2.0) -> None:
        """Take nothing more, and hand back what the supervisor sent before it heard that."""
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.channel.fileno())
        with contextlib.suppress(OSError):
            self.channel.send(LEAVING)
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                try:
                    message, fds, _, _ = socket.recv_fds(self.channel, _MESSAGE, 1)
                except (BlockingIOError, InterruptedError):
                    await asyncio.sleep(0.01)
                    continue
                if not message or message == STOPPED:
                    break
                for fd in fds:
                    socket.send_fds(self.channel, [RETURNED], [fd])
                    socket.close(fd)
        self.channel.close()

    def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self.channel, _MESSAGE, 1)
            except (BlockingIOError, InterruptedError):
                return
            if not message:  # the supervisor is gone: nothing more will come
                loop.remove_reader(self.channel.fileno())
                return
            for fd in fds:
                task = loop.create_task(self._open(socket.socket(fileno=fd)))
                self._opening.add(task)
                task.add_done_callback(self._opening.discard)

    async def _open(self, sock: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(self._counted, sock)
        except OSError:  # the client left before we got to it
            sock.close()
            self._closed()

    def _counted(self) -> asyncio.Protocol:
        protocol = self.protocol()
        lost = protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            lost(exc)
            self._closed()

        protocol.connection_lost = connection_lost  # type: ignore[method-assign]
        return protocol

    def _closed(self) -> None:
        self.closed += 1
        self._report()

    def _report(self) -> None:
        # A report the channel cannot take now is not lost: the next one carries the new total.
        with contextlib.suppress(OSError):
            self.channel.send(str(self.closed).encode())


class _HandedServer(uvicorn.Server):
    """uvicorn's server with no listening socket of its own: it serves handed connections."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self._channel = channel
        self._handed: HandedConnections | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        if not self.started:
            return
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            return self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop
            )

        self._handed = HandedConnections(self._channel, protocol)
        self._handed.start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._handed is not None:
            await self._handed.leave()
        await super().shutdown(sockets=None)


_dispatcher: Dispatcher | None = None


class _Worker(multiprocess.Process):
    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        assert _dispatcher is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._channel = theirs
        super().__init__(config, [theirs])
        _dispatcher.add(ours)

    def start(self) -> None:
        super().start()
        self._channel.close()  # the worker holds its own copy now

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover - a child process
        assert sockets
        self._server = _HandedServer(self.config, sockets[0])
        super().target([])


class _Supervisor(multiprocess.Multiprocess):
    def terminate_all(self) -> None:
        # Stop accepting before the workers stop taking: nothing is handed to a worker on its way out.
        if _dispatcher is not None:
            _dispatcher.stop()
        super().terminate_all()


def run(config: uvicorn.Config) -> None:
    """Serve `config` (an import string, workers > 1) until a signal stops the supervisor."""
    global _dispatcher
    if not hasattr(socket, "send_fds"):  # pragma: no cover - not a Unix
        multiprocess.Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    try:
        listener = listening_socket(config.host, config.port, config.backlog)
    except OSError as exc:
        log.error(exc)
        sys.exit(STARTUP_FAILURE)
    log.info("Uvicorn running on http://%s:%d with %d workers (Press CTRL+C to quit)", config.host, listener.getsockname()[1], config.workers)
    _dispatcher = Dispatcher(listener, workers=config.workers)
    _dispatcher.start()
    multiprocess.Process = _Worker  # the supervisor builds (and rebuilds) its workers from this name
    try:
        _Supervisor(config, sockets=[]).run()
    finally:
        _dispatcher.stop()
