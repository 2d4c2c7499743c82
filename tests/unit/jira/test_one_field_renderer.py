"""A Jira issue's fields read the same whether they come in a webhook or from the REST API: one renderer
(`connector/inbound/render.py`) serves the webhook parser, reconciliation and the gateway."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from connector.inbound.jira import parse_jira
from connector.jira.gateway import JiraGateway

URL = "https://example.atlassian.net"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
# Values the two renderers used to read apart: a user picker (display name vs account id), an empty
# text, a whole number sent as a float, and an object with no name (nothing vs its JSON).
FIELDS = {
    "issuetype": {"name": "Emergency Change"},
    "status": {"name": "Awaiting Approval"},
    "summary": "DB down",
    "customfield_10060": {"accountId": "acc-lena", "displayName": "Lena Lead", "active": True},
    "customfield_10061": "",
    "customfield_10062": 3.0,
    "customfield_10063": {"self": "https://example.atlassian.net/rest/api/2/x/1"},
    "customfield_10064": {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "ask "},
                    {"type": "mention", "attrs": {"text": "@Sara"}},
                ],
            }
        ],
    },
}
EXPECTED = {
    "customfield_10060": "acc-lena",
    "customfield_10061": "",
    "customfield_10062": "3",
    "customfield_10063": '{"self":"https://example.atlassian.net/rest/api/2/x/1"}',
    "customfield_10064": "ask @Sara",
}


@pytest.fixture
def http():
    with responses.RequestsMock() as mock:
        yield mock


def test_a_field_renders_the_same_in_a_webhook_and_from_the_rest_api(http):
    issue = {"id": "10001", "key": "EMG-1", "fields": FIELDS}
    body = {"webhookEvent": "jira:issue_created", "user": {"accountId": "acc-emma"}, "issue": issue}
    _, event = parse_jira({}, json.dumps(body).encode(), received_at=NOW)

    http.get(f"{URL}/rest/api/2/issue/EMG-1", json=issue)
    fetched = JiraGateway(URL, flavor="cloud", user="bot@example.com", token="t").get_issue("EMG-1")

    webhook = {name: event.fields[name] for name in EXPECTED}
    rest = {name: fetched.fields[name] for name in EXPECTED}
    assert webhook == rest == EXPECTED
