"""`ecm demo` opens its dashboard with a fresh admin token unless ECM_ADMIN_TOKEN is set, and takes the
other secrets a person set (gate token, webhook secret) instead of making its own."""

from __future__ import annotations

import pytest
import requests

from connector.demo.stack import JiraStack

pytestmark = pytest.mark.slow


def test_a_fresh_admin_token_opens_the_dashboard(tmp_path, monkeypatch):
    for name in ("ECM_ADMIN_TOKEN", "ECM_ADMIN_TOKEN_FILE", "ECM_GATE_TOKEN", "ECM_JIRA_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with JiraStack(tmp_path) as stack:
        assert len(stack.admin_token) >= 24
        page = requests.get(
            f"{stack.service_url}/dashboard",
            headers={"Authorization": f"Bearer {stack.admin_token}"},
            timeout=10,
        )
        assert page.status_code == 200
    with JiraStack(tmp_path / "again") as other:
        assert other.admin_token != stack.admin_token


def test_secrets_set_in_the_environment_are_the_demos(tmp_path, monkeypatch):
    monkeypatch.setenv("ECM_ADMIN_TOKEN", "admin-token-chosen-by-the-person-0123")
    monkeypatch.setenv("ECM_GATE_TOKEN", "gate-token-chosen-by-the-person-0123")
    monkeypatch.setenv("ECM_JIRA_WEBHOOK_SECRET", "webhook-secret-chosen-by-the-person")
    with JiraStack(tmp_path) as stack:
        assert stack.admin_token == "admin-token-chosen-by-the-person-0123"
        assert stack.secret == "webhook-secret-chosen-by-the-person"
        gate = requests.get(
            f"{stack.service_url}/api/changes/NOPE-1/gate?to=deployed",
            headers={"Authorization": "Bearer gate-token-chosen-by-the-person-0123"},
            timeout=10,
        )
        assert gate.status_code == 404  # the gate token was taken: the question reached the lookup


def test_the_github_webhook_secret_set_in_the_environment_signs_the_demos_github_endpoint(
    tmp_path, monkeypatch
):
    from tests import github_examples as gh

    monkeypatch.setenv("ECM_GITHUB_WEBHOOK_SECRET", "github-secret-chosen-by-the-person")
    with JiraStack(tmp_path) as stack:
        body = gh.example("ping")
        url = f"{stack.service_url}/webhooks/github"
        chosen = gh.github_headers("ping", body, secret="github-secret-chosen-by-the-person")
        other = gh.github_headers("ping", body, secret=gh.GITHUB_SECRET)

        assert requests.post(url, data=body, headers=chosen, timeout=10).status_code == 200
        assert requests.post(url, data=body, headers=other, timeout=10).status_code == 401
