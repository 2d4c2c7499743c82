"""The connector as an operator runs it, for the benchmarks that need it so (bench/soak.py, bench/lifecycle.py
`--processes`): the Jira sandbox (`ecm sandbox jira`), `ecm serve` and `ecm jobs`, each a process of its
own in a process group of its own (killed as one), on one database; and a migrated database for a run (a
schema of its own on PostgreSQL, else a SQLite file).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
ECM = str(Path(sys.executable).with_name("ecm"))
MAPPING = ROOT / "mappings" / "jira-cloud.yaml"
CONNECTOR = "ecm-bot"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def wait_until(check: Callable[[], Any], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not happen within {seconds:.0f} s")


def admin(method: str, jira_url: str, path: str, **kwargs: Any) -> Any:
    """An admin's call to the sandbox on REST API v3 or `/_sandbox/*` (no faults there), retried the
    way a person's browser would be on the rare 429 of search."""
    for attempt in range(20):
        answer = requests.request(method, jira_url + path, auth=("admin", "admin"), timeout=30, **kwargs)
        if answer.status_code in (429, 502, 503):
            time.sleep(0.2 * (attempt + 1))
            continue
        answer.raise_for_status()
        return answer.json() if answer.content else None
    raise RuntimeError(f"{method} {path} kept failing")


class Processes:
    """The sandbox, `ecm serve` (`start_web`) and `ecm jobs`; the webhooks go to `public_url`, which the
    caller sets before `install` (a proxy in front of several `ecm serve`, or one of them)."""

    def __init__(self, work: Path, database_url: str, *, environ: dict[str, str] | None = None) -> None:
        self.work, self.database_url = work, database_url
        self.extra = dict(environ or {})
        self.secret = secrets.token_hex(16)
        self.log = (work / "processes.log").open("a")
        self.jira_url = ""
        self.public_url = ""
        self.sandbox: subprocess.Popen | None = None
        self.web: list[tuple[subprocess.Popen, str]] = []
        self.jobs: subprocess.Popen | None = None

    def environment(self, role: str) -> dict[str, str]:
        data = self.work / role
        data.mkdir(exist_ok=True)
        return {
            **os.environ,
            "ECM_DATABASE_URL": self.database_url,
            "ECM_DATA_DIR": str(data),
            "ECM_JIRA_URL": self.jira_url,
            "ECM_JIRA_USER": f"{CONNECTOR}@example.com",
            "ECM_JIRA_TOKEN": CONNECTOR,
            "ECM_JIRA_WEBHOOK_SECRET": self.secret,
            "ECM_PUBLIC_URL": self.public_url,
            "ECM_MAPPINGS": str(MAPPING),
            "ECM_LOG_FORMAT": "text",
            "ECM_AUDIT_SIGNING_KEY_FILE": str(self.work / "audit-signing.key"),
            "ECM_AUDIT_ANCHOR": str(self.work / "audit-anchors.jsonl"),
            **self.extra,
        }

    def _start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log, start_new_session=True)

    def start_sandbox(self) -> None:
        port = free_port()
        self.jira_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "ECM_JIRA_WEBHOOK_SECRET": self.secret}
        self.sandbox = self._start([ECM, "sandbox", "jira", "--port", str(port)], env)
        wait_until(lambda: answers(f"{self.jira_url}/rest/api/2/serverInfo"), 30, "the Jira sandbox start")

    def install(self) -> None:
        """`ecm db upgrade`, then `ecm install` (the webhook registered to `public_url`)."""
        for command in ([ECM, "db", "upgrade"], [ECM, "install", "--mapping", str(MAPPING)]):
            subprocess.run(
                command, env=self.environment("install"), check=True, stdout=self.log, stderr=self.log
            )

    def start_web(
        self, n: int, *, port: int | None = None, options: tuple[str, ...] = ("--workers", "1")
    ) -> str:
        """`ecm serve` number `n` (on `port`, else a free one); its URL."""
        self.web[n:n] = [self._serve(n, port or free_port(), options)]
        return self.web[n][1]

    def _serve(self, n: int, port: int, options: tuple[str, ...]) -> tuple[subprocess.Popen, str]:
        command = [ECM, "serve", "--port", str(port), *options]
        return self._start(command, self.environment(f"web{n}")), f"http://127.0.0.1:{port}"

    def start_jobs(self) -> None:
        self.jobs = self._start([ECM, "jobs"], self.environment("jobs"))

    def wait_web(self) -> None:
        for _, url in self.web:
            wait_until(lambda url=url: answers(f"{url}/healthz"), 60, f"ecm serve at {url}")

    def kill_jobs(self, pause: float) -> None:
        assert self.jobs is not None
        kill(self.jobs)
        time.sleep(pause)
        self.start_jobs()

    def restart_web(self, n: int, pause: float, options: tuple[str, ...] = ("--workers", "1")) -> str:
        """SIGKILL `ecm serve` number `n`, and after `pause` start it again on a new port; its new URL."""
        process, _ = self.web[n]
        kill(process)
        time.sleep(pause)
        self.web[n] = self._serve(n, free_port(), options)
        wait_until(lambda: answers(f"{self.web[n][1]}/healthz"), 60, "ecm serve restart")
        return self.web[n][1]

    def audit_verifies(self) -> bool:
        """`ecm audit verify` over the run's database, signing key and anchor file: exit status 0."""
        done = subprocess.run(
            [ECM, "audit", "verify"],
            env=self.environment("audit"),
            stdout=self.log,
            stderr=self.log,
            check=False,
        )
        return done.returncode == 0

    def stop(self) -> None:
        processes = [p for p, _ in self.web] + [self.jobs, self.sandbox]
        for process in processes:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            if process is None:
                continue
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill(process)
        self.log.close()


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process's group."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=10)


def database(url: str | None, work: Path, prefix: str = "soak") -> tuple[str, Callable[[], None]]:
    """A database for the run (`ecm db upgrade` migrates it): a schema of its own on PostgreSQL,
    `<prefix>_<random>` (dropped by the callable), or a SQLite file in `work`."""
    if not url:
        return f"sqlite:///{work / 'ecm.sqlite3'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    schema = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()

    scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), drop
