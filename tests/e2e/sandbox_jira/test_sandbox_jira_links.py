"""Issue links read as Jira reads them: `POST issueLink` with `inwardIssue` A and `outwardIssue` B makes
"A <outward> B"; A's `issuelinks` show B as `outwardIssue`, B's show A as `inwardIssue`; the webhook
names A the source (reference/jira/api/issuelink.json with webhooks/issuelink-created.json)."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.e2e.sandbox_jira.test_sandbox_jira_webhooks import WEBHOOKS

REFERENCE_LINK = Path(WEBHOOKS).parent / "api" / "issuelink.json"


def _task(client, summary: str):
    return client.create_issue(project="EMG", summary=summary, issuetype={"name": "Task"})


def _links(sandbox, key: str) -> list[dict]:
    raw = requests.get(
        f"{sandbox.url}/rest/api/2/issue/{key}",
        params={"fields": "issuelinks"},
        auth=("admin", "admin"),
        timeout=5,
    )
    return raw.json()["fields"]["issuelinks"]


def test_the_inward_issue_of_the_request_is_the_one_the_outward_description_applies_to(cloud, client_for):
    emma = client_for("eng.emma")
    blocker, blocked = _task(emma, "Database down"), _task(emma, "Checkout fails")
    emma.create_issue_link("Blocks", blocker.key, blocked.key)  # the library: inwardIssue = "link from"

    [on_blocker] = _links(cloud, blocker.key)
    [on_blocked] = _links(cloud, blocked.key)
    assert on_blocker["outwardIssue"]["key"] == blocked.key and "inwardIssue" not in on_blocker
    assert on_blocked["inwardIssue"]["key"] == blocker.key and "outwardIssue" not in on_blocked
    assert on_blocker["type"]["outward"] == "blocks"  # read: blocker blocks blocked

    link = requests.get(
        f"{cloud.url}/rest/api/2/issueLink/{on_blocker['id']}", auth=("admin", "admin"), timeout=5
    )
    real = json.loads(REFERENCE_LINK.read_text())
    body = link.json()
    assert (body["inwardIssue"]["key"], body["outwardIssue"]["key"]) == (blocker.key, blocked.key)
    assert body.keys() >= real.keys()
    assert body["inwardIssue"]["fields"].keys() == real["inwardIssue"]["fields"].keys()


def test_linking_the_same_issues_twice_keeps_one_link(cloud, client_for):
    emma = client_for("eng.emma")
    blocker, blocked = _task(emma, "Database down"), _task(emma, "Checkout fails")
    first = emma.create_issue_link("Blocks", blocker.key, blocked.key)
    again = emma.create_issue_link("Blocks", blocker.key, blocked.key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert len(_links(cloud, blocker.key)) == 1


def test_an_issue_created_with_an_inward_link_is_the_destination(cloud, client_for):
    emma = client_for("eng.emma")
    blocker = _task(emma, "Database down")
    created = emma._session.post(
        f"{cloud.url}/rest/api/2/issue",
        json={
            "fields": {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "Checkout fails"},
            "update": {
                "issuelinks": [{"add": {"type": {"name": "Blocks"}, "inwardIssue": {"key": blocker.key}}}]
            },
        },
    )
    assert created.status_code == 201, created.text
    [on_new] = _links(cloud, created.json()["key"])
    [on_blocker] = _links(cloud, blocker.key)
    assert on_new["inwardIssue"]["key"] == blocker.key  # read: new issue is blocked by blocker
    assert on_blocker["outwardIssue"]["key"] == created.json()["key"]


def test_a_create_with_a_link_to_a_missing_issue_creates_nothing(cloud):
    refused = requests.post(
        f"{cloud.url}/rest/api/2/issue",
        auth=("eng.emma", "eng.emma"),
        timeout=5,
        json={
            "fields": {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "Checkout fails"},
            "update": {
                "issuelinks": [{"add": {"type": {"name": "Blocks"}, "inwardIssue": {"key": "EMG-99"}}}]
            },
        },
    )
    assert refused.status_code == 400 and "issuelinks" in refused.json()["errors"]
    with cloud.state.lock:
        assert cloud.state.issues == {}
