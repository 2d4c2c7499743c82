"""SLA job over a large history: one run through the indexes vs a naive scan of every open change.

    ECM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/sla_scan.py

Creates a schema of its own (dropped at the end) with 1,000,000 closed historical changes and 10,000
open post-mortems (bulk COPY), then times SLA runs and prints the EXPLAIN ANALYZE of the queries the job asks.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.jira import ADAPTER  # noqa: E402
from connector.mapping import load_mapping  # noqa: E402
from connector.procedure.rules import retroactive_items  # noqa: E402
from connector.services.sla import _horizon, postmortem_alerts, run_sla  # noqa: E402
from connector.store.db import Database  # noqa: E402
from connector.store.facts import change_facts  # noqa: E402
from connector.store.sla import open_postmortems_due, postmortems_due  # noqa: E402
from connector.store.tables import ChangeRow  # noqa: E402
from connector.store.uow import UnitOfWork  # noqa: E402
from tests.integration.jobs.conftest import tool_context  # noqa: E402

URL = os.environ.get("ECM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HISTORY, OPEN = (
    int(os.environ.get("ECM_BENCH_HISTORY", 1_000_000)),
    int(os.environ.get("ECM_BENCH_OPEN", 10_000)),
)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def generate(database: Database) -> None:
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(
            "COPY changes (tool, key, engineer, stage, title, project, created_at, updated_at, version,"
            " pr_url, docs_url, closed_at, postmortem_done_at) FROM STDIN"
        ) as copy:
            for n in range(HISTORY + OPEN):
                closed = n < HISTORY
                created = NOW - timedelta(days=3650 * (HISTORY - n) / HISTORY if closed else 1)
                stage = "closed" if closed else "postmortem"
                pr = "https://git/pr" if closed else "\\N"
                closed_at = created.isoformat() if closed else "\\N"
                done_at = closed_at  # its post-mortem's done time (= its due time below), as the row keeps it
                at = created.isoformat()
                copy.write(
                    f"jira\tEMG-{n}\teng\t{stage}\tchange {n}\tEMG\t{at}\t{at}\t1\t{pr}\t{pr}\t{closed_at}"
                    f"\t{done_at}\n"
                )
        with cursor.copy(
            "COPY postmortems (change_id, key, created_at, due_at, participants, done_at, report_url)"
            " FROM STDIN"
        ) as copy:
            for n in range(HISTORY + OPEN):
                closed = n < HISTORY
                due = (
                    NOW - timedelta(days=3650 * (HISTORY - n) / HISTORY)
                    if closed
                    else NOW
                    + timedelta(
                        minutes=(n - HISTORY) * 26  # open ones: due over the next six months
                    )
                )
                done = due.isoformat() if closed else "\\N"
                report = "https://wiki/pm" if closed else "\\N"
                copy.write(f"{n + 1}\tPM-{n}\t{due.isoformat()}\t{due.isoformat()}\t[]\t{done}\t{report}\n")
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def naive(connector: SimpleNamespace, now: datetime) -> int:
    """Every change that is not closed, with all its facts, asked whether an alert is due."""
    tool = connector.tools["jira"]
    due = 0
    with UnitOfWork(connector.database) as uow:
        for change in uow.session.scalars(select(ChangeRow).where(ChangeRow.closed_at.is_(None))):
            facts = change_facts(change)
            if facts.postmortem and (items := retroactive_items(facts, tool.ctx.policy)):
                due += len(
                    postmortem_alerts(
                        change.key,
                        facts.postmortem.due_at,
                        items,
                        now,
                        tool.ctx.calendar,
                        tool.mapping.reminders,
                    )
                )
    return due


def timed(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    schema = f"ecm_bench_{secrets.token_hex(3)}"
    database = Database(URL, schema=schema)
    admin = create_engine(database.url)
    try:
        database.upgrade()
        started = time.perf_counter()
        generate(database)
        print(
            f"generated {HISTORY:,} historical changes + {OPEN:,} open post-mortems "
            f"in {time.perf_counter() - started:.1f} s"
        )
        tool = SimpleNamespace(
            name="jira",
            mapping=load_mapping(Path("mappings/jira-cloud.yaml")),
            ctx=tool_context("jira"),
            adapter=ADAPTER,
        )
        connector = SimpleNamespace(database=database, clock=lambda: NOW, tools={"jira": tool})
        first = run_sla(connector, NOW)
        print(f"first run: checked {first.checked}, sent {first.sent}")
        indexed = timed(lambda: run_sla(connector, NOW), 20)
        scan = timed(lambda: naive(connector, NOW), 3)
        print(
            f"SLA run via indexes: median {statistics.median(indexed):.1f} ms, p95 "
            f"{sorted(indexed)[int(len(indexed) * 0.95) - 1]:.1f} ms (20 runs)"
        )
        print(f"naive scan of open changes: median {statistics.median(scan):.1f} ms (3 runs)")
        print(f"speed-up: {statistics.median(scan) / statistics.median(indexed):.0f}x")
        horizon = _horizon(tool.ctx.calendar, tool.mapping.reminders.before, NOW)
        queries = [open_postmortems_due(horizon), postmortems_due("jira", horizon, "postgresql")]
        names = ("open post-mortems due (ids, the InitPlan of the next)", "candidates: open and done")
        for name, query in zip(names, queries, strict=True):
            compiled = query.compile(database.engine, compile_kwargs={"literal_binds": True})
            with database.engine.connect() as connection:
                plan = connection.execute(text(f"EXPLAIN ANALYZE {compiled}")).scalars().all()
            print(f"EXPLAIN ANALYZE ({name}):")
            print("\n".join(f"  {line}" for line in plan))
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
