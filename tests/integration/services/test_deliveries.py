"""Receiving a delivery: recorded once, a subject processed once whatever the route, translated, handled,
committed together (`connector.services.deliveries.receive`)."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from connector import commands as c
from connector.inbound.events import CommentAdded, Delivery, Ignored
from connector.jira import ADAPTER as JIRA
from connector.services import deliveries
from connector.store.tables import AuditRow, ChangeRow, DeliveryRow, MarkerRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime

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
