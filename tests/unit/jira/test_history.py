"""Reconciliation reads an issue's REST answer (search with the changelog) into the typed events its
webhooks would have carried, with the webhook parser's own readers: the same event for the same comment,
the creation in the status before the first move, the latest move even from before the window."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from connector.inbound.events import CommentAdded, Ignored, IssueCreated, IssueUpdated
from connector.inbound.jira import parse_jira
from connector.jira.history import jira_issue_deliveries

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SINCE = datetime(2026, 12, 1, 10, tzinfo=UTC)
EMMA = {"accountId": "acc-emma", "displayName": "Emma"}
LIAM = {"accountId": "acc-liam", "displayName": "Liam"}
COMMENT = {
    "id": "10042",
    "author": LIAM,
    "body": {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "/approve"}]}],
    },
    "created": "2026-12-01T11:30:00.250+0000",
    "updated": "2026-12-01T11:30:00.250+0000",
}


def status_move(history_id: str, at: str, old: str, new: str, who: dict = EMMA) -> dict:
    item = {"field": "status", "fieldtype": "jira", "fieldId": "status", "fromString": old, "toString": new}
    return {"id": history_id, "author": who, "created": at, "items": [item]}


def searched_issue() -> dict:
    return {
        "id": "10001",
        "key": "EMG-1",
        "fields": {
            "issuetype": {"name": "Emergency Change"},
            "status": {"id": "3", "name": "Approved"},
            "reporter": EMMA,
            "creator": EMMA,
            "created": "2026-12-01T08:00:00.000+0000",
            "summary": "DB down",
            "customfield_10050": {"value": "Service outage", "id": "1"},
            "comment": {"comments": [COMMENT], "total": 1, "maxResults": 100, "startAt": 0},
        },
        "changelog": {
            "histories": [
                status_move("100", "2026-12-01T09:00:00.000+0000", "Identified", "Awaiting Approval"),
                {"id": "101", "author": EMMA, "created": "2026-12-01T10:30:00.000+0000", "items": []},
                status_move("102", "2026-12-01T09:30:00.000+0000", "Awaiting Approval", "Approved", LIAM),
            ]
        },
    }


def test_an_issue_becomes_its_creation_its_latest_move_and_the_windows_entries_in_time_order():
    replayed = list(jira_issue_deliveries(searched_issue(), SINCE, NOW))

    assert [delivery.delivery_id for delivery, _ in replayed] == [
        "reconcile:created:10001",
        "reconcile:changelog:102",  # before the window, but the latest status change
        "reconcile:changelog:101",
        "reconcile:comment:10042",
    ]
    (_, created), (_, moved), (_, empty), (_, comment) = replayed
    assert isinstance(created, IssueCreated) and created.status == "Identified"
    assert created.fields["status"] == "Identified" and created.actor == "acc-emma"
    assert created.at == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert (
        isinstance(moved, IssueUpdated) and moved.actor == "acc-liam" and moved.subject_id == "changelog:102"
    )
    assert moved.status_change().new == "Approved" and moved.fields["customfield_10050"] == "Service outage"
    assert isinstance(empty, Ignored)
    assert isinstance(comment, CommentAdded) and comment.body == "/approve"
    assert {d.source for d, _ in replayed} == {"jira"} and {d.issue_key for d, _ in replayed} == {"EMG-1"}


def test_a_replayed_comment_is_the_event_its_webhook_carries():
    issue = searched_issue()
    [(_, replayed)] = [
        (d, e) for d, e in jira_issue_deliveries(issue, SINCE, NOW) if d.event_type == "comment_created"
    ]

    webhook_issue = {**issue, "fields": {k: v for k, v in issue["fields"].items() if k != "comment"}}
    body = {
        "webhookEvent": "comment_created",
        "timestamp": int(datetime(2026, 12, 1, 11, 30, 0, 250000, tzinfo=UTC).timestamp() * 1000),
        "comment": COMMENT,
        "issue": {k: v for k, v in webhook_issue.items() if k != "changelog"},
    }
    _, delivered = parse_jira({}, json.dumps(body).encode(), received_at=NOW)

    assert replayed == delivered
    assert replayed.fields == delivered.fields
