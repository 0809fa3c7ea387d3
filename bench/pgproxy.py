"""A PostgreSQL wire-protocol relay that counts the statements a client executes.

    python -m bench.pgproxy --port P --target 127.0.0.1:5432 --counts FILE

PostGraphile does not report how many SQL statements a request took, so bench/run.py points
a probe instance of it at this relay and reads the count before and after a few requests.
Every simple `Query` and every extended-protocol `Execute` counts, except transaction control
(BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) — as PartnerGraph's own count does. The relay
is only used for that probe, never under load, so it costs the measured throughput nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
from pathlib import Path

CONTROL = ("begin", "commit", "rollback", "savepoint", "release", "start transaction", "end")


class Counter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.statements = 0
        self.control = 0
        self.save()

    def count(self, query: str) -> None:
        if query.strip().lower().startswith(CONTROL):
            self.control += 1
        else:
            self.statements += 1
        self.save()

    def save(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"statements": self.statements, "control": self.control}))
        partial.replace(self.path)  # readers never see half a file


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _client_to_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: Counter
) -> None:
    """Relay the client's messages, reading each one to count what it executes."""
    try:
        while True:  # the startup phase: untyped messages (SSLRequest is refused by the server: 'N')
            head = await reader.readexactly(4)
            body = await reader.readexactly(struct.unpack("!i", head)[0] - 4)
            writer.write(head + body)
            code = struct.unpack("!i", body[:4])[0]
            if code not in (80877103, 80877104):  # not SSL / GSS encryption requests: the startup message
                break
        statements: dict[bytes, str] = {}
        portals: dict[bytes, str] = {}
        while True:
            kind = await reader.readexactly(1)
            head = await reader.readexactly(4)
            body = await reader.readexactly(struct.unpack("!i", head)[0] - 4)
            writer.write(kind + head + body)
            if kind == b"Q":
                counter.count(body.rstrip(b"\0").decode(errors="replace"))
            elif kind == b"P":
                name, rest = body.split(b"\0", 1)
                statements[name] = rest.split(b"\0", 1)[0].decode(errors="replace")
            elif kind == b"B":
                portal, rest = body.split(b"\0", 1)
                portals[portal] = statements.get(rest.split(b"\0", 1)[0], "")
            elif kind == b"E":
                counter.count(portals.get(body.split(b"\0", 1)[0], ""))
            elif kind == b"X":
                break
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int, target: str, counter: Counter) -> None:
    host, target_port = target.rsplit(":", 1)

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(
            _client_to_server(client_reader, server_writer, counter),
            _pipe(server_reader, client_writer),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", default="127.0.0.1:5432")
    parser.add_argument("--counts", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.target, Counter(args.counts)))


if __name__ == "__main__":
    main()
