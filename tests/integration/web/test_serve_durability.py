"""A delivery answered 2xx is on disk: `ecm serve` (gunicorn, two workers) is killed with SIGKILL, every
process of it at once, right after the last answer, and every delivery answered 2xx is in the table."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from connector.store.db import Database
from connector.store.tables import DeliveryRow

from .test_serve_command import free_port
from .web_helpers import fixture_body, jira_signature

ECM = Path(sys.executable).with_name("ecm")
SECRET = "durable-secret"
DELIVERIES = 400
SENDERS = 16


def serve(tmp_path: Path, database_url: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ECM_DATA_DIR": str(tmp_path), "ECM_JIRA_WEBHOOK_SECRET": SECRET}
    for name in ("ECM_DATABASE_URL", "ECM_DATABASE_SCHEMA", "ECM_MAPPINGS", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    if database_url:
        env["ECM_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [str(ECM), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=(tmp_path / "serve.log").open("w"),  # a log line per delivery: a file, never a full pipe
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the master and both workers killed together
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("ecm serve did not answer /healthz in time")


def send_then_kill(process: subprocess.Popen, url: str, run: str) -> set[str]:
    """Send the deliveries from several threads; SIGKILL the whole server as soon as the last one is
    answered 2xx (the others still being written when they are answered, if ever). The ids answered 2xx."""
    body = fixture_body("webhook-issue-updated-resolved.json")
    signature = jira_signature(body, SECRET)
    accepted: set[str] = set()
    lock = threading.Lock()
    local = threading.local()

    def send(number: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delivery_id = f"{run}-{number}"
        headers = {"X-Hub-Signature": signature, "X-Atlassian-Webhook-Identifier": delivery_id}
        try:
            response = session.post(f"{url}/webhooks/jira", data=body, headers=headers, timeout=30)
        except requests.RequestException:  # the server is gone: not answered, so not promised
            return
        if response.status_code < 300:
            with lock:
                accepted.add(delivery_id)
                if len(accepted) == DELIVERIES:
                    os.killpg(process.pid, signal.SIGKILL)

    try:
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            list(pool.map(send, range(DELIVERIES)))
    finally:
        with contextlib.suppress(ProcessLookupError):  # killed already
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    return accepted


def stored(database: Database, run: str) -> set[str]:
    with database.session() as session:
        return set(
            session.scalars(select(DeliveryRow.delivery_id).where(DeliveryRow.delivery_id.like(f"{run}-%")))
        )


@pytest.mark.slow
def test_every_delivery_answered_2xx_survives_kill_9_of_the_server_on_sqlite(tmp_path):
    process, url = serve(tmp_path, None)
    accepted = send_then_kill(process, url, "k9")
    assert len(accepted) == DELIVERIES
    database = Database(f"sqlite:///{tmp_path / 'ecm.sqlite3'}")
    try:
        assert accepted - stored(database, "k9") == set()
    finally:
        database.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_every_delivery_answered_2xx_survives_kill_9_of_the_server_on_postgresql(tmp_path, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs ECM_TEST_DATABASE_URL (PostgreSQL)")
    process, url = serve(tmp_path, database_url)
    accepted = send_then_kill(process, url, "k9pg")
    assert len(accepted) == DELIVERIES
    database = Database(database_url)
    try:
        assert accepted - stored(database, "k9pg") == set()
    finally:
        database.dispose()
