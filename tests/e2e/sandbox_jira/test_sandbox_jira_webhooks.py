"""Webhook deliveries (signed, retried, fault-injected), their body shapes, notify mails, request faults."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import jira
import pytest
import requests

from sandbox.jira import FaultRule, Faults, SandboxJira
from sandbox.jira.openapi_check import SPEC_CANDIDATES

pytestmark = pytest.mark.slow
SECRET = "It's a Secret to Everybody"
WEBHOOKS = next(p for p in SPEC_CANDIDATES if p.exists()).parent / "webhooks"


def _emma(sandbox: SandboxJira) -> jira.JIRA:
    return jira.JIRA(sandbox.url, basic_auth=("eng.emma", "eng.emma"), get_server_info=False, max_retries=0)


def test_delivery_is_signed_with_the_webhook_secret(cloud, receiver):
    cloud.register_webhook(receiver.url, secret=SECRET)
    _emma(cloud).create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})
    assert cloud.deliver_pending()
    headers, raw = receiver.received[0]
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(raw)["user"]["displayName"] == "Emma Engineer"


def test_retries_keep_the_identifier_and_count_up(cloud, receiver):
    cloud.register_webhook(receiver.url)
    receiver.statuses = [503, 429]
    _emma(cloud).create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})
    assert cloud.deliver_pending()
    headers = [h for h, _ in receiver.received]
    assert len({h["X-Atlassian-Webhook-Identifier"] for h in headers}) == 1
    assert [h.get("X-Atlassian-Webhook-Retry") for h in headers] == [None, "1", "2"]
    assert cloud.state.deliveries[0]["outcome"] == "delivered"


def test_filter_and_events_select_what_is_delivered_in_order(cloud, receiver):
    cloud.register_webhook(
        receiver.url, events=["jira:issue_updated"], jql="project = EMG AND labels = watched"
    )
    emma = _emma(cloud)
    issue = emma.create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})
    issue.update(update={"labels": [{"add": "watched"}]})
    emma.transition_issue(issue, "21")
    emma.add_comment(issue, "/approve")
    assert cloud.deliver_pending()
    assert [b.get("issue_event_type_name") for b in receiver.bodies()] == [
        "issue_updated",
        "issue_generic",
        "issue_commented",
    ]
    status_item = receiver.bodies()[1]["changelog"]["items"][0]
    assert (status_item["field"], status_item["fromString"], status_item["toString"]) == (
        "status",
        "To Do",
        "In Progress",
    )


def test_webhook_faults_drop_and_duplicate_deliveries(openapi_spec, receiver):
    faults = Faults.from_dict({"webhooks": {"script": ["drop", "duplicate"]}})
    with SandboxJira("cloud", faults=faults) as sandbox:
        sandbox.register_webhook(receiver.url, events=["jira:issue_created"])
        emma = _emma(sandbox)
        for summary in ("dropped", "twice"):
            emma.create_issue(project="EMG", summary=summary, issuetype={"name": "Task"})
        assert sandbox.deliver_pending()
    assert [b["issue"]["fields"]["summary"] for b in receiver.bodies()] == ["twice", "twice"]
    assert len({h["X-Atlassian-Webhook-Identifier"] for h, _ in receiver.received}) == 1


def test_webhook_fault_reorders_two_deliveries(openapi_spec, receiver):
    faults = Faults.from_dict({"webhooks": {"script": ["reorder"]}})
    with SandboxJira("cloud", faults=faults) as sandbox:
        sandbox.register_webhook(receiver.url, events=["jira:issue_created"])
        emma = _emma(sandbox)
        for summary in ("first", "second"):
            emma.create_issue(project="EMG", summary=summary, issuetype={"name": "Task"})
        assert sandbox.deliver_pending()
    assert [b["issue"]["fields"]["summary"] for b in receiver.bodies()] == ["second", "first"]


REFERENCE = {
    ("cloud", "jira:issue_created"): "webhook-cloud-issue-created-many-fields.json",
    ("cloud", "jira:issue_updated"): "webhook-cloud-issue-updated-custom-field.json",
    ("cloud", "comment_created"): "webhook-cloud-comment-created.json",
    ("cloud", "issuelink_created"): "issuelink-created.json",
    ("datacenter", "jira:issue_updated"): "webhook-server-issue-updated-in-progress.json",
    ("datacenter", "comment_created"): "webhook-server-comment-created.json",
    ("datacenter", "issuelink_created"): "issuelink-created.json",
}
NOT_SENT_BY_JIRA = {"level", "message", "label"}  # logging keys in the captured issue link bodies


def _missing_keys(real: dict, ours: dict, where: str = "") -> list[str]:
    missing = [f"{where}{k}" for k in real.keys() - ours.keys() - NOT_SENT_BY_JIRA]
    for level in ("issue", "user", "changelog", "comment", "issueLink"):
        if isinstance(real.get(level), dict) and isinstance(ours.get(level), dict):
            missing += _missing_keys(real[level], ours[level], f"{where}{level}.")
    return missing


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_webhook_bodies_have_the_keys_of_real_jira_bodies(flavor, request, receiver):
    sandbox = request.getfixturevalue(flavor)
    sandbox.register_webhook(receiver.url)
    emma = _emma(sandbox)
    issue = emma.create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})
    other = emma.create_issue(project="EMG", summary="Post-mortem", issuetype={"name": "Task"})
    emma.transition_issue(issue, "21")
    emma.add_comment(issue, "/approve")
    emma.create_issue_link("Blocks", issue.key, other.key)
    assert sandbox.deliver_pending()
    seen = {}
    for body in receiver.bodies():
        seen.setdefault(body["webhookEvent"], body)
    for (ref_flavor, event), name in REFERENCE.items():
        if ref_flavor == flavor:
            real = json.loads(Path(WEBHOOKS, name).read_text())
            assert _missing_keys(real, seen[event]) == [], f"{event} vs {name}"
    items = seen["jira:issue_updated"]["changelog"]["items"]
    assert ("fieldId" in items[0]) == (flavor == "cloud")


def test_the_link_webhook_names_the_inward_issue_of_the_request_its_source(cloud, receiver):
    """`inwardIssue` of `POST issueLink` is the source (api/issuelink.json with issuelink-created.json)."""
    cloud.register_webhook(receiver.url, events=["issuelink_created"])
    emma = _emma(cloud)
    blocker, blocked = (emma.create_issue(project="EMG", summary=s, issuetype={"name": "Task"}) for s in "AB")
    emma.create_issue_link("Blocks", blocker.key, blocked.key)
    assert cloud.deliver_pending()
    [body] = receiver.bodies()
    link = body["issueLink"]
    assert (str(link["sourceIssueId"]), str(link["destinationIssueId"])) == (blocker.id, blocked.id)
    assert link["issueLinkType"]["outwardName"] == "blocks"


def test_notify_records_the_mail_with_resolved_recipients(cloud):
    emma = _emma(cloud)
    issue = emma.create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})
    bot = requests.Session()
    bot.auth = ("ecm-bot", "ecm-bot")
    response = bot.post(
        f"{cloud.url}/rest/api/2/issue/{issue.key}/notify",
        json={
            "subject": "Emergency change raised",
            "textBody": "Please approve",
            "htmlBody": "<p>Please approve</p>",
            "to": {
                "reporter": True,
                "groups": [{"name": "engineering-leads"}],
                "users": [{"accountId": cloud.state.users["sec.sara"].account_id}],
            },
        },
        timeout=5,
    )
    assert response.status_code == 204
    mail = requests.get(f"{cloud.url}/_sandbox/state", timeout=5).json()["mails"][0]
    assert mail["subject"] == "Emergency change raised" and mail["htmlBody"] == "<p>Please approve</p>"
    assert mail["recipients"] == ["dual.dana", "eng.emma", "lead.liam", "sec.sara"]


def test_scripted_429_answers_with_retry_after_then_recovers(cloud):
    cloud.faults.add(FaultRule(path="/rest/api/*/myself", kind="status", status=429, retry_after=2, count=1))
    first = requests.get(f"{cloud.url}/rest/api/3/myself", auth=("admin", "admin"), timeout=5)
    second = requests.get(f"{cloud.url}/rest/api/3/myself", auth=("admin", "admin"), timeout=5)
    assert (first.status_code, first.headers["Retry-After"], second.status_code) == (429, "2", 200)
    assert first.json()["errorMessages"] == ["Rate limit exceeded."]


def test_faults_set_over_the_admin_endpoint_hold_requests_past_the_client_timeout(cloud):
    requests.post(
        f"{cloud.url}/_sandbox/faults",
        json={"rules": [{"path": "/rest/api/3/serverInfo", "kind": "timeout", "seconds": 0.5, "count": 1}]},
        timeout=5,
    )
    with pytest.raises(requests.Timeout):
        requests.get(f"{cloud.url}/rest/api/3/serverInfo", timeout=0.2)
    # The held request reaches the sandbox's handler on a thread of its own, which a loaded machine may
    # start after the client has already given up: ask until it is counted, then that it is counted once.
    deadline = time.monotonic() + 5
    while True:
        counts = requests.get(f"{cloud.url}/_sandbox/state", timeout=5).json()["requestCounts"]
        held = counts.get("GET /rest/api/<any('2','3'):version>/serverInfo", 0)
        if held or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert held == 1


def test_the_state_endpoint_answers_only_the_parts_asked_for_and_names_an_unknown_one(cloud):
    parts = requests.get(f"{cloud.url}/_sandbox/state", params={"only": "mails,issues"}, timeout=5).json()
    assert set(parts) == {"mails", "issues"}
    wrong = requests.get(f"{cloud.url}/_sandbox/state", params={"only": "mails,bodies"}, timeout=5)
    assert wrong.status_code == 400 and "bodies" in wrong.json()["errorMessages"][0]


def test_the_state_counts_each_users_requests_by_endpoint(cloud):
    requests.get(f"{cloud.url}/rest/api/3/myself", auth=("admin", "admin"), timeout=5)
    for _ in range(2):
        requests.get(f"{cloud.url}/rest/api/2/issue/EMG-999", auth=("eng.emma", "eng.emma"), timeout=5)
    by_user = requests.get(
        f"{cloud.url}/_sandbox/state", params={"only": "requestCountsByUser"}, timeout=5
    ).json()["requestCountsByUser"]
    issue = "GET /rest/api/<any('2','3'):version>/issue/<key>"
    assert by_user["eng.emma"] == {issue: 2}  # answered 404, still a request of hers
    assert by_user["admin"]["GET /rest/api/<any('2','3'):version>/myself"] == 1
    assert issue not in by_user["admin"]
