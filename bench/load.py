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


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, headers, body


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


async def _connection(
    host: str, port: int, queue: list[bytes], tally: Tally, warm_until: float, stop_at: float, once: bool
) -> None:
    reader = writer = None
    index = 0
    measured_here = 0
    while True:
        now = time.perf_counter()
        if once and (index >= len(queue) or now > stop_at):
            break
        # A connection measures at least one request, however slow the endpoint (bounded).
        if not once and now >= stop_at and (measured_here or now >= stop_at + 300):
            break
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        payload = queue[index % len(queue)]
        index += 1
        started = time.perf_counter()
        try:
            writer.write(payload)
            status, headers, body = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
            tally.errors += 1
            measured_here += 1
            if len(tally.error_samples) < 3:
                tally.error_samples.append(f"connection: {exc!r}")
            writer.close()
            writer = None
            continue
        finished = time.perf_counter()
        measured = once or started >= warm_until
        measured_here += measured
        if measured and tally.first_started is None:
            tally.first_started = started
        if measured:
            tally.last_finished = max(tally.last_finished, finished)
        _count(tally, status, headers, body, finished - started, measured)
        if headers.get("connection", "").lower() == "close":
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


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
