"""A whole emergency change through the real `jira` library, the sandbox's signed webhooks, the
connector's web service and its outbox dispatcher — including violations, duplicates and faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from connector.demo.overdue import OverdueChapter
from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory
from connector.jira.gateway import JiraLink
from connector.store.tables import DeliveryRow, OutboxRow
from connector.store.uow import UnitOfWork
from sandbox.jira.faults import Faults

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, database_url):
    with JiraStack(tmp_path, database_url=database_url) as running:
        yield running


def test_full_lifecycle_holds_every_check_of_the_demo(stack):
    story = JiraStory(stack, say=lambda _line: None)
    result = story.demo()
    failed = [f"{c.what}: {c.detail}" for c in result.checks if not c.held]
    assert failed == []
    sla_checks = [c.what for c in result.checks if "(R10)" in c.what]
    assert [w.split(" arrived")[0] for w in sla_checks] == [
        "the reminder 1 business day before the deadline",
        "the reminder 4 hours before the deadline",
        "the SLA breach alert at the deadline",
        "the first escalation at the end of the next business day",
    ]
    assert result.postmortem_key and result.due.endswith("23:59:59-05:00")
    assert stack.dispatch.errors == []
    # Jira reads "<change> has post-mortem <post-mortem>" and "<post-mortem> is post-mortem of <change>"
    admin = story.person("admin")
    change = admin.get_issue(result.key, fields=["issuelinks"])
    postmortem = admin.get_issue(result.postmortem_key, fields=["issuelinks"])
    assert change.links == (JiraLink("Post-Mortem", "outward", result.postmortem_key),)
    assert postmortem.links == (JiraLink("Post-Mortem", "inward", result.key),)


def test_duplicated_and_reordered_webhooks_still_give_one_postmortem(stack):
    stack.sandbox.faults.replace(
        Faults.from_dict({"seed": 3, "webhooks": {"duplicate": 0.6, "reorder": 0.3}})
    )
    story = JiraStory(stack, say=lambda _line: None)
    result = story.play()
    assert result.postmortem_key
    issue = story.person("admin").get_issue(result.key, fields=["issuelinks"])
    assert [link.key for link in issue.links if link.type == "Post-Mortem"] == [result.postmortem_key]
    with UnitOfWork(stack.connector.database) as uow:
        duplicates = uow.session.scalar(
            select(func.count()).select_from(DeliveryRow).where(DeliveryRow.outcome == "duplicate")
        )
        dead = uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "dead")
        )
    assert dead == 0
    assert duplicates > 0  # the sandbox did send duplicates, and they were recognised


def test_jira_answering_429_and_503_delays_actions_but_loses_none(stack):
    # Only calls the connector makes (people's own clicks are not made to fail here).
    rules = [
        {"path": "/rest/api/*/issueLink", "method": "POST", "kind": "status", "status": 503, "rate": 0.5},
        {
            "path": "/rest/api/*/issue/*/notify",
            "method": "POST",
            "kind": "status",
            "status": 429,
            "retry_after": 1,
            "rate": 0.5,
        },
        {"path": "/rest/api/*/search/jql", "kind": "status", "status": 502, "rate": 0.5},
        {"path": "/rest/api/*/group/member", "kind": "status", "status": 503, "count": 1},
    ]
    stack.sandbox.faults.replace(Faults.from_dict({"seed": 11, "rules": rules}))
    result = JiraStory(stack, say=lambda _line: None).play()
    assert result.postmortem_key

    def outbox_statuses():
        with UnitOfWork(stack.connector.database) as uow:
            query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
            return dict(uow.session.execute(query).all())

    # A retry scheduled after three quick failures waits seconds, not minutes.
    drained = stack.settle(lambda: outbox_statuses().get("pending", 0) == 0, timeout=60)
    statuses = outbox_statuses()
    assert drained, statuses
    assert statuses.get("dead", 0) == 0


def parse_jira_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_the_overdue_change_gets_each_reminder_the_breach_and_an_escalation_at_the_demo_clocks_time(stack):
    story = JiraStory(stack, say=lambda _line: None)
    OverdueChapter(story).play()
    key = story.result.overdue_key
    due = story.facts(key).postmortem.due_at
    calendar = story.ctx.calendar
    alerts = story.alerts_in_tool(key)
    assert [a.kind for a in alerts] == ["reminder", "reminder", "breach", "escalation"]
    expected = [
        calendar.shift(due, business_days=1),
        calendar.shift(due, hours=4),
        due,
        calendar.shift(due, business_days=-1),
    ]
    for alert, moment in zip(alerts, expected, strict=True):  # sent by Jira's clock, the demo clock
        assert timedelta(0) <= alert.sent_at - moment < timedelta(seconds=30), (alert, moment)
    assert {"lead.liam", "sec.sara", "eng.emma"} <= set(alerts[2].to)  # assignee, leads and security
    assert set(alerts[0].to) == {"eng.emma"}  # a reminder: the assignee and the engineer
    # the comments and the label the connector adds are dated by the same clock
    issue = story.person("admin").get_issue(key, fields=["labels", "updated"])
    breach_comment = next(c for c in story.person("admin").comments(key) if "SLA breach:" in c.body)
    assert timedelta(0) <= parse_jira_time(breach_comment.created) - due < timedelta(seconds=30)
    assert "sla-breached" in issue.labels
    assert parse_jira_time(issue.fields["updated"]) >= due
    assert datetime.now(UTC) < due - timedelta(days=1)  # the demo clock, not the machine's, moved


def test_a_notification_jira_refuses_fails_the_r10_checks_by_name(stack):
    stack.sandbox.faults.replace(
        Faults.from_dict(
            {
                "rules": [
                    {"path": "/rest/api/*/issue/*/notify", "method": "POST", "kind": "status", "status": 400}
                ]
            }
        )
    )
    story = JiraStory(stack, say=lambda _line: None)
    OverdueChapter(story, wait=1.0).play()
    failed = [c.what for c in story.result.checks if not c.held]
    assert len(failed) == 4 and all("(R10)" in what for what in failed)
    assert failed[0].startswith("the reminder 1 business day before the deadline arrived in Jira once")
