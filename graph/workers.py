"""`partnergraph serve --workers N`: uvicorn's supervisor, with a listening socket per worker.

uvicorn's workers share one listening socket, and whichever is idle at the moment accepts the
next connection. Clients that keep connections open (a proxy's pool, a portal's backend, the
benchmark's load generator) open them in a burst, so one worker can take all of them and the
others sit idle for the connections' lifetime: we measured a two-worker server using one core
while requests queued. Here each worker listens on its own socket bound with SO_REUSEPORT, and
the kernel spreads new connections over the workers. The supervisor (restarts, health checks,
signals) is uvicorn's own; the parent keeps a bound, never-listening socket so the port is
reserved, and a port in use fails at startup as before.
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

log = logging.getLogger("uvicorn.error")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class _Worker(multiprocess.Process):
    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover - a child process
        port = sockets[0].getsockname()[1] if sockets else self.config.port
        super().target([reuse_port_socket(self.config.host, port)])


def run(config: uvicorn.Config) -> None:
    """Serve `config` (an import string, workers > 1) until a signal stops the supervisor."""
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - not Linux or a BSD
        sock = config.bind_socket()  # uvicorn's own shared socket
        multiprocess.Multiprocess(config, sockets=[sock]).run()
        return
    try:
        reserved = reuse_port_socket(config.host, config.port)
    except OSError as exc:
        log.error(exc)
        sys.exit(STARTUP_FAILURE)
    log.info("Uvicorn running on http://%s:%d with %d workers (Press CTRL+C to quit)", config.host, reserved.getsockname()[1], config.workers)
    multiprocess.Process = _Worker  # the supervisor builds (and rebuilds) its workers from this name
    multiprocess.Multiprocess(config, sockets=[reserved]).run()
