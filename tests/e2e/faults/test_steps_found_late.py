"""A step whose webhook was lost and that the change has moved on past is found when reconciliation
replays the issue's history: judged as it was taken, recorded and alerted once if it broke the
procedure (it stood: the change has moved on, nothing is reverted), and nothing if it did not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connector.demo.stack import JiraStack
from connector.evidence.packet import build_packet
from connector.evidence.population import NON_COMPLIANT, population
from connector.evidence.rulebook import RuleBook
from connector.procedure.model import Stage
from connector.reconcile import reconcile
from connector.store.tables import AlertRow, ChangeRow, ViolationRow
from connector.store.uow import UnitOfWork

from .conftest import (
    connector_comments,
    connector_mails,
    connector_status_changes,
    outbox_statuses,
    people,
    raised_awaiting_approval,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, database_url):
    with JiraStack(tmp_path, database_url=database_url) as running:  # reconciliation run by the tests
        yield running


def approve_click_lost_then_moved_on(stack, story, *, security_first: bool) -> str:
    """The lead approves by comment and clicks Approve, whose webhook is lost; the security approval
    comes before the click (`security_first`) or after it; then the engineer moves the change to In
    Review, which the connector hears and records (both approvals are known by then)."""
    statuses = story.section.statuses
    key = raised_awaiting_approval(story)
    assert story.wait_stage(key, Stage.AWAITING_APPROVAL)
    story.comment("lead.liam", key, "/approve")
    if security_first:
        story.comment("sec.sara", key, "/approve")
    assert stack.settle(lambda: len(story.facts(key).approvals) == (2 if security_first else 1), 20)
    stack.sandbox.faults.webhooks.script = ["drop"]  # the lead's Approve click
    stack.sandbox.faults.webhooks.script_actor = "lead.liam"
    story.move("lead.liam", key, statuses.approved)
    stack.sandbox.deliver_pending()
    if not security_first:
        story.comment("sec.sara", key, "/approve")
        assert stack.settle(lambda: len(story.facts(key).approvals) == 2, 20)
    story.move("eng.emma", key, statuses.in_review)
    assert story.wait_stage(key, Stage.IN_REVIEW)
    assert stack.settle(lambda: outbox_statuses(stack.connector.database).get("pending", 0) == 0, 20)
    return key


def recorded(stack, key: str) -> tuple[list[ViolationRow], list[AlertRow]]:
    with UnitOfWork(stack.connector.database) as uow:
        change = uow.session.scalar(select(ChangeRow.id).where(ChangeRow.key == key))
        violations = list(uow.session.scalars(select(ViolationRow).where(ViolationRow.change_id == change)))
        alerts = list(
            uow.session.scalars(
                select(AlertRow).where(AlertRow.change_id == change, AlertRow.kind == "violation")
            )
        )
        uow.session.expunge_all()
        return violations, alerts


def violation_mails(stack, key: str) -> dict[str, int]:
    mails = connector_mails(stack.sandbox).items()
    return {subject: n for (issue, subject), n in mails if issue == key and "violation" in subject}


def test_an_approve_step_taken_before_the_security_approval_is_recorded_once_when_found_late(stack):
    story = people(stack)
    key = approve_click_lost_then_moved_on(stack, story, security_first=False)
    assert recorded(stack, key) == ([], [])  # the connector never heard of the click

    reconcile(stack.connector, "jira")
    reconcile(stack.connector, "jira")  # runs every few minutes: the same history again

    assert stack.settle(lambda: outbox_statuses(stack.connector.database).get("pending", 0) == 0, 30)
    assert stack.dispatch.errors == []
    violations, alerts = recorded(stack, key)
    assert [(v.from_stage, v.to_stage, v.found_late, v.reverted) for v in violations] == [
        ("awaiting_approval", "approved", True, False)
    ]
    assert violations[0].rules == ["R2"] and violations[0].actor == story.person("lead.liam").myself().id
    assert len(alerts) == 1
    mails = violation_mails(stack, key)
    assert list(mails.values()) == [1] and "found late" in next(iter(mails)), mails
    said = [body for body in connector_comments(stack.sandbox, key) if "Found late" in body]
    assert len(said) == 1 and "was not reverted" in said[0] and "Security Team" in said[0], said
    # history: nothing is moved back, the change stays where Jira and the connector have it
    assert story.status(key) == story.section.statuses.in_review
    assert story.facts(key).stage is Stage.IN_REVIEW
    assert connector_status_changes(stack.sandbox, key) == []
    rulebook = RuleBook.from_connector(stack.connector)
    with UnitOfWork(stack.connector.database) as uow:
        packet = build_packet(uow.session, key, rulebook, whole_chain=False)
        now = datetime.now(UTC)
        (row,) = [r for r in population(uow.session, now - timedelta(days=1), now, rulebook) if r.key == key]
    r9 = next(rule for rule in packet["rules"] if rule["rule"] == "R9")
    assert r9["status"] == "violated" and "stood" in r9["exceptions"][0]["outcome"], r9
    assert (row.blocked_or_reverted, row.stood, row.compliance) == (0, 1, NON_COMPLIANT)
    assert "R9" in row.reasons


def test_an_approve_step_taken_after_both_approvals_records_nothing_when_found_late(stack):
    story = people(stack)
    key = approve_click_lost_then_moved_on(stack, story, security_first=True)

    report = reconcile(stack.connector, "jira")

    assert stack.settle(lambda: outbox_statuses(stack.connector.database).get("pending", 0) == 0, 30)
    assert report.outcomes.get("handled", 0) >= 1, report.outcomes  # the click was replayed
    assert recorded(stack, key) == ([], [])
    assert violation_mails(stack, key) == {}
    assert story.facts(key).stage is Stage.IN_REVIEW
    assert connector_status_changes(stack.sandbox, key) == []
