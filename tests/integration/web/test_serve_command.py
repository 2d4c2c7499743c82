import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from connector.cli import cli
from connector.store.db import Database
from connector.store.tables import DeliveryRow

from .web_helpers import fixture_body, jira_signature

ECM = Path(sys.executable).with_name("ecm")


def test_serve_with_a_bad_setting_says_so_in_one_line_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("ECM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECM_DATABASE_URL", "mysql://db/ecm")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "configuration error: ECM_DATABASE_URL: not a valid database URL (use sqlite:/// or postgresql+psycopg://)"
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
            time.sleep(0.2)
    raise AssertionError("ecm serve did not answer /healthz in time")


@pytest.mark.slow
def test_serve_migrates_the_database_and_records_signed_deliveries(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "ECM_DATA_DIR": str(tmp_path),
        "ECM_JIRA_WEBHOOK_SECRET": "serve-secret",
        "ECM_LOG_FORMAT": "text",
    }
    env.pop("ECM_DATABASE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [str(ECM), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        body = fixture_body("webhook-issue-deleted.json")
        headers = {
            "X-Hub-Signature": jira_signature(body, "serve-secret"),
            "X-Atlassian-Webhook-Identifier": "s-1",
        }
        for _ in range(3):  # reaches both workers; recorded once
            assert (
                requests.post(f"{url}/webhooks/jira", data=body, headers=headers, timeout=5).status_code
                == 200
            )
        assert requests.post(f"{url}/webhooks/jira", data=body, timeout=5).status_code == 401
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'ecm_webhook_deliveries_total{outcome="duplicate",source="jira"} 2.0' in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert f"service: http://127.0.0.1:{port}" in output
    database = Database(f"sqlite:///{tmp_path / 'ecm.sqlite3'}")
    with database.session() as session:
        assert [(r.delivery_id, r.outcome) for r in session.query(DeliveryRow)] == [("s-1", "ignored")]
    database.dispose()
