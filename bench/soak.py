"""Soak: many emergency changes at once through a failing Jira, against the connector as it is deployed.

    .venv/bin/python bench/soak.py [--changes 500] [--workers 12] [--database-url URL] [--seed 1]
                                   [--no-kills] [--violators 0.2] [--keep DIR]

Separate processes, as an operator runs them: the Jira sandbox (`ecm sandbox jira`), two `ecm serve`
behind a round-robin proxy (a thread here; it fails over when a backend does not answer, as a load
balancer's health check would), and `ecm jobs` (reconciliation every 6 s), all on one database
(PostgreSQL when a URL is given, in a schema of its own that is dropped at the end; else SQLite).

Jira fails the connector's REST calls (its `/rest/api/2/*` calls, search and group members): about a
fifth are answered 429 with Retry-After, 502 or 503, and a few are held past the connector's read
timeout and then performed, as a Jira that answers after the client gave up does (creating an issue and
transitions included). Webhooks: 10% dropped, 8% duplicated, 5% reordered, 5% delayed. Mid-run `ecm jobs`
and one `ecm serve` are killed with SIGKILL and started again.

The people (the sandbox's seeded users, through the real `jira` library on REST API v3, which the
faults leave alone) play every change's lifecycle at once, each step compliant, acting as soon as
Jira lets them, not when the connector has caught up. A share of the changes (`--violators`) also
marks the change reviewed once before anyone reviewed it: that step breaks the procedure and must be
reverted. A person whose step was moved back does it again, as a person would.

Printed at the end, from Jira, the outbox and the proxy:
- reverts of compliant steps (the connector moved back a step that broke no rule),
- false violation alerts (violation mails about changes whose steps were all compliant, or more
  than one for a violator), and violations that were not reverted,
- 5xx answers to webhooks (given by `ecm serve`, seen by the proxy),
- post-mortems per deployed change (exactly 1 expected), dead and pending outbox rows,
- whether `ecm audit verify` accepts the run's audit chain, and scripted faults that never fired,
- lifecycles that reached Closed, and the wall time.
`tests/e2e/soak/test_soak.py` runs it with 60 changes (and the first post-mortem creates held past the
read timeout) and asserts what the procedure requires; `soak(work, url, SoakOptions(...))` is the entry.
Exit status 0 when every figure is as the procedure expects, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.processes import CONNECTOR, admin, database  # noqa: E402
from bench.processes import Processes as Deployed  # noqa: E402
from connector.jira.gateway import JiraGateway  # noqa: E402

PROJECT, CHANGE, POSTMORTEM = "EMG", "Emergency Change", "Post-Mortem"
PATH = ("Identified", "Awaiting Approval", "Approved", "In Review", "Reviewed", "Deployed", "Post-Mortem")
CLOSED = "Closed"
MOVER = {"Approved": "lead.liam"}  # who takes a step; eng.emma takes the others
PR_URL = "https://git.example.com/acme/checkout/pull/{n}"
DOCS_URL = "https://wiki.example.com/changes/{n}"
REPORT_URL = "https://wiki.example.com/postmortems/{n}"
JIRA_WEBHOOK_TIMEOUT = 5.0  # the sandbox's webhook worker waits this long for an answer
STEP_SECONDS = 120.0  # how long a person waits for Jira to offer the next step
CONNECTOR_PATHS = ("/rest/api/2/*", "/rest/api/3/search/jql", "/rest/api/3/group/member")


def fault_config(
    seed: int,
    rate: float = 0.2,
    timeouts: float = 0.02,
    hold: float = 11.0,
    first: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """Faults on the connector's calls only: `rate` of them 429/502/503, `timeouts` held for `hold`
    seconds (past the connector's 10 s read timeout) and then performed; the rules of `first` before
    them (a scripted fault: `count` the next matching requests)."""
    kinds = [
        {"kind": "status", "status": 429, "retry_after": 1},
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 502},
    ]
    rules = [{"path": path, "rate": rate / len(kinds), **kind} for kind in kinds for path in CONNECTOR_PATHS]
    held = [
        ("/rest/api/2/issue", "POST"),
        ("/rest/api/2/issue/*/transitions", "POST"),
        ("/rest/api/2/issue/*/comment", "POST"),
        ("/rest/api/2/issue/*", "GET"),
    ]
    rules = [
        *first,
        *(
            {"path": path, "method": method, "kind": "timeout", "seconds": hold, "rate": timeouts}
            for path, method in held
        ),
        *rules,
    ]
    hooks = {"drop": 0.10, "duplicate": 0.08, "reorder": 0.05, "delay": 0.05, "delay_seconds": 1.0}
    return {"seed": seed, "rules": rules, "webhooks": hooks}


# --- people ---------------------------------------------------------------------------------------------


class Person(JiraGateway):
    """A seeded user's `jira` client on REST API v3, which the faults (written for the connector's v2
    calls) leave alone."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(url, user=f"{name}@example.com", token=name)
        self._jira._options["rest_api_version"] = "3"

    def _call(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        return super()._call(method, path.replace("/rest/api/2/", "/rest/api/3/", 1), action, **kwargs)


@dataclass
class Lifecycle:
    key: str = ""
    violator: bool = False
    closed: bool = False
    redone: int = 0  # steps taken again after the connector moved them back
    violation_reverted: bool | None = None
    revert_seconds: float = 0.0  # how long the violator waited to see the early Reviewed moved back
    error: str = ""


class People:
    def __init__(self, jira_url: str, field_ids: dict[str, str]) -> None:
        self.url, self.field_ids = jira_url, field_ids
        self._local = threading.local()

    def person(self, name: str) -> Person:
        people = self._local.__dict__.setdefault("people", {})
        if name not in people:
            people[name] = Person(self.url, name)
        return people[name]

    def status(self, key: str) -> str:
        return self.person("admin").get_issue(key, fields=["status"]).status

    def go(self, key: str, target: str, result: Lifecycle) -> None:
        """Take the change to `target` along the lifecycle, taking again any step the connector moved
        back, waiting while Jira does not offer it."""
        deadline = time.monotonic() + STEP_SECONDS
        goal = PATH.index(target) if target in PATH else len(PATH)
        while time.monotonic() < deadline:
            status = self.status(key)
            if status == target:
                return
            here = PATH.index(status) if status in PATH else len(PATH)
            if here >= goal:
                return
            step = PATH[here + 1] if here + 1 < len(PATH) else CLOSED
            if step != target:
                result.redone += 1
            if self.move(MOVER.get(step, "eng.emma"), key, step):
                continue
            time.sleep(0.3)
        raise TimeoutError(f"{key} did not reach {target} (at {self.status(key)})")

    def move(self, who: str, key: str, status: str) -> bool:
        gateway = self.person(who)
        chosen = next((t for t in gateway.transitions(key) if t.to_status == status), None)
        if chosen is None:
            return False
        try:
            gateway.transition(key, chosen.id)
        except Exception:  # noqa: BLE001 - the status changed under the person: look again
            return False
        return True

    def comment(self, who: str, key: str, text: str) -> None:
        self.person(who).add_comment(key, text)

    def wait(self, check: Callable[[], Any], seconds: float = STEP_SECONDS) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := check():
                return value
            time.sleep(0.3)
        return None

    def postmortem_of(self, key: str) -> str | None:
        issue = self.person("admin").get_issue(key, fields=["issuelinks"])
        return next((x.key for x in issue.links if x.type == POSTMORTEM and x.direction == "outward"), None)

    def play(self, n: int, violator: bool) -> Lifecycle:
        result = Lifecycle(violator=violator)
        try:
            self._play(n, result)
        except Exception as error:  # noqa: BLE001 - counted and reported, the others go on
            result.error = f"{type(error).__name__}: {error}"[:300]
        return result

    def _play(self, n: int, result: Lifecycle) -> None:
        fields = {
            self.field_ids["category"]: {"value": "Service outage"},
            self.field_ids["impact"]: f"Checkout fails for EU customers (soak change {n}).",
        }
        key = self.person("eng.emma").create_issue(PROJECT, CHANGE, f"Soak change {n}", "", fields=fields)
        result.key = key
        self.go(key, "Awaiting Approval", result)
        self.comment("lead.liam", key, "/approve")
        self.comment("sec.sara", key, "/approve")
        self.go(key, "Approved", result)
        self.go(key, "In Review", result)
        if result.violator:  # the one step that breaks the procedure: reviewed before any review
            self.move("eng.emma", key, "Reviewed")
            moved = time.monotonic()
            back = self.wait(lambda: self.status(key) == "In Review", 60)
            result.violation_reverted = bool(back)
            result.revert_seconds = time.monotonic() - moved
        self.comment("peer.pete", key, "/peer-reviewed")
        self.comment("sec.sara", key, "/security-reviewed")
        self.go(key, "Reviewed", result)
        self.go(key, "Deployed", result)
        pm = self.wait(lambda: self.go(key, "Deployed", result) or self.postmortem_of(key))
        if not pm:
            raise TimeoutError(f"{key}: no post-mortem was linked")
        self.comment("eng.emma", key, f"/pr {PR_URL.format(n=n)}")
        self.comment("eng.emma", key, f"/docs {DOCS_URL.format(n=n)}")
        self.go(key, "Post-Mortem", result)
        self.person("eng.emma").edit_issue(pm, {self.field_ids["report_url"]: REPORT_URL.format(n=n)})
        done = next(t for t in self.person("eng.emma").transitions(pm) if t.to_status == "Done")
        self.person("eng.emma").transition(pm, done.id)
        self.go(key, CLOSED, result)
        result.closed = True


# --- the processes -----------------------------------------------------------------------------------


class Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # Jira gave up on a slow answer: counted as late, not printed


class RoundRobin:
    """A reverse proxy sending each webhook to the next backend in turn; when one does not answer (it
    was killed), the next one gets it. Counts the answers per status code."""

    def __init__(self, backends: list[str]) -> None:
        self.backends, self.turn = list(backends), itertools.count()
        self.answers: Counter[int] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                status, content = proxy.forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *_args: object) -> None:
                return None

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.late = 0  # answered after Jira stopped waiting (it then sends the webhook again)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        first = next(self.turn)
        for attempt in range(len(self.backends)):
            backend = self.backends[(first + attempt) % len(self.backends)]
            started = time.monotonic()
            try:
                answer = requests.post(backend + path, data=body, headers=headers, timeout=30)
            except requests.ConnectionError:
                continue
            except requests.Timeout:
                break
            with self.lock:
                self.answers[answer.status_code] += 1
                self.late += time.monotonic() - started > JIRA_WEBHOOK_TIMEOUT
            return answer.status_code, answer.content
        return 502, b"no backend answered"

    def replace(self, old: str, new: str) -> None:
        self.backends[self.backends.index(old)] = new

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Processes(Deployed):
    """The sandbox, two `ecm serve` behind the round-robin proxy, `ecm jobs` (reconciliation every 6 s),
    and the faults of the run set in the sandbox."""

    def __init__(
        self, work: Path, database_url: str, seed: int, first_faults: tuple[dict[str, Any], ...] = ()
    ) -> None:
        super().__init__(work, database_url, environ={"ECM_RECONCILE_MINUTES": "0.1"})
        self.seed, self.first_faults = seed, first_faults
        self.proxy: RoundRobin | None = None

    def start(self) -> None:
        self.start_sandbox()
        self.proxy = RoundRobin([])
        self.public_url = self.proxy.url
        self.install()
        for n in range(2):
            self.start_web(n)
        self.proxy.backends = [url for _, url in self.web]
        self.start_jobs()
        self.wait_web()
        admin(
            "POST", self.jira_url, "/_sandbox/faults", json=fault_config(self.seed, first=self.first_faults)
        )

    def kill_web(self, n: int, pause: float) -> None:
        old = self.web[n][1]
        new = self.restart_web(n, pause)
        assert self.proxy is not None
        self.proxy.replace(old, new)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        super().stop()


# --- what happened --------------------------------------------------------------------------------------


@dataclass
class Figures:
    changes: int = 0
    closed: int = 0
    errors: list[str] = field(default_factory=list)
    compliant_reverts: int = 0
    missed_reverts: int = 0  # violations not reverted within a minute, as the violator waits
    never_reverted: int = 0  # violations the connector did not move back at all
    slowest_revert: float = 0.0  # seconds, the longest a violator waited (60 when not seen in time)
    false_alerts: int = 0
    webhook_5xx: int = 0
    webhook_late: int = 0
    webhook_answers: dict[int, int] = field(default_factory=dict)
    postmortems: Counter[int] = field(default_factory=Counter)  # post-mortems per deployed change
    outbox: dict[str, int] = field(default_factory=dict)
    redone: int = 0
    audit_verified: bool | None = None
    scripted_left: int = 0  # scripted faults (`first`) that never fired
    wall_seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.closed == self.changes
            and not self.compliant_reverts
            and not self.missed_reverts
            and not self.never_reverted
            and not self.false_alerts
            and not self.webhook_5xx
            and not self.webhook_late
            and set(self.postmortems) <= {1}
            and not self.outbox.get("dead")
            and not self.outbox.get("pending")
            and self.audit_verified is not False
            and not self.scripted_left
        )

    def render(self) -> str:
        pm = ", ".join(f"{n}: {count}" for n, count in sorted(self.postmortems.items())) or "-"
        lines = [
            f"lifecycles closed (and stayed) {self.closed}/{self.changes}",
            f"reverts of compliant steps     {self.compliant_reverts}",
            f"violations not reverted        {self.missed_reverts} in a minute, {self.never_reverted} at all",
            f"slowest revert a violator saw  {self.slowest_revert:.0f} s",
            f"false violation alerts         {self.false_alerts}",
            f"5xx answers to webhooks        {self.webhook_5xx} (answers by status: {self.webhook_answers})",
            f"webhooks answered after 5 s    {self.webhook_late}",
            f"post-mortems per deployed chg  {pm}",
            f"outbox rows                    {self.outbox}",
            f"steps taken again by people    {self.redone}",
            f"audit chain verifies           {self.audit_verified}",
            f"scripted faults not fired      {self.scripted_left}",
            f"wall time                      {self.wall_seconds:.0f} s",
        ]
        lines += [f"error: {e}" for e in self.errors[:10]]
        lines += [f"  e.g. {e}" for e in self.examples[:10]]
        return "\n".join(lines)


def measure(jira_url: str, lifecycles: list[Lifecycle], database_url: str) -> Figures:
    figures = Figures(changes=len(lifecycles))
    bot = requests.get(
        f"{jira_url}/rest/api/3/myself", auth=(f"{CONNECTOR}@example.com", CONNECTOR), timeout=10
    )
    bot_id = bot.json()["accountId"]
    mails = admin("GET", jira_url, "/_sandbox/state", params={"only": "mails"})["mails"]
    violations = Counter(
        m["issue"] for m in mails if m["sender"] == CONNECTOR and "violation" in m["subject"]
    )
    for life in lifecycles:
        figures.redone += life.redone
        if life.error:
            figures.errors.append(f"{life.key or '?'}: {life.error}")
        if not life.key:
            continue
        issue = admin("GET", jira_url, f"/rest/api/3/issue/{life.key}", params={"expand": "changelog"})
        figures.closed += life.closed and issue["fields"]["status"]["name"] == CLOSED  # and stayed so
        reviewed_before, violating, moved_back = False, False, False
        moves: list[str] = []  # every status move, as Jira's changelog tells it (for the examples)
        for history in sorted(issue["changelog"]["histories"], key=lambda h: h["created"]):
            for item in history["items"]:
                if item.get("field") != "status":
                    continue
                by = "ecm" if (history.get("author") or {}).get("accountId") == bot_id else "person"
                moves.append(f"{history['created'][11:23]} {by} {item['fromString']}->{item['toString']}")
                if (history.get("author") or {}).get("accountId") != bot_id:  # a person's step
                    violating = life.violator and item["toString"] == "Reviewed" and not reviewed_before
                    reviewed_before = reviewed_before or item["toString"] == "Reviewed"
                    continue
                if not violating:  # the connector moved back a step that broke no rule
                    figures.compliant_reverts += 1
                    figures.examples.append(
                        f"{life.key}: {item['fromString']} -> {item['toString']} (moves: {'; '.join(moves)})"
                    )
                moved_back = moved_back or violating
                violating = False
        if life.violator:
            figures.slowest_revert = max(figures.slowest_revert, life.revert_seconds)
        if life.violator and not life.violation_reverted:
            figures.missed_reverts += 1
            figures.examples.append(f"{life.key}: the early Reviewed not moved back within 60 s")
        if life.violator and reviewed_before and not moved_back:
            figures.never_reverted += 1
            figures.examples.append(f"{life.key}: the early Reviewed was never moved back")
        extra = violations[life.key] - (1 if life.violator else 0)
        if extra > 0:
            figures.false_alerts += extra
            figures.examples.append(f"{life.key}: {violations[life.key]} violation alerts")
    figures.postmortems = _postmortems_per_change(jira_url, lifecycles)
    figures.outbox = _outbox(database_url)
    return figures


def _postmortems_per_change(jira_url: str, lifecycles: list[Lifecycle]) -> Counter[int]:
    per_label: Counter[str] = Counter()
    token = None
    while True:
        body: dict[str, Any] = {"jql": f'issuetype = "{POSTMORTEM}"', "fields": ["labels"], "maxResults": 100}
        if token:
            body["nextPageToken"] = token
        page = admin("POST", jira_url, "/rest/api/3/search/jql", json=body)
        for issue in page["issues"]:
            per_label.update(label for label in issue["fields"].get("labels") or [])
        token = page.get("nextPageToken")
        if not token:
            break
    deployed = [life.key for life in lifecycles if life.key and (life.closed or "post-mortem" in life.error)]
    return Counter(per_label[f"ecm-postmortem-{key}".lower()] for key in deployed)


def _outbox(database_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, count(*) FROM outbox GROUP BY status"))
            return {status: count for status, count in rows}
    finally:
        engine.dispose()


def settle(processes: Processes, database_url: str, seconds: float) -> None:
    """Until the outbox has nothing pending and two reconciliations have run after the last webhook."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        admin("POST", processes.jira_url, "/_sandbox/deliver")
        if not _outbox(database_url).get("pending"):
            break
        time.sleep(1)
    time.sleep(13)  # two reconciliation runs (every 6 s) after the last step
    while time.monotonic() < deadline and _outbox(database_url).get("pending"):
        time.sleep(1)


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class SoakOptions:
    changes: int = 500
    workers: int = 12
    violators: float = 0.2
    seed: int = 1
    kills: bool = True
    first_faults: tuple[dict[str, Any], ...] = ()  # scripted faults before the random ones


def field_ids(jira_url: str) -> dict[str, str]:
    by_name = {f["name"]: f["id"] for f in admin("GET", jira_url, "/rest/api/3/field")}
    names = {
        "category": "Critical Issue Category",
        "impact": "Impact Description",
        "report_url": "Post-Mortem Report",
    }
    return {logical: by_name[name] for logical, name in names.items()}


def soak(work: Path, database_url: str, options: SoakOptions, say: Callable[[str], None] = print) -> Figures:
    started = time.monotonic()
    processes = Processes(work, database_url, options.seed, options.first_faults)
    try:
        processes.start()
        say(f"jira sandbox {processes.jira_url}; ecm serve {[u for _, u in processes.web]}")
        people = People(processes.jira_url, field_ids(processes.jira_url))
        chooser = random.Random(options.seed)
        plan = [(n, chooser.random() < options.violators) for n in range(1, options.changes + 1)]
        done: list[Lifecycle] = []
        finished = threading.Event()
        chaos = threading.Thread(target=_chaos, args=(processes, done, options, finished, say), daemon=True)
        if options.kills:
            chaos.start()
        with ThreadPoolExecutor(max_workers=options.workers) as pool:
            for future in as_completed([pool.submit(people.play, n, bad) for n, bad in plan]):
                done.append(future.result())
                if len(done) % max(1, options.changes // 10) == 0:
                    say(f"  {len(done)}/{options.changes} lifecycles played")
        finished.set()
        if options.kills:
            chaos.join(timeout=120)
        settle(processes, database_url, 300)
        figures = measure(processes.jira_url, done, database_url)
        assert processes.proxy is not None
        figures.webhook_answers = dict(processes.proxy.answers)
        figures.webhook_5xx = sum(n for status, n in processes.proxy.answers.items() if status >= 500)
        figures.webhook_late = processes.proxy.late
        faults = admin("GET", processes.jira_url, "/_sandbox/state", params={"only": "faults"})["faults"]
        figures.scripted_left = sum(rule.get("count") or 0 for rule in faults["rules"])
        figures.audit_verified = processes.audit_verifies()
    finally:
        processes.stop()
    figures.wall_seconds = time.monotonic() - started
    return figures


def _chaos(processes: Processes, done: list, options: SoakOptions, finished: threading.Event, say) -> None:
    """SIGKILL `ecm jobs` a quarter of the way in and one `ecm serve` half way; each started again."""
    for share, kill in ((0.25, lambda: processes.kill_jobs(3)), (0.5, lambda: processes.kill_web(1, 3))):
        while len(done) < options.changes * share and not finished.is_set():
            time.sleep(0.2)
        if finished.is_set():
            return
        kill()
        say(f"  killed and restarted ({share:.0%} in)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--violators", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("ECM_TEST_DATABASE_URL"))
    parser.add_argument("--no-kills", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="Keep the logs here, and the database.")
    args = parser.parse_args(argv)
    options = SoakOptions(args.changes, args.workers, args.violators, args.seed, not args.no_kills)
    with tempfile.TemporaryDirectory(prefix="ecm-soak-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        url, drop = database(args.database_url, work)
        try:
            figures = soak(work, url, options)
        finally:
            if args.keep:
                print(f"kept: {work} and the database {url}")
            else:
                drop()
    database_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"\nsoak: {options.changes} changes, {options.workers} at once, {database_name}, seed {options.seed}"
    )
    print(figures.render())
    return 0 if figures.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
