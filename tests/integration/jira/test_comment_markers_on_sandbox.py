"""A busy issue: the connector's look-before-write finds its marker on any comment page, so a retried
comment or revert never posts twice, and reconciliation replays every comment (Jira Cloud answers at
most 100 comments per page and embeds only the latest 100 in an issue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from connector.jira.actions import JiraActions, reference
from connector.jira.gateway import JiraGateway
from connector.jira.history import jira_deliveries
from connector.mapping import load_mapping
from connector.outbox import Comment, Target
from sandbox.jira import SandboxJira
from sandbox.jira import issues as ops
from tests.integration.jira.sandbox_types import add_issue_type

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")


@pytest.fixture
def sandbox():
    with SandboxJira("cloud", validate_openapi=True) as running:
        yield running
    assert running.openapi_errors == []


def _actions(sandbox) -> JiraActions:
    gateway = JiraGateway(sandbox.url, user="ecm-bot@example.com", token="ecm-bot")
    return JiraActions(gateway, MAPPING.jira, {})


def _issue_with_comments(sandbox, count: int, issue_type: str = "Task") -> str:
    with sandbox.state.lock:
        emma = sandbox.state.users["eng.emma"]
        fields = {"project": {"key": "EMG"}, "issuetype": {"name": issue_type}, "summary": "Busy"}
        key = ops.create_issue(sandbox.state, emma, {"fields": fields}).key
    _add_comments(sandbox, key, count)
    return key


def _add_comments(sandbox, key: str, count: int) -> None:
    with sandbox.state.lock:
        emma = sandbox.state.users["eng.emma"]
        for n in range(count):
            ops.add_comment(sandbox.state, emma, sandbox.state.issue(key), f"comment {n}")


def _bodies(sandbox, key: str) -> list[str]:
    with sandbox.state.lock:
        return [str(c.body) for c in sandbox.state.issue(key).comments]


def test_a_retried_comment_is_found_on_a_later_comment_page(sandbox):
    key = _issue_with_comments(sandbox, 130)  # the connector's comment lands on the second page
    actions = _actions(sandbox)
    first = actions.comment(Comment("Missing approvals (step 2)"), Target(key), "outbox:7")

    again = actions.comment(Comment("Missing approvals (step 2)"), Target(key), "outbox:7")

    assert again == {"comment": first["comment"], "skipped": "comment exists"}
    assert sum(reference("outbox:7") in body for body in _bodies(sandbox, key)) == 1


def test_every_comment_of_a_busy_issue_is_read(sandbox):
    key = _issue_with_comments(sandbox, 250)
    comments = _actions(sandbox).gateway.comments(key)
    assert [c.body for c in comments] == [f"comment {n}" for n in range(250)]


def test_reconciliation_replays_every_comment_of_a_busy_issue(sandbox):
    add_issue_type(sandbox, "Emergency Change")
    key = _issue_with_comments(sandbox, 0, issue_type="Emergency Change")
    _add_comments(sandbox, key, 120)  # Jira Cloud embeds only the latest 100 in the search result
    tool = SimpleNamespace(mapping=MAPPING, gateway=_actions(sandbox).gateway)
    now = datetime.now(UTC)

    replayed = [d.delivery_id for d, _event in jira_deliveries(tool, now - timedelta(hours=1), now)]

    assert sum(d.startswith("reconcile:comment:") for d in replayed) == 120
