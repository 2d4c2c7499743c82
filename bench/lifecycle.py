"""Lifecycle benchmark: many emergency changes at once through the Jira sandbox, each a full lifecycle
without violations, against the connector's web service and outbox dispatcher (one `JiraStack`).

    .venv/bin/python bench/lifecycle.py [--rate 20] [--count 200] [--max-seconds 120] [--baseline 5]
                                        [--database-url URL]   # default: SQLite in a temporary directory
                                        [--target jira|servicenow]   # servicenow: lifecycle_servicenow.py
                                        [--processes [--rate 1,5,10,20 --duration 10]]   # as deployed

With `--processes` (`DeployedStack`, `DeployedBench`) the sandbox, `ecm serve` and `ecm jobs` are processes
of their own and this one plays the people; the figures then come from Jira and the database after the
run (see `DeployedBench`), with the time by leg and each process's CPU per lifecycle.

Reports, for a baseline (lifecycles one after another, nothing else running) and for the loaded run
(`--count` lifecycles started at `--rate` per second from a thread pool):
- deploy → post-mortem: from the moment the sandbox emitted the `jira:issue_updated` event with status
  Deployed (the webhook is queued there) to the moment the Post-Mortem issue was created in Jira, and to
  the moment it was linked; both taken from the sandbox's own event hook in-process, no HTTP polling;
- Jira REST calls per lifecycle, the connector's (authenticated as ecm-bot) apart from the people's,
  counted per endpoint by a WSGI middleware around the sandbox app.
A PostgreSQL URL runs in a schema of its own (`bench_<random>`), dropped at the end.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONNECTOR_USER = "ecm-bot"
PM_LABEL = "ecm-postmortem-"


# --- pure helpers -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least the first
    return ordered[int(min(rank, len(ordered))) - 1]


def caller(authorization: str) -> str:
    """The user name behind a Basic (name or <name>@example.com) or Bearer pat-<name> credential."""
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credential.removeprefix("pat-") or "?"
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credential).decode().partition(":")[0]
        except ValueError:
            return "?"
        return user.removesuffix("@example.com") or "?"
    return "anonymous"


@dataclass
class RunResult:
    name: str
    started: int = 0
    completed: int = 0
    violations: int = 0
    not_closed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    to_created_ms: list[float] = field(default_factory=list)
    to_linked_ms: list[float] = field(default_factory=list)
    connector_calls: Counter[str] = field(default_factory=Counter)
    people_calls: Counter[str] = field(default_factory=Counter)
    max_webhook_backlog: int | None = 0
    deliveries: int | None = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU used during the run, by process
    drained_seconds: float = 0.0  # from the first start to the webhooks and outbox drained
    max_outbox_backlog: int = 0  # outbox rows pending, largest seen every 0.25 s
    outbox_rows: int = 0  # outbox rows written during the run
    webhook_view_ms: float | None = None  # ecm serve's mean time in the Jira webhook view (--processes)
    stages_ms: dict[str, list[float]] = field(default_factory=dict)  # deploy -> post-mortem, by leg

    def per_lifecycle(self, calls: Counter[str]) -> float:
        return sum(calls.values()) / self.started if self.started else 0.0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_report(results: list[RunResult]) -> str:
    """The summary table and the connector's calls per lifecycle by endpoint, as Markdown."""
    lines = [
        "| run | started | closed clean | violations | lifecycles/s | PM created p50 / p99 / max ms "
        "| PM linked p50 / p99 ms | connector calls / lifecycle | people calls / lifecycle "
        "| webhooks / lifecycle | max webhook backlog | outbox rows / lifecycle | max outbox backlog |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        created, linked = r.to_created_ms, r.to_linked_ms
        lines.append(
            f"| {r.name} | {r.started} | {r.completed} | {r.violations} "
            f"| {r.started / r.seconds if r.seconds else 0:.1f} "
            f"| {_ms(percentile(created, 50))} / {_ms(percentile(created, 99))} / "
            f"{_ms(max(created, default=None))} "
            f"| {_ms(percentile(linked, 50))} / {_ms(percentile(linked, 99))} "
            f"| {r.per_lifecycle(r.connector_calls):.1f} | {r.per_lifecycle(r.people_calls):.1f} "
            f"| {_per(r.deliveries, r.started)} | {_or_dash(r.max_webhook_backlog)} "
            f"| {_per(r.outbox_rows, r.started)} | {r.max_outbox_backlog} |"
        )
    endpoints = sorted({e for r in results for e in r.connector_calls})
    names = " | ".join(r.name for r in results)
    lines += ["", f"| connector endpoint (calls per lifecycle) | {names} |"]
    lines.append("|---|" + "---:|" * len(results))
    for endpoint in endpoints:
        cells = " | ".join(
            f"{r.connector_calls[endpoint] / r.started:.2f}" if r.started else "-" for r in results
        )
        lines.append(f"| `{endpoint}` | {cells} |")
    legs = list(dict.fromkeys(leg for r in results for leg in r.stages_ms))
    if legs:
        lines += ["", f"| deploy → post-mortem, by leg (p50 / p99 ms) | {names} |"]
        lines.append("|---|" + "---:|" * len(results))
        for leg in legs:
            cells = " | ".join(
                f"{_ms(percentile(times, 50))} / {_ms(percentile(times, 99))}"
                for times in (r.stages_ms.get(leg, []) for r in results)
            )
            lines.append(f"| {leg} | {cells} |")
        views = " | ".join(_ms(r.webhook_view_ms) for r in results)
        lines.append(f"| ecm serve: mean time in the Jira webhook view (ms) | {views} |")
    processes = list(dict.fromkeys(p for r in results for p in r.cpu_seconds))
    lines += ["", f"| CPU seconds per lifecycle (share of the run's wall time × 2 cores) | {names} |"]
    lines.append("|---|" + "---:|" * len(results))
    for process in processes:
        cells = " | ".join(_cpu(r, process) for r in results)
        lines.append(f"| {process} | {cells} |")
    for r in results:
        lines += [f"{r.name}: error: {e}" for e in r.errors[:5]]
    return "\n".join(lines)


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _per(count: int | None, started: int) -> str:
    return "-" if count is None or not started else f"{count / started:.1f}"


def _cpu(r: RunResult, process: str) -> str:
    seconds = r.cpu_seconds.get(process)
    if seconds is None or not r.started:
        return "-"
    share = seconds / (r.drained_seconds * 2) if r.drained_seconds else 0.0
    return f"{seconds / r.started:.3f} ({share:.0%})"


# --- instruments around the stack ---------------------------------------------------------------------


class CallCounter:
    """WSGI middleware around the sandbox app: requests counted by (user, "METHOD /route")."""

    def __init__(self, app: Callable[..., Any], url_map: Any) -> None:
        self.app, self.url_map = app, url_map
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            rule, args = self.url_map.bind_to_environ(environ).match(return_rule=True)
            route = rule.rule.replace("<any('2','3'):version>", str(args.get("version", "")))
            route = route.replace("<table>", str(args.get("table", "<table>")))
        except Exception:  # noqa: BLE001 - an unknown route is counted by its path
            route = environ.get("PATH_INFO", "")
        key = (caller(environ.get("HTTP_AUTHORIZATION", "")), f"{environ['REQUEST_METHOD']} {route}")
        with self.lock:
            self.counts[key] += 1
        return self.app(environ, start_response)

    def split(self) -> tuple[Counter[str], Counter[str]]:
        """(the connector's calls, everyone else's) by endpoint, so far."""
        connector: Counter[str] = Counter()
        people: Counter[str] = Counter()
        with self.lock:
            for (user, endpoint), n in self.counts.items():
                (connector if user == CONNECTOR_USER else people)[endpoint] += n
        return connector, people


class EventWatch:
    """Wraps the sandbox's event hook (called with the state lock held): when each change entered
    Deployed, and when its Post-Mortem issue was created and linked. Waiters wake on creation."""

    def __init__(self, state: Any, deployed: str) -> None:
        self.state, self.deployed = state, deployed
        self.deployed_at: dict[str, float] = {}
        self.created_at: dict[str, float] = {}
        self.linked_at: dict[str, float] = {}
        self.pm_key: dict[str, str] = {}
        self.ready = threading.Condition(threading.Lock())
        self._emit = state.emit
        state.emit = self._on_event

    def _on_event(self, event: dict[str, Any]) -> None:
        now = time.perf_counter()
        issue = self.state.issues.get(event.get("issue_id"))
        kind = event.get("event")
        if issue is not None and kind == "jira:issue_updated" and event.get("changelog"):
            if any(
                i.get("fieldId") == "status" and i.get("toString") == self.deployed
                for i in event["changelog"].get("items", [])
            ):
                self.deployed_at.setdefault(issue.key, now)
        elif issue is not None and kind == "jira:issue_created":
            for label in issue.fields.get("labels") or []:
                if label.startswith(PM_LABEL):
                    change = label.removeprefix(PM_LABEL).upper()
                    with self.ready:
                        self.created_at.setdefault(change, now)
                        self.pm_key.setdefault(change, issue.key)
                        self.ready.notify_all()
        elif kind == "issuelink_created":
            link = event["link"]
            for end in (link.inward, link.outward):
                found = self.state.issues.get(end)
                if found is not None and found.key in self.deployed_at:
                    self.linked_at.setdefault(found.key, now)
        self._emit(event)

    def wait_postmortem(self, change: str, timeout: float) -> str | None:
        with self.ready:
            self.ready.wait_for(lambda: change in self.pm_key, timeout)
            return self.pm_key.get(change)


# --- the lifecycle driver -----------------------------------------------------------------------------


@dataclass
class Target:
    """What the people need of a stack: Jira's URL, the mapping's Jira section and field ids, and the
    connector's database (read where two issues meet)."""

    jira_url: str
    section: Any
    field_ids: dict[str, str]
    engine: Any

    @classmethod
    def of(cls, stack: Any) -> Target:
        tool = stack.connector.tools["jira"]
        return cls(
            stack.sandbox.url, tool.mapping.jira, tool.actions.field_ids, stack.connector.database.engine
        )


class Lifecycle:
    """One emergency change from raise to close as the seeded people, with no violation. Webhooks of one
    issue are delivered in order, so the people wait for the connector only where two issues meet: the
    post-mortem's creation, and its Done before the change is closed. With a `watch` (in process) the
    post-mortem's creation is seen on the sandbox's event hook; without one, in the connector's database
    (the post-mortem's key recorded), every 20 ms."""

    def __init__(
        self, target: Target, watch: EventWatch | None, poll: float = 0.02, offer: float = 0.05
    ) -> None:
        self.target, self.watch = target, watch
        self.section, self.field_ids = target.section, target.field_ids
        self.local = threading.local()
        self.poll, self.offer = poll, offer  # seconds between looks: the database, Jira's transitions
        self.keys: list[str] = []  # every change raised, in order

    def person(self, name: str) -> Any:
        from connector.jira.gateway import JiraGateway

        people = self.local.__dict__.setdefault("people", {})
        if name not in people:
            people[name] = JiraGateway(self.target.jira_url, user=f"{name}@example.com", token=name)
        return people[name]

    def move(self, who: str, key: str, status: str, deadline: float | None = None) -> None:
        """Take the transition to `status`; until `deadline`, wait (every 50 ms) while Jira does not offer it
        yet (Deploy and Close open once the connector has set the change's gate field)."""
        gateway = self.person(who)
        while True:
            chosen = next((t for t in gateway.transitions(key) if t.to_status == status), None)
            if chosen is not None:
                break
            if deadline is None or time.perf_counter() > deadline:
                raise RuntimeError(f"{who} is offered no transition of {key} to {status}")
            time.sleep(self.offer)
        gateway.transition(key, chosen.id)

    def comment(self, who: str, key: str, text: str) -> None:
        self.person(who).add_comment(key, text)

    def run(self, number: int, deadline: float) -> str:
        s, f = self.section.statuses, self.field_ids
        key = self.person("eng.emma").create_issue(
            self.section.project,
            self.section.issue_types.change,
            f"Bench change {number}: checkout API returns 500",
            "Connection pool exhausted after the release.",
            fields={f["category"]: {"value": "Service outage"}, f["impact"]: "Checkout fails in the EU."},
        )
        self.keys.append(key)
        self.move("eng.emma", key, s.awaiting_approval)
        self.comment("lead.liam", key, "/approve")
        self.comment("sec.sara", key, "/approve")
        self.move("lead.liam", key, s.approved)
        self.move("eng.emma", key, s.in_review)
        self.comment("peer.pete", key, "/peer-reviewed")
        self.comment("sec.sara", key, "/security-reviewed")
        self.move("eng.emma", key, s.reviewed)
        self.move("eng.emma", key, s.deployed, deadline)
        if self.watch is not None:
            pm = self.watch.wait_postmortem(key, max(0.0, deadline - time.perf_counter()))
        else:
            pm = self._recorded(key, deadline)
        if pm is None or not self._known(key, pm, deadline):
            raise TimeoutError(f"{key}: no post-mortem recorded before the deadline")
        self.comment("eng.emma", key, f"/pr https://git.example.com/acme/checkout/pull/{number}")
        self.comment("eng.emma", key, f"/docs https://wiki.example.com/changes/{number}")
        self.move("eng.emma", key, s.postmortem)
        self.person("eng.emma").edit_issue(pm, {f["report_url"]: f"https://wiki.example.com/pm/{number}"})
        self.move("eng.emma", pm, self.section.postmortem_statuses.done)
        if not self._done(key, deadline):
            raise TimeoutError(f"{key}: post-mortem not recorded done before the deadline")
        self.move("eng.emma", key, s.closed, deadline)
        return key

    def _known(self, key: str, pm: str, deadline: float) -> bool:
        """The connector recorded the post-mortem (else marking it done could outrun that record)."""
        from connector.store.tables import ChangeRow, PostMortemRow

        query = select(PostMortemRow.key).join(ChangeRow).where(ChangeRow.key == key)
        return self._until(lambda connection: connection.scalar(query) == pm, deadline)

    def _recorded(self, key: str, deadline: float) -> str | None:
        """The post-mortem's key once the connector recorded it (created in Jira); None at the deadline."""
        from connector.store.tables import ChangeRow, PostMortemRow

        query = select(PostMortemRow.key).join(ChangeRow).where(ChangeRow.key == key)
        while time.perf_counter() < deadline:
            with self.target.engine.connect() as connection:
                if pm := connection.scalar(query):
                    return pm
            time.sleep(self.poll)
        return None

    def _done(self, key: str, deadline: float) -> bool:
        """The connector recorded the post-mortem done: webhooks of two issues may arrive in any order
        (as in Jira Cloud), so closing the change must not outrun the post-mortem's Done."""
        from connector.store.tables import ChangeRow, PostMortemRow

        query = select(PostMortemRow.done_at).join(ChangeRow).where(ChangeRow.key == key)
        return self._until(lambda connection: connection.scalar(query) is not None, deadline)

    def _until(self, check: Callable[[Any], bool], deadline: float) -> bool:
        while time.perf_counter() < deadline:
            with self.target.engine.connect() as connection:
                if check(connection):
                    return True
            time.sleep(self.poll)
        return False


# --- runs ---------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, stack: Any, max_seconds: float) -> None:
        self.stack, self.max_seconds = stack, max_seconds
        app = stack.sandbox.app
        self.counter = CallCounter(app.wsgi_app, app.url_map)
        app.wsgi_app = self.counter
        deployed = stack.connector.tools["jira"].mapping.jira.statuses.deployed
        self.watch = EventWatch(stack.sandbox.state, deployed)
        self.lifecycle = Lifecycle(Target.of(stack), self.watch)

    def run(self, name: str, count: int, rate: float | None, threads: int = 64) -> RunResult:
        """`count` lifecycles, one after another (rate None) or started at `rate` per second."""
        result = RunResult(name)
        before = self.calls()
        cpu = self.cpu()
        delivered = self.deliveries()
        start = time.perf_counter()
        deadline = start + self.max_seconds
        backlog = _Sampler(self.backlog)
        outbox = _Sampler(self.outbox_pending)
        rows = self.outbox_rows()
        keys: list[str] = []

        def one(number: int) -> None:
            try:
                keys.append(self.lifecycle.run(number, deadline))
            except Exception as error:  # noqa: BLE001 - counted and reported
                result.errors.append(f"{type(error).__name__}: {error}")

        with ThreadPoolExecutor(max_workers=1 if rate is None else threads) as pool:
            for number in range(count):
                planned = start + (number / rate if rate else 0.0)
                if planned > deadline or (rate is None and time.perf_counter() > deadline):
                    break
                time.sleep(max(0.0, planned - time.perf_counter()))
                result.started += 1
                future = pool.submit(one, number)
                if rate is None:
                    future.result()
            result.seconds = time.perf_counter() - start
        self.drain(deadline + 30)
        result.drained_seconds = time.perf_counter() - start
        result.max_webhook_backlog = backlog.stop()
        result.max_outbox_backlog = outbox.stop()
        result.outbox_rows = self.outbox_rows() - rows
        result.deliveries = self.deliveries() - delivered
        self._outcomes(result, keys)
        after = self.calls()
        result.connector_calls, result.people_calls = after[0] - before[0], after[1] - before[1]
        result.cpu_seconds = {name: seconds - cpu.get(name, 0.0) for name, seconds in self.cpu().items()}
        return result

    def calls(self) -> tuple[Counter[str], Counter[str]]:
        """(the connector's Jira calls, the people's) by endpoint, so far."""
        return self.counter.split()

    def engine(self) -> Any:
        """The connector's database."""
        return self.stack.connector.database.engine

    def outbox_pending(self) -> int:
        from connector.store.tables import OutboxRow

        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        with self.engine().connect() as connection:
            return connection.scalar(query) or 0

    def outbox_rows(self) -> int:
        from connector.store.tables import OutboxRow

        with self.engine().connect() as connection:
            return connection.scalar(select(func.count()).select_from(OutboxRow)) or 0

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far by process (here: the one process that holds everything)."""
        return {"bench process (everything)": time.process_time()}

    def _outcomes(self, result: RunResult, keys: list[str]) -> None:
        from connector.store.tables import ChangeRow, ViolationRow

        self._latencies(result, keys)
        with self.engine().connect() as connection:
            query = select(ChangeRow.key, ChangeRow.stage).where(ChangeRow.key.in_(keys))
            stages = {key: stage for key, stage in connection.execute(query)}
            violated = connection.execute(
                select(ChangeRow.key, func.count(ViolationRow.id))
                .join(ViolationRow, ViolationRow.change_id == ChangeRow.id)
                .where(ChangeRow.key.in_(keys))
                .group_by(ChangeRow.key)
            ).all()
        result.violations = sum(n for _key, n in violated)
        result.not_closed = sum(1 for key in keys if stages.get(key) != "closed")
        bad = {key for key, _n in violated}
        result.completed = sum(1 for key in keys if stages.get(key) == "closed" and key not in bad)

    def _latencies(self, result: RunResult, keys: list[str]) -> None:
        w = self.watch
        for key in keys:
            if key in w.created_at:
                result.to_created_ms.append((w.created_at[key] - w.deployed_at[key]) * 1000)
            if key in w.linked_at:
                result.to_linked_ms.append((w.linked_at[key] - w.deployed_at[key]) * 1000)

    def backlog(self) -> int:
        """Webhooks queued in the sandbox or being sent."""
        return self.stack.sandbox.context.dispatcher.backlog()

    def deliveries(self) -> int:
        """Webhooks sent so far (each delivery once, whatever its retries)."""
        return len(self.stack.sandbox.state.deliveries)

    def deliver_pending(self, timeout: float) -> None:
        self.stack.sandbox.deliver_pending(timeout=timeout)

    def drain(self, until: float) -> None:
        """Wait for the sandbox's webhooks and the connector's outbox to be done (bounded)."""
        from connector.store.tables import OutboxRow

        pending = select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        while time.perf_counter() < until:
            self.deliver_pending(max(0.1, until - time.perf_counter()))
            with self.engine().connect() as connection:
                if not connection.scalar(pending) and not self.backlog():
                    return
            time.sleep(0.1)


class _Sampler:
    """The largest value of `read()` seen every 0.25 s until stopped."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read, self.peak, self._stop = read, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, self.read())

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.peak


# --- the connector as deployed: every part a process of its own (--processes) ---------------------------


class DeployedStack:
    """The Jira sandbox (`ecm sandbox jira`), `ecm serve` (gunicorn) and `ecm jobs` (the outbox dispatcher,
    SLA, reconciliation at its default interval), each a process of its own as bench/soak.py starts them
    (bench/processes.py), on one database; this process plays the people (a thread pool) and reads the
    results from the sandbox over HTTP and from the database. The connector's processes connect to
    PostgreSQL as `application_name` `ecm-bench-<tag>`, so their backends' CPU can be told apart."""

    def __init__(
        self, work: Path, database_url: str | None, workers: int, threads: int, outbox_workers: int | None
    ) -> None:
        from bench.processes import Processes, database

        self.tag = secrets.token_hex(3)
        self.url, self._drop = database(database_url, work, prefix="bench")
        environ = {"ECM_LOG_LEVEL": "WARNING", "PGAPPNAME": f"ecm-bench-{self.tag}"}
        if outbox_workers:
            environ["ECM_OUTBOX_WORKERS"] = str(outbox_workers)
        self.processes = Processes(work, self.url, environ=environ)
        self.options = ("--workers", str(workers), "--threads", str(threads), "--log-format", "text")
        self.target: Target | None = None

    def start(self) -> None:
        from bench.processes import free_port
        from bench.soak import field_ids
        from connector.mapping import load_mapping

        p = self.processes
        p.start_sandbox()
        port = free_port()
        p.public_url = f"http://127.0.0.1:{port}"  # the webhook goes straight to ecm serve
        p.install()
        p.start_web(0, port=port, options=self.options)
        p.start_jobs()
        p.wait_web()
        section = load_mapping(ROOT / "mappings" / "jira-cloud.yaml").jira
        self.target = Target(p.jira_url, section, field_ids(p.jira_url), create_engine(self.url))

    def stop(self) -> None:
        self.processes.stop()
        if self.target is not None:
            self.target.engine.dispose()
        self._drop()


class DeployedBench(Bench):
    """`Bench` against a `DeployedStack`: calls counted by the sandbox per user (`/_sandbox/state`), the
    times read from Jira after the run (the change's changelog entry to Deployed, the post-mortem issue's
    `created`; both millisecond clocks of the sandbox) and from the outbox row that created it."""

    def __init__(self, stack: DeployedStack, max_seconds: float) -> None:
        assert stack.target is not None
        self.stack, self.max_seconds = stack, max_seconds
        self.jira_url = stack.target.jira_url
        self.watch = None
        # people look every 100 ms (the database) and 250 ms (Jira's transitions), not every 20 ms: the
        # latencies are read from Jira and the database afterwards, and hundreds of people waiting at once
        # would otherwise be most of the sandbox's and the database's work
        self.lifecycle = Lifecycle(stack.target, None, poll=0.1, offer=0.25)

    def run(self, name: str, count: int, rate: float | None, threads: int = 64) -> RunResult:
        self.first_raised, view = len(self.lifecycle.keys), self.handler_seconds()
        result = super().run(name, count, rate, threads)
        result.max_webhook_backlog = None  # the sandbox's queue is not visible from here
        seconds, answered = (a - b for a, b in zip(self.handler_seconds(), view, strict=True))
        result.webhook_view_ms = seconds / answered * 1000 if answered else None
        return result

    def handler_seconds(self) -> tuple[float, float]:
        """(sum, count) of `ecm serve`'s time in the Jira webhook view, from its /metrics."""
        import requests

        text = requests.get(self.stack.processes.web[0][1] + "/metrics", timeout=10).text
        values = {"sum": 0.0, "count": 0.0}
        for line in text.splitlines():
            for part in values:
                if line.startswith(f"ecm_handler_seconds_{part}{{") and 'source="jira"' in line:
                    values[part] += float(line.rsplit(" ", 1)[1])
        return values["sum"], values["count"]

    def calls(self) -> tuple[Counter[str], Counter[str]]:
        from bench.processes import admin

        state = admin("GET", self.jira_url, "/_sandbox/state", params={"only": "requestCountsByUser"})
        connector: Counter[str] = Counter()
        people: Counter[str] = Counter()
        for user, endpoints in state["requestCountsByUser"].items():
            if user == "admin":  # this bench reading the sandbox
                continue
            for endpoint, n in endpoints.items():
                route = endpoint.replace("<any('2','3'):version>", "{2,3}")
                (connector if user == CONNECTOR_USER else people)[route] += n
        return connector, people

    def cpu(self) -> dict[str, float]:
        p = self.stack.processes
        groups = {"Jira sandbox": p.sandbox, "ecm serve (gunicorn)": p.web[0][0], "ecm jobs": p.jobs}
        seconds = {name: _group_cpu(process.pid) for name, process in groups.items() if process is not None}
        seconds["PostgreSQL backends of the connector"] = _backends_cpu(
            self.engine(), f"ecm-bench-{self.stack.tag}"
        )
        seconds["bench process (the people)"] = time.process_time()
        return seconds

    def backlog(self) -> int:
        return 0

    def engine(self) -> Any:
        return self.stack.target.engine

    def deliveries(self) -> int:
        """Jira webhooks the connector recorded so far."""
        from connector.store.tables import DeliveryRow

        query = select(func.count()).select_from(DeliveryRow).where(DeliveryRow.source == "jira")
        with self.engine().connect() as connection:
            return connection.scalar(query) or 0

    def deliver_pending(self, timeout: float) -> None:
        from bench.processes import admin

        admin("POST", self.jira_url, "/_sandbox/deliver")

    def _latencies(self, result: RunResult, keys: list[str]) -> None:
        """Every change raised in the run that got its post-mortem, closed by the deadline or not."""
        from bench.processes import admin
        from connector.store.tables import ChangeRow, DeliveryRow, OutboxRow, PostMortemRow

        keys = list(self.lifecycle.keys[self.first_raised :])

        queued = (
            select(ChangeRow.key, PostMortemRow.key, OutboxRow.done_at)
            .join(PostMortemRow, PostMortemRow.change_id == ChangeRow.id)
            .join(OutboxRow, OutboxRow.change_id == ChangeRow.id)
            .where(ChangeRow.key.in_(keys), OutboxRow.action == "create_postmortem")
        )
        received = select(DeliveryRow.issue_key, DeliveryRow.received_at, DeliveryRow.body).where(
            DeliveryRow.issue_key.in_(keys), DeliveryRow.event_type == "jira:issue_updated"
        )
        with self.engine().connect() as connection:
            rows = {key: (pm, done) for key, pm, done in connection.execute(queued)}
            deployed_received = {
                key: at for key, at, body in connection.execute(received) if _reports_deployed(body)
            }
        legs: dict[str, list[float]] = {
            "Deployed in Jira → its webhook received by ecm serve": [],
            "received → post-mortem created in Jira (recorded, queued, dispatched by ecm jobs)": [],
            "post-mortem created → its outbox row done (link, comment)": [],
        }
        for key in keys:
            if key not in rows or not rows[key][0] or key not in deployed_received:
                continue
            (pm, done_at), queued_at = rows[key], deployed_received[key]
            deployed = _deployed_at(admin("GET", self.jira_url, f"/rest/api/3/issue/{key}?expand=changelog"))
            created = _jira_time(
                admin("GET", self.jira_url, f"/rest/api/3/issue/{pm}?fields=created")["fields"]["created"]
            )
            if deployed is None:
                continue
            result.to_created_ms.append((created - deployed).total_seconds() * 1000)
            first, second, third = legs
            legs[first].append((queued_at - deployed).total_seconds() * 1000)
            legs[second].append((created - queued_at).total_seconds() * 1000)
            if done_at is not None:
                legs[third].append((done_at - created).total_seconds() * 1000)
        result.stages_ms = legs


def _reports_deployed(body: str | None) -> bool:
    """A stored `jira:issue_updated` body whose changelog moves the status to Deployed."""
    import json

    try:
        items = (json.loads(body or "{}").get("changelog") or {}).get("items") or []
    except ValueError:
        return False
    return any(i.get("fieldId") == "status" and i.get("toString") == "Deployed" for i in items)


def _jira_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _deployed_at(issue: dict[str, Any]) -> datetime | None:
    """When the change's status became Deployed, by its changelog."""
    for history in issue["changelog"]["histories"]:
        if any(i.get("field") == "status" and i.get("toString") == "Deployed" for i in history["items"]):
            return _jira_time(history["created"])
    return None


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _group_cpu(group: int) -> float:
    """CPU seconds of the living processes of a process group (a gunicorn master and its workers)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fields = _stat(pid)
        if fields is not None and int(fields[2]) == group:
            total += _seconds(fields)
    return total


def _backends_cpu(engine: Any, application: str) -> float:
    """CPU seconds of the PostgreSQL backends connected as `application` (on this host); 0 on SQLite."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as connection:
        pids = connection.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": application}
        ).all()
    return sum(_seconds(fields) for pid in pids if (fields := _stat(pid)) is not None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rate", default="20", help="lifecycles started per second; several (1,5,10,20) run in turn"
    )
    parser.add_argument("--count", type=int, default=200, help="lifecycles in each loaded run")
    parser.add_argument(
        "--duration", type=float, default=None, help="instead of --count: seconds of starts at each rate"
    )
    parser.add_argument("--max-seconds", type=float, default=120.0, help="bound of each run")
    parser.add_argument("--baseline", type=int, default=5, help="lifecycles one after another first")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--target", choices=("jira", "servicenow"), default="jira")
    parser.add_argument(
        "--service-workers",
        type=int,
        default=0,
        help="Jira: serve webhooks from `ecm serve` with this many gunicorn workers in other processes "
        "(0: the stack's in-process server; with --processes: default 2)",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="Jira: the sandbox, ecm serve and ecm jobs each a process of its own, as deployed",
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="with --processes: ecm serve's threads per worker"
    )
    parser.add_argument(
        "--outbox-workers", type=int, default=None, help="with --processes: ecm jobs' dispatcher threads"
    )
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rate.split(",")]
    if min(rates) <= 0 or args.count < 1 or args.baseline < 0 or args.service_workers < 0:
        parser.error("--rate must be > 0, --count >= 1, --baseline >= 0, --service-workers >= 0")
    if (args.service_workers or args.processes) and args.target != "jira":
        parser.error("--service-workers and --processes run the Jira target only")
    with tempfile.TemporaryDirectory(prefix="ecm-bench-") as data_dir:
        if args.processes:
            results, where = _deployed(Path(data_dir), args, rates)
        else:
            results, where = _in_process(Path(data_dir), args, rates)
    database = "SQLite" if not args.database_url else "PostgreSQL"
    print(f"target: {args.target}, database: {database}, service: {where}")
    print(format_report(results))
    return 0 if all(r.completed == r.started for r in results) else 1


def _runs(bench: Bench, args: argparse.Namespace, rates: list[float]) -> list[RunResult]:
    results = [bench.run("first lifecycle (cold)", 1, None)]
    if args.baseline:
        results.append(bench.run(f"serial ×{args.baseline}", args.baseline, None))
    for rate in rates:
        count = max(1, round(rate * args.duration)) if args.duration else args.count
        results.append(bench.run(f"loaded {rate:g}/s ×{count}", count, rate))
    return results


def _deployed(work: Path, args: argparse.Namespace, rates: list[float]) -> tuple[list[RunResult], str]:
    workers = args.service_workers or 2
    stack = DeployedStack(work, args.database_url, workers, args.threads, args.outbox_workers)
    try:
        stack.start()
        results = _runs(DeployedBench(stack, args.max_seconds), args, rates)
    finally:
        stack.stop()
    dispatchers = args.outbox_workers or "default"
    where = (
        f"processes: ecm sandbox jira, ecm serve ({workers} workers × {args.threads} threads), "
        f"ecm jobs ({dispatchers} outbox workers)"
    )
    return results, where


def _in_process(work: Path, args: argparse.Namespace, rates: list[float]) -> tuple[list[RunResult], str]:
    schema = f"bench_{secrets.token_hex(4)}" if (args.database_url or "").startswith("postgresql") else None
    stack_type, bench_type = _target(args.target)
    stack = stack_type(work, database_url=args.database_url, database_schema=schema)
    service: ServiceProcess | None = None
    try:
        stack.start()
        if args.service_workers:
            service = ServiceProcess(stack, args.service_workers).start()
        results = _runs(bench_type(stack, args.max_seconds), args, rates)
        if stack.dispatch and stack.dispatch.errors:
            print(f"outbox dispatcher errors: {stack.dispatch.errors[:3]}")
    finally:
        if service is not None:
            service.stop()
        stack.stop()
        if schema:
            _drop_schema(args.database_url, schema)
    where = f"ecm serve, {args.service_workers} workers" if args.service_workers else "in-process server"
    return results, where


class ServiceProcess:
    """`ecm serve` (gunicorn) with the stack's settings on another port; the sandbox's webhooks are
    pointed at it. The outbox dispatcher stays a thread of this process (it then polls every 20 ms)."""

    def __init__(self, stack: Any, workers: int) -> None:
        self.stack, self.workers, self.process = stack, workers, None

    def start(self) -> ServiceProcess:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        command = [str(ROOT / ".venv" / "bin" / "ecm"), "serve", "--port", str(port)]
        command += ["--workers", str(self.workers), "--threads", "8", "--log-format", "text"]
        environ = {**os.environ, **self.stack.environ, "ECM_PUBLIC_URL": url, "ECM_LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not _answers(f"{url}/healthz"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"ecm serve did not start on {url}")
            time.sleep(0.2)
        with self.stack.sandbox.state.lock:
            for hook in self.stack.sandbox.state.webhooks.values():
                hook.url = url + urlsplit(hook.url).path
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


def _answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except OSError:
        return False


def _target(name: str) -> tuple[type, type]:
    """(stack, bench) classes of a target."""
    if name == "servicenow":
        from bench.lifecycle_servicenow import ServiceNowBench
        from connector.demo.servicenow_stack import ServiceNowStack

        return ServiceNowStack, ServiceNowBench
    from connector.demo.stack import JiraStack

    return JiraStack, Bench


def _drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
