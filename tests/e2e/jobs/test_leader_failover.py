"""Two `ecm jobs` processes on PostgreSQL: the leader is killed with SIGKILL, the standby takes over
within 30 s, and every reminder and breach reaches Jira exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from connector.procedure.model import Stage
from connector.store.tables import PostMortemRow
from connector.store.uow import UnitOfWork

from .conftest import people

pytestmark = pytest.mark.slow
CHANGES = 6


@pytest.fixture
def postgres_url(database_url):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("the leader lock fails over on PostgreSQL only (set ECM_TEST_DATABASE_URL; CI does)")
    return database_url


def start_jobs(stack, url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ECM_DATABASE_URL": url,
        "ECM_DATA_DIR": str(data_dir),
        "ECM_JIRA_URL": stack.sandbox.url,
        "ECM_JIRA_USER": "ecm-bot@example.com",
        "ECM_JIRA_TOKEN": "ecm-bot",
        "ECM_MAPPINGS": str(stack.mapping_path),
        "ECM_LOG_FORMAT": "text",
        "ECM_SLA_SECONDS": "0.5",
        "ECM_RECONCILE_MINUTES": "60",
    }
    data_dir.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "jobs"], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w")
    )


def wait_for(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    return None


def test_standby_takes_over_from_a_killed_leader_and_no_alert_is_sent_twice_or_missed(
    stack_with, postgres_url, tmp_path
):
    stack = stack_with(database_url=postgres_url)
    stack.dispatch.stop()  # the jobs processes dispatch
    story = people(stack)
    keys = [
        story.person("eng.emma").create_issue("EMG", "Emergency Change", f"Outage {n}", "")
        for n in range(CHANGES)
    ]
    assert stack.settle(lambda: all(story.facts(k) for k in keys))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start_jobs(stack, postgres_url, tmp_path / f"d{i}", logs[i]) for i in range(2)]
    try:
        found = wait_for(lambda: [i for i in (0, 1) if "leader-acquired" in logs[i].read_text()], 30)
        assert found, "no process became leader"
        [leader] = found
        now = datetime.now(UTC)
        with UnitOfWork(stack.connector.database) as uow:  # deployed; deadlines 3 to 13 s from now
            for n, key in enumerate(keys):
                row = uow.changes.get("jira", key)
                row.stage, row.deployed_at = Stage.DEPLOYED.value, now
                row.postmortem = PostMortemRow(
                    due_at=now + timedelta(seconds=3 + 2 * n), assignee=row.engineer
                )
            uow.commit()
        wait_for(lambda: mails(stack, "Reminder") >= CHANGES, 10)
        time.sleep(2)  # a breach or two is sent by the first leader
        processes[leader].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        standby = 1 - leader
        assert wait_for(lambda: "leader-acquired" in logs[standby].read_text(), 30)
        assert time.monotonic() - killed_at < 30
        assert wait_for(lambda: mails(stack, "SLA breach") >= CHANGES, 30)
        time.sleep(2)  # anything sent twice would arrive now
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)
    for key in keys:
        subjects = [m["subject"] for m in sent(stack) if f"[{key}]" in m["subject"]]
        assert sum("Reminder" in s for s in subjects) == 1, (key, subjects)
        assert sum("SLA breach" in s for s in subjects) == 1, (key, subjects)
    assert processes[1 - leader].returncode == 0  # the survivor stopped cleanly on SIGTERM


def sent(stack) -> list[dict]:
    with stack.sandbox.state.lock:
        return list(stack.sandbox.state.mails)


def mails(stack, word: str) -> int:
    return sum(word in m["subject"] for m in sent(stack))
