"""python -m bench run [--scale small|medium|large|all] [--db sqlite|postgresql] [...]: see bench/run.py.

python -m bench run                      # the smallest scale on both databases
python -m bench run --scale all          # 1k, 10k and 100k customers (builds the datasets once)
python -m bench dataset --scale large --db postgresql   # only build a dataset
python -m bench profile --scenario portal  # CPU per request in-process (bench/profile.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from bench import dataset, profile, report, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description="PartnerGraph's benchmark harness.")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the scenarios and write bench/results/<date>.*")
    run.add_arguments(run_parser)
    build = commands.add_parser("dataset", help="build (or find) one dataset and print its URL")
    build.add_argument("--scale", choices=list(dataset.SCALES), default="small")
    build.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    measure = commands.add_parser("profile", help="CPU per request through the app, in-process (A/B a change)")
    profile.add_arguments(measure)
    doc = commands.add_parser("doc", help="put the latest results' tables into docs/performance.md")
    doc.add_argument("--results", type=Path, help="a results file (default: the newest in bench/results)")
    args = parser.parse_args()
    if args.command == "run":
        path = run.run(run.normalize(args))
        if args.update_doc:
            print(report.update_doc(path))
    elif args.command == "profile":
        print(json.dumps(profile.run(args)))
    elif args.command == "doc":
        print(report.update_doc(args.results or report.latest(run.RESULTS_DIR)))
    else:
        print(asyncio.run(dataset.build(args.db, args.scale)))


if __name__ == "__main__":
    main()
