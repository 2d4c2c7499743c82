"""CPU of one population export, several source trees compared in the same run, in turn.

    .venv/bin/python bench/evidence_cpu.py [--changes 20000] [--rounds 5] [TREE ...]

Each TREE is a checkout of this repository (default: this one), e.g. the tree before a change:
`git archive <commit> | tar -x -C /tmp/before`. Each tree fills a SQLite file of its own once (its own
migrations and `bench/evidence.py` fill, the same synthetic changes), then every round runs one process
per tree, in turn, that times three exports of `population()` to a sink and keeps the best. The figure
is process time (CPU), not wall clock: on a machine shared with other work, wall times scatter with the
load and CPU time much less. The best of the rounds is reported per tree, with every round's figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(tree: Path, database: Path, fill: int, runs: int) -> None:
    """In a process of its own: import `tree`'s connector, fill if asked, print the best export CPU."""
    sys.path.insert(0, str(tree))
    spec = importlib.util.spec_from_file_location("tree_bench", tree / "bench" / "evidence.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from connector.store.db import Database

    db = Database(f"sqlite:///{database}")
    if fill:
        db.upgrade()
        bench.fill(db, fill)
    times = []
    for _ in range(runs):
        start = time.process_time()
        bench.streamed_export(db, bench.Sink())
        times.append(time.process_time() - start)
    print(min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)  # tree, database, fill, runs
    args = parser.parse_args()
    if args.child:
        tree, database, fill, runs = args.child
        child(Path(tree).resolve(), Path(database), int(fill), int(runs))
        return
    trees = [tree.resolve() for tree in args.trees]
    with tempfile.TemporaryDirectory(prefix="ecm-bench-cpu-") as directory:
        files = {tree: Path(directory) / f"{n}.sqlite3" for n, tree in enumerate(trees)}

        def run(tree: Path, fill: int, runs: int) -> float:
            command = [sys.executable, __file__, "--child", str(tree), str(files[tree]), str(fill), str(runs)]
            out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tree)
            return float(out.stdout.split()[-1])

        for tree in trees:
            run(tree, args.changes, 1)
        figures: dict[Path, list[float]] = {tree: [] for tree in trees}
        for _ in range(args.rounds):
            for tree in trees:
                figures[tree].append(run(tree, 0, 3))
    print(f"Population export, CSV, {args.changes:,} changes on SQLite, CPU seconds (best of 3 per round):")
    for tree, times in figures.items():
        print(f"  {str(tree):40} best {min(times):5.2f} s  (rounds {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
