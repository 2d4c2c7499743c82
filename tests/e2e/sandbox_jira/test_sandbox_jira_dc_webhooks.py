"""Data Center admin webhooks: Jira 9 has no secret (deliveries unsigned, a URL token is all there is),
Jira 10 registers at /rest/jira-webhook/1.0/webhooks and signs with configuration.SECRET."""

from __future__ import annotations

import hashlib
import hmac

import jira
import pytest
import requests

from sandbox.jira import SandboxJira

pytestmark = pytest.mark.slow
SECRET = "dc-secret"


@pytest.fixture
def datacenter10():
    with SandboxJira("datacenter", version="10.3.0", webhook_backoff=0.02) as sandbox:
        yield sandbox


def new_task(sandbox: SandboxJira) -> None:
    emma = jira.JIRA(sandbox.url, token_auth="pat-eng.emma", get_server_info=False, max_retries=0)
    emma.create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})
    assert sandbox.deliver_pending()


def test_jira_9_ignores_a_webhook_secret_and_keeps_the_url_token(datacenter, receiver):
    registered = datacenter.register_webhook(f"{receiver.url}?token=t0k", secret=SECRET)
    assert registered["url"].endswith("?token=t0k") and "secret" not in registered
    new_task(datacenter)
    headers, _ = receiver.received[0]
    assert "X-Hub-Signature" not in headers


def test_jira_10_serves_only_the_jira_webhook_resource(datacenter10):
    info = requests.get(f"{datacenter10.url}/rest/api/2/serverInfo", timeout=5).json()
    assert info["versionNumbers"][0] == 10 and info["deploymentType"] == "Server"
    old = requests.get(f"{datacenter10.url}/rest/webhooks/1.0/webhook", auth=("admin", "admin"), timeout=5)
    assert old.status_code == 404
    new = requests.get(
        f"{datacenter10.url}/rest/jira-webhook/1.0/webhooks", auth=("admin", "admin"), timeout=5
    )
    assert new.status_code == 200 and new.json() == []


def test_jira_10_signs_with_the_configured_secret_and_never_shows_it(datacenter10, receiver):
    registered = datacenter10.register_webhook(receiver.url, secret=SECRET, jql="project = EMG")
    assert registered["configuration"] == {"EXCLUDE_BODY": "false", "FILTERS": "project = EMG"}
    assert registered["active"] is True
    new_task(datacenter10)
    headers, raw = receiver.received[0]
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha256={expected}"


def test_older_servers_and_cloud_answer_404_for_the_jira_10_resource(datacenter, cloud):
    for sandbox in (datacenter, cloud):
        found = requests.get(
            f"{sandbox.url}/rest/jira-webhook/1.0/webhooks", auth=("admin", "admin"), timeout=5
        )
        assert found.status_code == 404
