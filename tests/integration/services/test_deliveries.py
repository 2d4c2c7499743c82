"""Receiving a delivery: recorded once, a subject processed once whatever the route, translated, handled,
committed together (`connector.services.deliveries.receive`)."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from connector import commands as c
from connector import services
from connector.inbound.events import CommentAdded, Delivery, Ignored
from connector.jira import ADAPTER as JIRA
from connector.procedure.model import ReviewKind, Stage
from connector.services import deliveries
from connector.services.reverts import reconsider_revert
from connector.store.tables import AuditRow, ChangeRow, DeliveryRow, MarkerRow, OutboxRow, ViolationRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime
from tests.fakes import ChangeSteps, handled

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def comment(subject: str | None = "comment:10042") -> CommentAdded:
    return CommentAdded(
        tool="jira",
        key="EMG-1",
        remote_id="10001",
        issue_type="Emergency Change",
        actor="eng.emma",
        at=AT,
        subject_id=subject,
        comment_id="10042",
        body="hello",
    )


def delivery(delivery_id: str) -> Delivery:
    return Delivery("jira", delivery_id, "comment_created", "EMG-1", AT, body=b'{"webhookEvent": "x"}')


def register(event, origin: str) -> list[c.Command]:
    fields = {"tool": "jira", "key": event.key, "actor": event.actor, "at": event.at, "origin": origin}
    return [c.RegisterChange(**fields, title="t", category="Service outage", impact="checkout is down")]


def jira(ctx, translate=register) -> dict[str, ToolRuntime]:
    return {"jira": ToolRuntime("jira", None, ctx, translate, None, None, JIRA)}


def rows(database, table) -> list:
    with database.session() as session:
        return list(session.scalars(select(table).order_by(table.id)))


def test_a_delivery_is_translated_handled_and_recorded_in_one_transaction(database, ctx):
    assert deliveries.receive(database, jira(ctx), delivery("d-1"), comment()) == "handled"
    [row] = rows(database, DeliveryRow)
    assert (row.source, row.delivery_id, row.outcome, row.detail) == ("jira", "d-1", "handled", "handled")
    assert [change.key for change in rows(database, ChangeRow)] == ["EMG-1"]


def test_the_same_delivery_again_is_a_duplicate_and_not_handled_again(database, ctx):
    deliveries.receive(database, jira(ctx), delivery("d-1"), comment())
    assert deliveries.receive(database, jira(ctx), delivery("d-1"), comment()) == "duplicate"
    assert [row.outcome for row in rows(database, DeliveryRow)] == ["handled"]
    with database.session() as session:
        assert list(session.scalars(select(AuditRow.action))) == ["change-registered"]


def test_a_subject_seen_under_another_delivery_id_is_a_duplicate(database, ctx):
    """A comment delivered by webhook and found again by reconciliation is processed once."""
    assert deliveries.receive(database, jira(ctx), delivery("webhook-1"), comment()) == "handled"
    assert (
        deliveries.receive(database, jira(ctx), delivery("reconcile:comment:10042"), comment()) == "duplicate"
    )
    outcomes = [(row.delivery_id, row.outcome, row.detail) for row in rows(database, DeliveryRow)]
    assert outcomes == [
        ("webhook-1", "handled", "handled"),
        ("reconcile:comment:10042", "duplicate", "already processed: comment:10042"),
    ]
    [marker] = rows(database, MarkerRow)
    assert (marker.kind, marker.key, marker.issue_key) == ("subject", "jira:comment:10042", "EMG-1")


def test_an_ignored_event_is_recorded_with_its_reason_and_sets_no_marker(database, ctx):
    ignored = Ignored("an ordinary comment", "EMG-1")
    assert deliveries.receive(database, jira(ctx), delivery("d-1"), ignored) == "ignored"
    assert deliveries.receive(database, jira(ctx), delivery("d-1"), ignored) == "duplicate"
    [row] = rows(database, DeliveryRow)
    assert (row.outcome, row.detail) == ("ignored", "an ordinary comment")
    assert rows(database, MarkerRow) == []


def test_a_delivery_for_a_tool_without_a_mapping_is_ignored(database):
    assert deliveries.receive(database, {}, delivery("d-1"), comment()) == "ignored"
    [row] = rows(database, DeliveryRow)
    assert row.detail == "no jira mapping is configured"


def test_a_command_that_fails_leaves_nothing_behind_so_the_tool_may_redeliver(database, ctx):
    def naive_time(event, origin):
        return register(dataclasses.replace(event, at=event.at.replace(tzinfo=None)), origin)

    with pytest.raises(StatementError, match="naive datetime"):
        deliveries.receive(database, jira(ctx, naive_time), delivery("d-1"), comment())
    assert rows(database, DeliveryRow) == [] and rows(database, MarkerRow) == []
    assert deliveries.receive(database, jira(ctx), delivery("d-1"), comment()) == "handled"


@pytest.mark.postgres
def test_a_replay_of_a_comment_while_a_webhook_batch_holds_it_waits_instead_of_deadlocking(database, ctx):
    """Reconciliation replays a comment while a web process's batch, which holds the audit chain's lock,
    writes the webhook of the same comment: the replay waits for the batch and is a duplicate, and the
    webhook is answered (a deadlock would fail one of them, the webhook with a 500)."""
    if database.dialect != "postgresql":
        pytest.skip("row and advisory locks are PostgreSQL's; SQLite serialises whole transactions")
    tools = jira(ctx)
    replayed: list[object] = []

    def replay() -> None:
        try:
            replayed.append(
                deliveries.receive(database, tools, delivery("reconcile:comment:10042"), comment())
            )
        except Exception as error:  # noqa: BLE001 - asserted below
            replayed.append(error)

    with UnitOfWork(database) as batch:
        batch.audit.lock()  # as the web process's writer does first for its batch
        replaying = threading.Thread(target=replay)
        replaying.start()
        pid = batch.session.execute(text("SELECT pg_backend_pid()")).scalar()
        assert _blocked_by(database, pid, seconds=30), "the replay never waited for the batch"
        webhook = deliveries.process(batch, tools, delivery("webhook-1"), comment(), register(comment(), "w"))
        batch.commit()
    replaying.join(timeout=30)

    assert webhook == "handled"
    assert replayed == ["duplicate"]
    assert [change.key for change in rows(database, ChangeRow)] == ["EMG-1"]


def _blocked_by(database, pid: int, seconds: float) -> bool:
    """Another backend waits for a lock that the backend `pid` holds (the replay, behind the batch)."""
    deadline = time.monotonic() + seconds
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    while time.monotonic() < deadline:
        with database.session() as session:
            if session.execute(query, {"pid": pid}).scalar():
                return True
        time.sleep(0.05)
    return False


def test_a_replayed_review_made_after_a_step_that_waits_to_be_judged_again_waits_for_that_judgement(
    database, ctx
):
    """The lead's Approve was judged without the security approval, whose webhook was lost; its revert
    is pending and will be judged again after a catch-up. Reconciliation replays a review made after
    that step: it is not judged against the stage the revert may still change (it would be refused as
    "before approval"), but left to a catch-up queued after the revert; an approval made before the step
    is judged as it comes, since the revert's judgement needs it."""
    base = {"tool": "jira", "key": "EMG-1", "origin": "d-0"}
    steps = ChangeSteps(AT)
    [_, approve] = handled(database, ctx, steps.raised(), steps.moved("lead.liam", 5, "d-1", Stage.APPROVED))
    assert approve.startswith("refused")

    def review(event, origin):
        return [
            c.RecordReview(**{**base, "origin": origin}, actor="peer.pete", at=event.at, kind=ReviewKind.PEER)
        ]

    later = dataclasses.replace(comment(), at=AT + timedelta(minutes=7))
    replay = delivery("reconcile:comment:10042")
    assert deliveries.receive(database, jira(ctx, review), replay, later) == "deferred"
    assert deliveries.receive(database, jira(ctx, review), replay, later) == "deferred"  # the next run

    assert facts_of(database).reviews == ()
    assert [v.to_stage for v in rows(database, ViolationRow)] == ["approved"]  # the step's, no other
    assert rows(database, MarkerRow) == [] and rows(database, DeliveryRow) == []  # replayed again later
    pending = [(r.action, r.idempotency_key) for r in rows(database, OutboxRow) if r.status == "pending"]
    actions = [action for action, _ in pending]
    assert actions.count("catch_up") == 1 and actions.index("catch_up") > actions.index("revert"), pending

    def approval(event, origin):
        return [
            c.RecordApproval(
                **{**base, "origin": origin}, actor="sec.sara", at=event.at, evidence="comment:10041"
            )
        ]

    earlier = dataclasses.replace(comment("comment:10041"), comment_id="10041", at=AT + timedelta(minutes=2))
    replayed = deliveries.receive(database, jira(ctx, approval), delivery("reconcile:comment:10041"), earlier)
    assert replayed == "handled"
    assert [a.approver for a in facts_of(database).approvals] == ["lead.liam", "sec.sara"]

    with UnitOfWork(database) as uow:  # the dispatcher judges the revert again: withdrawn, the step stands
        [revert] = uow.session.scalars(select(OutboxRow).where(OutboxRow.action == "revert"))
        assert reconsider_revert(uow, revert, ctx, AT + timedelta(minutes=9)) is not None
        revert.status = "done"
        uow.commit()
    assert deliveries.receive(database, jira(ctx, review), replay, later) == "handled"  # the catch-up's
    facts = facts_of(database)
    assert facts.stage is Stage.APPROVED and [r.reviewer for r in facts.reviews] == ["peer.pete"]
    assert rows(database, ViolationRow) == []


def facts_of(database):
    with UnitOfWork(database) as uow:
        return uow.changes.to_facts(uow.changes.get("jira", "EMG-1"))


def test_a_replayed_review_that_holds_is_recorded_at_once_though_a_step_before_it_waits_for_its_revert(
    database, ctx
):
    """The engineer marked the change reviewed before any review (a violation: its revert is pending); a
    review replayed meanwhile holds in the stage the change is in, so it is recorded now, not deferred."""
    base = {"tool": "jira", "key": "EMG-1"}
    steps = ChangeSteps(AT)
    outcomes = handled(
        database,
        ctx,
        steps.raised(),
        steps.approval("lead.liam", 1, "d-1", evidence="c:1"),
        steps.approval("sec.sara", 2, "d-2", evidence="c:2"),
        steps.moved("lead.liam", 3, "d-3", Stage.APPROVED),
        steps.moved("eng.emma", 4, "d-4", Stage.IN_REVIEW),
        steps.moved("eng.emma", 5, "d-5", Stage.REVIEWED),
    )
    assert outcomes[-1].startswith("refused")  # reviewed before any review: reverted

    def review(event, origin):
        return [
            c.RecordReview(**{**base, "origin": origin}, actor="peer.pete", at=event.at, kind=ReviewKind.PEER)
        ]

    later = dataclasses.replace(comment(), at=AT + timedelta(minutes=6))
    assert (
        deliveries.receive(database, jira(ctx, review), delivery("reconcile:comment:10042"), later)
        == "handled"
    )
    assert [r.reviewer for r in facts_of(database).reviews] == ["peer.pete"]
    assert [r.action for r in rows(database, OutboxRow)].count("catch_up") == 0


def test_an_update_of_a_post_mortem_not_recorded_yet_is_replayed_once_its_create_is_recorded(database, ctx):
    """The connector's create of the post-mortem timed out and Jira made it anyway; the engineer wrote the
    report and moved it to Done before the retry found it. The update is not lost: it is left unmarked
    and recorded when reconciliation replays it after the post-mortem is known."""
    from connector.inbound.events import IssueUpdated
    from connector.store.tables import PostMortemRow

    with UnitOfWork(database) as uow:
        change = ChangeRow(
            tool="jira",
            key="EMG-1",
            engineer="eng.emma",
            stage="postmortem",
            created_at=AT,
            updated_at=AT,
            deployed_at=AT,
        )
        change.postmortem = PostMortemRow(due_at=AT + timedelta(days=3), assignee="eng.emma", participants=[])
        uow.changes.add(change)
        uow.commit()
    done = IssueUpdated(
        tool="jira",
        key="EMG-9",
        remote_id="10009",
        issue_type="Post-Mortem",
        actor="eng.emma",
        at=AT + timedelta(minutes=1),
        status="Done",
        subject_id="changelog:10090",
    )

    def update(event, origin):
        return [
            c.UpdatePostMortem(
                tool="jira",
                key=event.key,
                actor=event.actor,
                at=event.at,
                origin=origin,
                done=True,
                report_url="https://wiki.example.com/pm/1",
            )
        ]

    webhook = Delivery("jira", "w-1", "jira:issue_updated", "EMG-9", AT, body=b"{}")
    replay = Delivery("jira", "reconcile:changelog:10090", "jira:issue_updated", "EMG-9", AT, body=b"{}")
    assert deliveries.receive(database, jira(ctx, update), webhook, done) == "ignored"
    assert deliveries.receive(database, jira(ctx, update), replay, done) == "deferred"
    assert rows(database, MarkerRow) == []

    with UnitOfWork(database) as uow:  # the retry of the create found it
        found = c.RecordPostMortemCreated(
            tool="jira",
            key="EMG-1",
            actor="ecm-bot",
            at=AT + timedelta(minutes=2),
            origin="outbox:1",
            postmortem_key="EMG-9",
        )
        services.handle(uow, found, ctx)
        uow.commit()
    assert deliveries.receive(database, jira(ctx, update), replay, done) == "handled"
    with UnitOfWork(database) as uow:
        postmortem = uow.changes.get("jira", "EMG-1").postmortem
        assert postmortem.report_url == "https://wiki.example.com/pm/1" and postmortem.done_at is not None


def test_a_webhook_review_that_would_be_refused_is_decided_on_the_tools_history_first(database, ctx):
    """The Approve move's webhook was lost and Jira's comment_created shows no status: the review that
    would be refused as "before approval" is left to a catch-up, whose replay of the lost move comes
    first; the review is then recorded, nothing is refused."""
    base = {"tool": "jira", "key": "EMG-1"}
    steps = ChangeSteps(AT)
    handled(
        database,
        ctx,
        steps.raised(),
        steps.approval("lead.liam", 1, "d-1", evidence="c:1"),
        steps.approval("sec.sara", 2, "d-2", evidence="c:2"),
    )

    def review(event, origin):
        return [
            c.RecordReview(**{**base, "origin": origin}, actor="peer.pete", at=event.at, kind=ReviewKind.PEER)
        ]

    later = dataclasses.replace(comment(), at=AT + timedelta(minutes=6))
    assert later.status is None
    assert deliveries.receive(database, jira(ctx, review), delivery("w-9"), later) == "handled"
    assert rows(database, ViolationRow) == [] and rows(database, MarkerRow) == []
    assert [r.action for r in rows(database, OutboxRow)].count("catch_up") == 1

    approve = steps.moved("lead.liam", 3, "reconcile:changelog:1", Stage.APPROVED)
    assert handled(database, ctx, approve) == [
        "handled"
    ]  # the catch-up replays the lost move, then the comment
    assert (
        deliveries.receive(database, jira(ctx, review), delivery("reconcile:comment:10042"), later)
        == "handled"
    )
    assert [r.reviewer for r in facts_of(database).reviews] == ["peer.pete"]
    assert rows(database, ViolationRow) == []
