"""Evidence benchmark: the population export of N changes (CSV) and the dashboard's first page with M open
changes, each compared in the same run with a naive baseline.

    .venv/bin/python bench/evidence.py [--changes 100000] [--open 10000] [--repeat 5] [--runs 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--export-only] [--no-naive]

Export: streamed (`yield_per`, rows written as they come) against the naive way (load every change with
its approvals, reviews and post-mortem into a list, build every row, then write). Time is wall clock
without tracing; peak memory is measured in a second pass under tracemalloc, at N/10 and N changes, so
that growth with N shows. Dashboard: GET /dashboard through the Flask app with a logged-in session, median
of --repeat requests, against a naive page that judges every open change. SQLite file in a temp dir, or
with --url a PostgreSQL database, in schemas of their own (`ecm_bench_<random>_<name>`) dropped at the end.
After a fill the tables are analyzed (`ANALYZE`), as autovacuum keeps them in a production database: a
server with autovacuum off would otherwise plan the export's queries without statistics.
--runs times the streamed export that many times and reports the median (the machine may be busy).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import selectinload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.config import Settings  # noqa: E402
from connector.evidence.population import csv_chunks, population  # noqa: E402
from connector.evidence.rulebook import RuleBook  # noqa: E402
from connector.store.db import Database  # noqa: E402
from connector.store.facts import change_facts, violation_facts  # noqa: E402
from connector.store.tables import (  # noqa: E402
    ApprovalRow,
    ChangeRow,
    DeployRow,
    PostMortemRow,
    ReviewRow,
    ViolationRow,
)

NOW = datetime(2026, 12, 31, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "bench-admin-token"
STAGES = ("identified", "awaiting_approval", "approved", "in_review", "reviewed", "deployed", "postmortem")


def fill(database: Database, count: int, *, open_only: bool = False, batch: int = 5000) -> None:
    """`count` changes spread over 2026: most closed with two approvals, two reviews and a post-mortem."""
    step = (NOW - START) / count
    with database.engine.begin() as conn:
        for first in range(0, count, batch):
            changes, approvals, reviews, postmortems, violations = [], [], [], [], []
            for n in range(first, min(first + batch, count)):
                created = START + step * n
                closed = not open_only and n % 10 != 0
                deployed = created + timedelta(hours=6) if closed or n % 3 == 0 else None
                changes.append(
                    {
                        "id": n + 1,
                        "tool": "jira",
                        "key": f"EMG-{n + 1}",
                        "url": f"https://jira.example.com/browse/EMG-{n + 1}",
                        "project": f"P{n % 7}",
                        "team": f"team-{n % 5}",
                        "title": f"Outage {n}",
                        "engineer": f"eng{n % 40}",
                        "stage": "closed" if closed else ("deployed" if deployed else STAGES[n % 5]),
                        "category": "Service outage",
                        "impact": "customers affected",
                        "created_at": created,
                        "notified_at": created,
                        "deployed_at": deployed,
                        "updated_at": created,
                        "version": 1,
                        "pr_url": "https://git.example.com/pr/1" if closed else None,
                        "docs_url": "https://wiki.example.com/d/1" if closed else None,
                        "closed_at": created + timedelta(days=2) if closed else None,
                    }
                )
                if (
                    n % 20 == 7 or n % 100 == 42
                ):  # one change in 20 had a step blocked, one in 100 one found late
                    violations.append(
                        {
                            "change_id": n + 1,
                            "at": created + timedelta(minutes=30),
                            "actor": f"eng{n % 40}",
                            "from_stage": "raised",
                            "to_stage": "approved",
                            "rules": ["R1"],
                            "details": [{"rule": "R1", "step": 1, "message": "no approvals", "missing": []}],
                            "reverted": n % 20 == 7,
                            "found_late": n % 100 == 42,
                        }
                    )
                if deployed:
                    for role, who in (("lead", f"lead{n % 6}"), ("security", f"sec{n % 4}")):
                        approvals.append(
                            {
                                "change_id": n + 1,
                                "approver": who,
                                "role": role,
                                "method": "written",
                                "granted_at": created + timedelta(hours=1),
                                "recorded_by": who,
                                "evidence": "comment:1",
                            }
                        )
                    for kind in ("peer", "security"):
                        reviews.append(
                            {
                                "change_id": n + 1,
                                "reviewer": f"rev{n % 9}",
                                "kind": kind,
                                "at": created + timedelta(hours=2),
                                "evidence": "comment:2",
                            }
                        )
                    postmortems.append(
                        {
                            "change_id": n + 1,
                            "key": f"PM-{n + 1}",
                            "created_at": deployed,
                            "due_at": deployed + timedelta(days=3),
                            "assignee": f"eng{n % 40}",
                            "participants": [],
                            "done_at": deployed + timedelta(days=1) if closed else None,
                            "report_url": "https://wiki.example.com/pm/1" if closed else None,
                        }
                    )
            conn.execute(insert(ChangeRow.__table__), changes)
            children = (
                (ApprovalRow, approvals),
                (ReviewRow, reviews),
                (PostMortemRow, postmortems),
                (ViolationRow, violations),
            )
            for table, rows in children:
                if rows:
                    conn.execute(insert(table.__table__), rows)
    analyze(database)


def analyze(database: Database) -> None:
    """The planner's statistics of the filled tables (autovacuum's work, where it runs)."""
    read = (
        ChangeRow,
        ApprovalRow,
        ReviewRow,
        PostMortemRow,
        ViolationRow,
        DeployRow,
    )  # what the export reads
    tables = [t.__table__.name for t in read]
    with database.engine.begin() as conn:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


SERVER_CPU: list[float] = []  # the database server's CPU seconds of each streamed export, when readable


def streamed_export(database: Database, out: io.TextIOBase) -> int:
    with database.session() as session:
        backend = _backend(session)
        before = _cpu_of(backend)
        for chunk in csv_chunks(population(session, START, NOW, RuleBook(clock=lambda: NOW))):
            out.write(chunk)
        if before is not None and (after := _cpu_of(backend)) is not None:
            SERVER_CPU.append(after - before)
        return out.lines - 1  # less the header


def _backend(session) -> int | None:
    """The PostgreSQL backend's process id (on this host, its CPU time is in /proc); None on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _cpu_of(pid: int | None) -> float | None:
    """User + system CPU seconds of a process on this host (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def naive_export(database: Database, out: io.TextIOBase) -> int:
    """The obvious way: every change with its children in a list, then every row, then the file."""
    from connector.evidence.population import COLUMNS, compliance

    book = RuleBook(clock=lambda: NOW)
    with database.session() as session:
        rows = list(
            session.scalars(
                select(ChangeRow).options(
                    selectinload(ChangeRow.approvals),
                    selectinload(ChangeRow.reviews),
                    selectinload(ChangeRow.postmortem),
                )
            )
        )
        lines = []
        for row in rows:
            facts = change_facts(row)
            status, reasons = compliance(facts.stage, book.judge(facts, NOW, violation_facts([])))
            lines.append([row.tool, row.key, row.title, row.stage, status, reasons])
        out.write(",".join(COLUMNS) + "\n")
        for line in lines:
            out.write(",".join(map(str, line)) + "\n")
        return len(lines)


class Sink(io.TextIOBase):
    """Counts what is written and keeps none of it (so the writer's memory is what is measured)."""

    def __init__(self) -> None:
        self.size = self.lines = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        self.lines += text.count("\n")  # the synthetic changes have no line break inside a cell
        return len(text)


def timed(run, database) -> tuple[float, float, int]:
    """Wall clock and this process's CPU seconds of one run, and the rows it wrote."""
    start, cpu = time.perf_counter(), time.process_time()
    rows = run(database, Sink())
    return time.perf_counter() - start, time.process_time() - cpu, rows


def peak(run, database) -> float:
    tracemalloc.start()
    run(database, Sink())
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top / 2**20


class Databases:
    """Fresh migrated databases: SQLite files in `directory`, or schemas of their own under `url`."""

    def __init__(self, directory: Path, url: str | None) -> None:
        self.directory, self.url, self.schemas = directory, url, []
        self.tag = secrets.token_hex(3)

    def fresh(self, name: str) -> Database:
        if self.url is None:
            database = Database(f"sqlite:///{self.directory / name}.sqlite3")
        else:
            self.schemas.append(f"ecm_bench_{self.tag}_{name}")
            database = Database(self.url, schema=self.schemas[-1])
        database.upgrade()
        return database

    def drop(self) -> None:
        if not self.schemas:
            return
        engine = create_engine(self.url)
        with engine.begin() as connection:
            for schema in self.schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def bench_export(databases: Databases, count: int, runs: int, naive: bool) -> None:
    small, large = databases.fresh("small"), databases.fresh("large")
    fill(small, count // 10)
    fill(large, count)
    print(f"Population export, CSV, {count:,} changes on {large.dialect}", end=" ")
    print(f"(memory at {count // 10:,} and {count:,}):")
    for name, run in (("streamed", streamed_export), ("naive", naive_export))[: 2 if naive else 1]:
        times, cpus, load = [], [], os.getloadavg()[0]
        del SERVER_CPU[:]
        for _ in range(runs if name == "streamed" else 1):
            seconds, cpu, rows = timed(run, large)
            assert rows == count, (name, rows)
            times.append(seconds)
            cpus.append(cpu)
        seconds = statistics.median(times)
        each = f" (runs {', '.join(f'{t:.2f}' for t in times)})" if len(times) > 1 else ""
        server = f", database server {statistics.median(SERVER_CPU):.2f} s" if SERVER_CPU else ""
        print(
            f"  {name:9} {seconds:6.2f} s  {count / seconds:8,.0f} rows/s  "
            f"peak {peak(run, small):7.1f} MiB -> {peak(run, large):7.1f} MiB{each}"
        )
        print(
            f"  {'':9} CPU median: this process {statistics.median(cpus):.2f} s{server}; "
            f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
        )


def bench_dashboard(databases: Databases, count: int, repeat: int) -> None:
    from connector.web.app import create_app

    database = databases.fresh("dashboard")
    fill(database, count, open_only=True)
    connector = SimpleNamespace(
        settings=Settings(admin_token=TOKEN), database=database, tools={}, clock=lambda: NOW
    )
    client = create_app(connector, config={"TESTING": True}).test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/dashboard", headers=headers).status_code == 200  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get("/dashboard", headers=headers)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    naive = []
    for _ in range(max(1, repeat // 2)):
        start = time.perf_counter()
        naive_export(database, Sink())  # judging every open change, as a page that evaluates all would
        naive.append(time.perf_counter() - start)
    print(f"Dashboard first page, {count:,} open changes ({repeat} requests):")
    print(f"  /dashboard  median {statistics.median(times) * 1000:6.1f} ms  max {max(times) * 1000:6.1f} ms")
    print(f"  naive (judge every open change) median {statistics.median(naive) * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1, help="streamed export runs; the median is reported")
    parser.add_argument(
        "--url", "--database-url", dest="url", help="a PostgreSQL URL (default: SQLite files in a temp dir)"
    )
    parser.add_argument("--export-only", action="store_true", help="skip the dashboard")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecm-bench-") as directory:
        databases = Databases(Path(directory), args.url)
        try:
            bench_export(databases, args.changes, max(1, args.runs), not args.no_naive)
            if not args.export_only:
                bench_dashboard(databases, args.open, args.repeat)
        finally:
            databases.drop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"Peak RSS of the whole run (fill, exports, tracing passes): {peak_rss:,.0f} MiB")


if __name__ == "__main__":
    main()
