"""Outbox benchmark: actions dispatched per second against the Jira sandbox, without and with injected
faults, in one run.

    .venv/bin/python bench/outbox.py [--actions 300] [--changes 20] [--fault-rate 0.2]
                                     [--database-url URL]   # default: SQLite in a temporary directory

One `JiraStack` (sandbox, service, installed workflow); its own dispatcher loop is stopped. `--changes`
emergency changes are raised in Jira by a person and registered through webhooks; their own start-up
actions are drained first. Then, per phase, `--actions` outbox rows (comment, notify, update_fields in
turn, over the changes) are inserted directly and `Dispatcher.run` is timed until none is pending,
scheduled retries included. The faulty phase fails `--fault-rate` of the connector's calls, half 429
with Retry-After: 1, half 503. A PostgreSQL URL is used as given (its schema must be migrated).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.demo.stack import JiraStack  # noqa: E402
from connector.dispatch import Dispatcher  # noqa: E402
from connector.jira.gateway import JiraGateway  # noqa: E402
from connector.outbox import Action, Comment, Notify, Target, UpdateFields  # noqa: E402
from connector.store.tables import OutboxRow  # noqa: E402
from connector.store.uow import UnitOfWork  # noqa: E402
from sandbox.jira.faults import Faults  # noqa: E402

CONNECTOR_PATHS = ("/rest/api/2/*", "/rest/api/3/search/jql", "/rest/api/3/group/member")


def actions(key: str, n: int, groups: list[str]) -> list[Action]:
    return [
        Comment(f"Benchmark note {n}"),
        Notify("notify", f"[{key}] benchmark {n}", "…", groups=tuple(groups)),
        UpdateFields({"pr_url": f"https://git.example.com/pr/{n}"}),
    ]


def prefill(stack: JiraStack, keys: list[str], count: int, phase: str) -> None:
    connector = stack.connector
    groups = [connector.tools["jira"].mapping.groups.leads]
    now = connector.clock()
    with UnitOfWork(connector.database) as uow:
        rows = {key: uow.changes.get("jira", key) for key in keys}
        for n in range(count):
            key = keys[n % len(keys)]
            uow.outbox.add(
                tool="jira",
                target=Target(key, rows[key].remote_id),
                action=actions(key, n, groups)[n % 3],
                idempotency_key=f"bench:{phase}:{n}",
                change_id=rows[key].id,
                now=now,
            )
        uow.commit()


def pending(stack: JiraStack) -> int:
    with UnitOfWork(stack.connector.database) as uow:
        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        return uow.session.scalar(query) or 0


def drain(stack: JiraStack) -> tuple[float, int, int]:
    """Seconds until no row is pending; rows retried (scheduled) and dead on the way."""
    dispatcher = Dispatcher(stack.connector, clock=stack.connector.clock)
    started, retried, dead = time.perf_counter(), 0, 0
    while True:
        report = dispatcher.run(limit=1000)
        retried, dead = retried + report.retried, dead + report.dead
        if not report.total:
            if not pending(stack):
                return time.perf_counter() - started, retried, dead
            time.sleep(0.05)  # only rows waiting for a scheduled retry are left


def raise_changes(stack: JiraStack, count: int) -> list[str]:
    person = JiraGateway(stack.sandbox.url, user="eng.emma@example.com", token="eng.emma")
    section = stack.connector.tools["jira"].mapping.jira
    keys = [
        person.create_issue(section.project, section.issue_types.change, f"Outage {n}", "")
        for n in range(count)
    ]

    def known() -> bool:
        with UnitOfWork(stack.connector.database) as uow:
            return all(uow.changes.get("jira", key) is not None for key in keys)

    assert stack.settle(known, timeout=60), "the changes were not registered"
    return keys


def faults(rate: float) -> Faults:
    half = rate / 2
    rules = [
        {"path": p, "kind": "status", "status": 429, "retry_after": 1, "rate": half} for p in CONNECTOR_PATHS
    ]
    rules += [
        {"path": p, "kind": "status", "status": 503, "rate": half / (1 - half)} for p in CONNECTOR_PATHS
    ]
    return Faults.from_dict({"seed": 1, "rules": rules})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, JiraStack(Path(tmp), database_url=args.database_url) as stack:
        stack.dispatch.stop()
        keys = raise_changes(stack, args.changes)
        drain(stack)  # the changes' own notifications
        print(f"{'phase':<22}{'actions':>8}{'seconds':>9}{'actions/s':>11}{'retried':>9}{'dead':>6}")
        for phase, rate in (
            ("no faults", 0.0),
            (f"{rate_text(args.fault_rate)} faults 429/503", args.fault_rate),
        ):
            stack.sandbox.faults.replace(faults(rate) if rate else Faults())
            prefill(stack, keys, args.actions, phase)
            seconds, retried, dead = drain(stack)
            rate_per_second = args.actions / seconds
            print(f"{phase:<22}{args.actions:>8}{seconds:>9.2f}{rate_per_second:>11.1f}{retried:>9}{dead:>6}")


def rate_text(rate: float) -> str:
    return f"{rate:.0%}"


if __name__ == "__main__":
    main()
