"""The load generator: fixed-concurrency HTTP/1.1 keep-alive clients in one asyncio process.

    python -m bench.load SPEC.json      # prints one JSON result per group on stdout

It runs in its own process (apart from the server under test) and does as little as it can
per request — pre-encoded request bytes, a minimal response parser, no JSON decoding — so the
client costs far less CPU than the servers it measures. The spec:

    {"host": "127.0.0.1", "port": 8000, "duration": 10, "warmup": 1,
     "groups": [{"name": "readers", "connections": 16, "once": false,
                 "requests": [{"method": "POST", "path": "/graphql", "headers": {...}, "body": "..."}]}]}

A group with `"once": true` sends each request exactly once (spread over its connections, in
order per connection) and ends when they are done; otherwise every connection cycles through
the requests until `duration` seconds after the warm-up. Groups run at the same time.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

_STATEMENTS = re.compile(rb'"sqlStatements":\s*(\d+)')
REQUEST_TIMEOUT = 60.0  # seconds: a request still unanswered then is counted as an error

# A GraphQL error list that is not empty: top-level errors, or a payload's typed errors.
_ERRORS = re.compile(rb'"errors":\s*\[\s*\{')


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    bytes: int = 0
    statements: int = 0
    statement_samples: int = 0
    errors: int = 0
    locked: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    first_started: float | None = None
    last_finished: float = 0.0


def encode(request: dict[str, Any], host: str, port: int) -> bytes:
    body = request.get("body", "")
    body_bytes = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    headers = {"host": f"{host}:{port}", "content-type": "application/json", "accept": "application/json"}
    headers.update({k.lower(): v for k, v in request.get("headers", {}).items()})
    headers["content-length"] = str(len(body_bytes))
    head = f"{request.get('method', 'POST')} {request['path']} HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body_bytes


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _chunked_body(buffer: bytearray, start: int) -> bytes | None:
    """The chunked body from `start`, or None while it is incomplete."""
    parts, at = [], start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        at = line_end + 2
        if size == 0:
            return b"".join(parts) if buffer.find(b"\r\n", at) >= 0 else None
        if len(buffer) < at + size + 2:
            return None
        parts.append(bytes(buffer[at : at + size]))
        at += size + 2


def _count(
    tally: Tally, status: int, headers: dict[str, str], body: bytes, latency: float, measured: bool
) -> None:
    failed = status != 200 or _ERRORS.search(body) is not None
    if b"database is locked" in body:
        tally.locked += 1
    if failed and len(tally.error_samples) < 3:
        tally.error_samples.append(f"{status}: {body[:300].decode(errors='replace')}")
    if not measured:
        return
    tally.latencies.append(latency)
    tally.bytes += len(body)
    tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
    tally.errors += failed
    found = headers.get("x-sql-statements")
    if found is None:
        match = _STATEMENTS.search(body, max(0, len(body) - 400))
        found = match.group(1) if match else None
    if found is not None:
        tally.statements += int(found)
        tally.statement_samples += 1


class _Connection(asyncio.Protocol):
    """One keep-alive connection's requests, driven from the event loop's callbacks: the answer
    is parsed as it arrives and the next request written from `data_received`, with no task,
    future or stream per request (a client costing less CPU leaves more to the server measured
    on the same machine). Reconnects (by `_connection`) after a `Connection: close` or an error."""

    def __init__(
        self, queue: list[bytes], tally: Tally, warm_until: float, stop_at: float, once: bool
    ) -> None:
        self.queue, self.tally, self.once = queue, tally, once
        self.warm_until, self.stop_at = warm_until, stop_at
        self.index = 0
        self.measured_here = 0
        self.finished = False
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] | None = None
        self.buffer = bytearray()
        self.started: float | None = None  # the request in flight, if any
        self.head: tuple[int, dict[str, str], int] | None = None  # status, headers, where the body starts
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send_next()

    def send_next(self) -> None:
        now = time.perf_counter()
        if (self.once and (self.index >= len(self.queue) or now > self.stop_at)) or (
            # A connection measures at least one request, however slow the endpoint (bounded).
            not self.once and now >= self.stop_at and (self.measured_here or now >= self.stop_at + 300)
        ):
            self.finished = True
            self.transport.close()  # type: ignore[union-attr]
            return
        payload = self.queue[self.index % len(self.queue)]
        self.index += 1
        self.buffer.clear()
        self.head = None
        self.started = time.perf_counter()
        self.timer = asyncio.get_running_loop().call_later(REQUEST_TIMEOUT, self.timed_out)
        self.transport.write(payload)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status, headers = parse_head(bytes(buffer[:end]))
            self.head = (status, headers, end + 4)
        status, headers, body_at = self.head
        if "content-length" in headers:
            end = body_at + int(headers["content-length"])
            if len(buffer) < end:
                return
            body = bytes(buffer[body_at:end])
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunked = _chunked_body(buffer, body_at)
            if chunked is None:
                return
            body = chunked
        else:
            return  # the body ends with the connection
        self.answered(status, headers, body)

    def answered(self, status: int, headers: dict[str, str], body: bytes) -> None:
        finished = time.perf_counter()
        started, self.started = self.started, None
        self.timer.cancel()  # type: ignore[union-attr]
        tally = self.tally
        measured = self.once or started >= self.warm_until  # type: ignore[operator]
        self.measured_here += measured
        if measured and tally.first_started is None:
            tally.first_started = started
        if measured:
            tally.last_finished = max(tally.last_finished, finished)
        _count(tally, status, headers, body, finished - started, measured)  # type: ignore[operator]
        if headers.get("connection", "").lower() == "close":
            self.transport.close()  # type: ignore[union-attr]
        else:
            self.send_next()

    def failed(self, reason: str) -> None:
        self.started = None
        if self.timer is not None:
            self.timer.cancel()
        self.tally.errors += 1
        self.measured_here += 1
        if len(self.tally.error_samples) < 3:
            self.tally.error_samples.append(f"connection: {reason}")

    def timed_out(self) -> None:
        if self.started is not None:
            self.failed("timed out")
            self.transport.abort()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.started is not None:
            head = self.head
            framed = head is not None and ("content-length" in head[1] or "transfer-encoding" in head[1])
            if head is not None and not framed:
                self.answered(head[0], head[1], bytes(self.buffer[head[2] :]))  # the body was the rest
            else:
                self.failed(repr(exc) if exc else "closed before the answer was complete")
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)


async def _connection(
    host: str, port: int, queue: list[bytes], tally: Tally, warm_until: float, stop_at: float, once: bool
) -> None:
    loop = asyncio.get_running_loop()
    connection = _Connection(queue, tally, warm_until, stop_at, once)
    while not connection.finished:
        connection.closed = loop.create_future()
        try:
            await loop.create_connection(lambda: connection, host, port)
        except OSError as exc:
            connection.failed(repr(exc))
            if time.perf_counter() > stop_at + 300:
                return
            await asyncio.sleep(0.1)
            continue
        await connection.closed


def summarize(name: str, tally: Tally, elapsed: float, connections: int) -> dict[str, Any]:
    lat = sorted(tally.latencies)
    n = len(lat)

    def pct(p: float) -> float | None:
        return round(lat[min(n - 1, int(p * n))] * 1000, 2) if n else None

    return {
        "group": name,
        "connections": connections,
        "requests": n,
        "seconds": round(elapsed, 3),
        "rps": round(n / elapsed, 1) if elapsed > 0 else None,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": round(sum(lat) / n * 1000, 2) if n else None,
        "bytes_per_response": round(tally.bytes / n) if n else None,
        "sql_statements_per_request": round(tally.statements / tally.statement_samples, 2)
        if tally.statement_samples
        else None,
        "errors": tally.errors,
        "database_locked": tally.locked,
        "statuses": tally.statuses,
        "error_samples": tally.error_samples,
    }


async def run(spec: dict[str, Any]) -> list[dict[str, Any]]:
    host, port = spec.get("host", "127.0.0.1"), spec["port"]
    duration, warmup = float(spec.get("duration", 10)), float(spec.get("warmup", 1))
    start = time.perf_counter()
    warm_until = start + warmup
    stop_at = warm_until + duration
    jobs = []
    for group in spec["groups"]:
        payloads = [encode(r, host, port) for r in group["requests"]]
        once = bool(group.get("once"))
        connections = int(group.get("connections", 1))
        tally = Tally()
        tasks = []
        for c in range(connections):
            if once:
                queue = payloads[c::connections]
            else:  # each connection starts at another request, so the mix is even from the start
                shift = c * len(payloads) // connections
                queue = payloads[shift:] + payloads[:shift]
            if queue:
                group_stop = start + float(group.get("timeout", 3600)) if once else stop_at
                tasks.append(
                    asyncio.create_task(_connection(host, port, queue, tally, warm_until, group_stop, once))
                )
        jobs.append((group, tally, tasks, connections, once))
    results = []
    for group, tally, tasks, connections, once in jobs:
        await asyncio.gather(*tasks)
        if once:
            elapsed = (tally.last_finished - tally.first_started) if tally.first_started else 0.0
        else:  # the measured window, stretched by requests still in flight at its end
            elapsed = max(tally.last_finished, stop_at) - warm_until
        results.append(summarize(group["name"], tally, elapsed, connections))
    return results


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        import uvloop

        results = uvloop.run(run(spec))
    except ImportError:  # plain asyncio works, a little slower
        results = asyncio.run(run(spec))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
