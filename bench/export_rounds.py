"""The population export of one filled PostgreSQL schema, several source trees timed in turn.

    .venv/bin/python bench/export_rounds.py --fill 100000      # once: (re)fill and ANALYZE the schema
    .venv/bin/python bench/export_rounds.py [--rounds 3] [--runs 3] [TREE ...]

Each TREE is a checkout of this repository (default: this one), e.g. the tree before a change:
`git archive <commit> connector bench | tar -x -C /tmp/before`. The schema (`--schema`, default
`ecm_bench_export`) is filled once by `bench/evidence.py`'s fill and kept, so every tree reads the same
rows; every round runs one process per tree, in turn, that times `--runs` streamed exports to a sink.
Each export prints its wall time, this process's CPU and the PostgreSQL backend's CPU (read from /proc,
so on this host only); the medians per tree follow. On a shared machine the CPU figures scatter less than
the wall times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def child(tree: Path, url: str, schema: str, fill: int, runs: int) -> None:
    """In a process of its own: import `tree`'s connector and bench, fill if asked, time the exports."""
    sys.path[:0] = [str(tree), str(tree / "bench")]
    import evidence
    from sqlalchemy import create_engine, text

    from connector.store.db import Database

    if fill:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        database = Database(url, schema=schema)
        database.upgrade()
        evidence.fill(database, fill)
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        return
    database = Database(url, schema=schema)
    for _ in range(runs):
        del evidence.SERVER_CPU[:]
        wall, cpu, rows = evidence.timed(evidence.streamed_export, database)
        server = evidence.SERVER_CPU[-1] if evidence.SERVER_CPU else float("nan")
        print(f"{wall:.2f} {cpu:.2f} {server:.2f} {rows}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--url", default=URL)
    parser.add_argument("--schema", default="ecm_bench_export")
    parser.add_argument("--fill", type=int, default=0, help="(re)fill the schema with this many changes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="exports per process")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.schema, args.fill, args.runs)
        return
    if args.fill:
        run = [sys.executable, __file__, "--child", str(args.trees[0]), "--fill", str(args.fill)]
        subprocess.run([*run, "--url", args.url, "--schema", args.schema], check=True)
        return
    figures: dict[Path, list[list[float]]] = {tree: [] for tree in args.trees}
    for _ in range(args.rounds):
        for tree in args.trees:
            load = os.getloadavg()[0]
            run = [sys.executable, __file__, "--child", str(tree), "--runs", str(args.runs)]
            out = subprocess.run(
                [*run, "--url", args.url, "--schema", args.schema], check=True, capture_output=True, text=True
            ).stdout
            for line in out.split("\n"):
                if line:
                    wall, cpu, server, rows = line.split()
                    figures[tree].append([float(wall), float(cpu), float(server)])
                    print(f"{tree} load {load:.2f} wall {wall} s CPU {cpu} s backend {server} s rows {rows}")
    for tree, runs in figures.items():
        wall, cpu, server = (statistics.median(column) for column in zip(*runs, strict=True))
        print(
            f"{tree}: {len(runs)} exports, medians: wall {wall:.2f} s, CPU {cpu:.2f} s, backend {server:.2f}"
        )


if __name__ == "__main__":
    main()
