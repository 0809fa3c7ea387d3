"""Serve the raw-SQL baseline (bench/raw_app.py) the way `partnergraph serve --workers N` serves
PartnerGraph: one acceptor handing each connection to the worker holding the fewest, and nothing
accepted before every worker is up (graph/workers.py).

    python -m bench.raw_serve --port P --workers N

Served by plain `uvicorn --workers N` (one shared listening socket), whichever worker was idle
took the load generator's connections: in the runs of 2026-11-25 the raw-SQL portal swung
between 303 and 1,044 pages/s, and node lookups between 1,663 and 3,081/s, with the split. The
ratio to raw SQL is meant to measure GraphQL, not how connections landed.
"""

from __future__ import annotations

import argparse

import uvicorn

from graph import workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = uvicorn.Config(
        "bench.raw_app:app", host=args.host, port=args.port, workers=args.workers, log_level="warning", access_log=False
    )
    if args.workers == 1:
        uvicorn.Server(config).run()
    else:
        workers.run(config)


if __name__ == "__main__":
    main()
