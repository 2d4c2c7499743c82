"""A move whose webhook was lost before the reconciliation window: the final sync replays the issue's
latest status change, so the store ends in the stage Jira shows, or the move is reverted if it breaks
the procedure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connector.demo.stack import JiraStack
from connector.procedure.model import Stage
from connector.reconcile import reconcile, write_watermark
from connector.store.tables import ViolationRow
from connector.store.uow import UnitOfWork
from sandbox.jira.faults import Faults

from .conftest import people

pytestmark = pytest.mark.slow


class SandboxClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock():
    return SandboxClock()


@pytest.fixture
def stack(tmp_path, database_url, clock):
    with JiraStack(tmp_path, database_url=database_url, sandbox_options={"clock": clock}) as running:
        yield running


def move_unseen_long_ago(story, clock, key: str, status: str) -> None:
    """`status` is set with its webhook lost; ten minutes later a comment (delivered) updates the issue,
    and the watermark says everything up to that comment was seen."""
    sandbox = story.stack.sandbox
    sandbox.faults.replace(Faults.from_dict({"webhooks": {"drop": 1.0}}))
    story.move("eng.emma", key, status)
    sandbox.deliver_pending()
    sandbox.faults.clear()
    clock.offset = timedelta(minutes=10)
    story.comment("eng.emma", key, "working on it")
    sandbox.deliver_pending()
    write_watermark(story.stack.connector.database, "jira", datetime.now(UTC) + timedelta(minutes=8))


def test_a_lost_allowed_move_before_the_window_is_recorded_by_the_final_sync(stack, clock):
    story = people(stack)
    key = story.approved_change()
    move_unseen_long_ago(story, clock, key, story.section.statuses.in_review)
    assert story.facts(key).stage is Stage.APPROVED

    report = reconcile(stack.connector, "jira")

    assert story.facts(key).stage is Stage.IN_REVIEW, report.outcomes
    assert story.status(key) == story.section.statuses.in_review
    again = reconcile(stack.connector, "jira")
    assert "handled" not in again.outcomes  # the sync is processed once


def test_a_lost_move_that_breaks_the_procedure_is_reverted_by_the_final_sync(stack, clock):
    story = people(stack)
    key = story.approved_change()
    story.move("eng.emma", key, story.section.statuses.in_review)
    assert story.wait_stage(key, Stage.IN_REVIEW)
    move_unseen_long_ago(story, clock, key, story.section.statuses.reviewed)  # no reviews: R5

    reconcile(stack.connector, "jira")

    assert stack.settle(lambda: story.status(key) == story.section.statuses.in_review, 15)
    assert story.facts(key).stage is Stage.IN_REVIEW
    with UnitOfWork(stack.connector.database) as uow:
        rules = [v.rules for v in uow.session.scalars(select(ViolationRow))]
    assert len(rules) == 1 and "R5" in str(rules[0])


def test_a_window_the_webhooks_delivered_is_reconciled_without_waiting_for_the_chains_lock(stack):
    """Most of what a run replays was delivered by the webhooks: it is found processed before with a
    lookup per batch, not a transaction per event behind the audit chain's lock (which every webhook
    batch holds while it writes), so reconciliation keeps up under load."""
    import threading

    if stack.connector.database.dialect != "postgresql":
        pytest.skip("the chain's lock is PostgreSQL's advisory lock; SQLite has one writer at a time")
    story = people(stack)
    key = story.approved_change()
    story.move("eng.emma", key, story.section.statuses.in_review)
    assert story.wait_stage(key, Stage.IN_REVIEW)
    reconcile(stack.connector, "jira")  # what came back of the connector's own writes, recorded once
    reports: list = []
    with UnitOfWork(stack.connector.database) as holder:
        holder.audit.lock()  # a webhook batch writing
        run = threading.Thread(target=lambda: reports.append(reconcile(stack.connector, "jira")), daemon=True)
        run.start()
        run.join(20)
        finished = not run.is_alive()
    run.join(30)
    assert finished, "reconciliation waited for the chain's lock"
    assert reports[0].outcomes.get("duplicate", 0) > 0 and set(reports[0].outcomes) == {"duplicate"}
