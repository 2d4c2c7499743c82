"""A change the connector first hears of from a comment (the webhooks of its creation, its moves and its
approvals late or lost) is not registered in the status that comment shows: that stage was never seen
entered, and the approvals made before it would be refused against it ("recorded while a change awaits
approval; it is in review"), every later Reviewed then reverted. The comment waits for a catch-up from
the tool, which replays the change's history in order, the comment included."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from connector import commands as c
from connector.inbound.events import CommentAdded, Delivery
from connector.jira import ADAPTER as JIRA
from connector.outbox import CatchUp
from connector.procedure.model import ReviewKind, Stage
from connector.services import deliveries
from connector.store.outbox import decode
from connector.store.tables import ChangeRow, MarkerRow, OutboxRow, ViolationRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime
from tests.fakes import ChangeSteps, handled

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
BASE = {"tool": "jira", "key": "EMG-1"}


def review_comment() -> CommentAdded:
    """Jira Cloud's comment_created: six issue fields, the status among them, no custom field."""
    return CommentAdded(
        tool="jira",
        key="EMG-1",
        remote_id="10001",
        issue_type="Emergency Change",
        actor="sec.sara",
        at=AT + timedelta(minutes=6),
        status="In Review",
        subject_id="comment:10046",
        comment_id="10046",
        body="/security-reviewed",
    )


def as_jira_translates(event, origin: str) -> list[c.Command]:
    """What the Jira translator makes of a comment: the change registered (from a comment without its
    custom fields: incomplete, in the status it shows), then the comment's command."""
    base = {**BASE, "actor": event.actor, "at": event.at, "origin": origin}
    return [
        c.RegisterChange(**base, title="", stage=Stage.IN_REVIEW, remote_status="In Review", complete=False),
        c.RecordReview(**base, kind=ReviewKind.SECURITY),
    ]


def tools(ctx) -> dict[str, ToolRuntime]:
    return {"jira": ToolRuntime("jira", None, ctx, as_jira_translates, None, None, JIRA)}


def webhook(delivery_id: str) -> Delivery:
    return Delivery("jira", delivery_id, "comment_created", "EMG-1", AT, body=b'{"webhookEvent": "x"}')


def rows(database, table) -> list:
    with database.session() as session:
        return list(session.scalars(select(table).order_by(table.id)))


STEPS = ChangeSteps(AT)  # the change's history in the tool


def test_the_first_comment_heard_of_a_change_waits_for_its_history_from_the_tool(database, ctx):
    assert deliveries.receive(database, tools(ctx), webhook("w-1"), review_comment()) == "handled"

    assert rows(database, ChangeRow) == []  # not registered in a stage it was never seen entering
    assert rows(database, MarkerRow) == []  # the comment is processed when its replay comes
    [row] = rows(database, OutboxRow)
    target, action = decode(row.action, row.payload)
    assert isinstance(action, CatchUp) and target.key == "EMG-1" and row.status == "pending"


def test_its_approvals_replayed_from_the_history_are_recorded_and_its_comment_after_them(database, ctx):
    deliveries.receive(database, tools(ctx), webhook("w-1"), review_comment())

    handled(  # what the catch-up's replay of the change's history records, in the tool's order
        database,
        ctx,
        STEPS.raised("reconcile:created:10001", Stage.IDENTIFIED),
        STEPS.moved("eng.emma", 1, "reconcile:changelog:1", Stage.AWAITING_APPROVAL),
        STEPS.approval("lead.liam", 2, "reconcile:comment:1", evidence="c:1"),
        STEPS.approval("sec.sara", 3, "reconcile:comment:2", evidence="c:2"),
        STEPS.moved("lead.liam", 4, "reconcile:changelog:2", Stage.APPROVED),
        STEPS.moved("eng.emma", 5, "reconcile:changelog:3", Stage.IN_REVIEW),
    )
    replayed = webhook("reconcile:comment:10046")
    assert deliveries.receive(database, tools(ctx), replayed, review_comment()) == "handled"

    with UnitOfWork(database) as uow:
        facts = uow.changes.to_facts(uow.changes.get("jira", "EMG-1"))
    assert [a.approver for a in facts.approvals] == ["lead.liam", "sec.sara"]
    assert [r.reviewer for r in facts.reviews] == ["sec.sara"] and facts.stage is Stage.IN_REVIEW
    assert rows(database, ViolationRow) == []


def test_a_later_comment_on_a_change_already_known_is_handled_as_before(database, ctx):
    handled(database, ctx, STEPS.raised("w-0", Stage.IN_REVIEW))
    later = dataclasses.replace(review_comment(), subject_id="comment:10047")
    assert deliveries.receive(database, tools(ctx), webhook("w-2"), later) == "handled"
    with UnitOfWork(database) as uow:
        facts = uow.changes.to_facts(uow.changes.get("jira", "EMG-1"))
    assert [r.reviewer for r in facts.reviews] == ["sec.sara"]
