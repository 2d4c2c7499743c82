"""The dispatcher retries each remote call of an action on its own where that repeats nothing, so an
action of several calls is done in one attempt when one call is answered 429 or 503; and the quick
attempts do not multiply: a call that keeps failing is tried a few times in all, then the row waits its
scheduled retry (seconds, not minutes, for a transient failure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connector.dispatch import Dispatcher
from connector.errors import RateLimited, Unavailable
from connector.outbox import Action, Comment, Target
from connector.retries import QUICK_ATTEMPTS, one_call
from connector.store.db import Database
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork
from tests.fakes import DispatchedConnector, DispatchedTool

from .store_rows import T0, rows_as_written


@dataclass
class FlakyTool:
    """Performs an action as five reads and one write, each answered as `answers` says, in turn."""

    answers: list[Exception | None]
    calls: list[str] = field(default_factory=list)

    def _remote(self, what: str, repeatable: bool) -> None:
        def send() -> None:
            self.calls.append(what)
            error = self.answers.pop(0) if self.answers else None
            if error is not None:
                raise error

        one_call(send, repeatable=repeatable)

    def perform(self, action: Action, target: Target, idem: str) -> dict[str, Any]:
        for n in range(5):
            self._remote(f"read {n}", repeatable=True)
        self._remote("write", repeatable=False)
        return {"ok": True}


def queue_one(database: Database) -> None:
    rows_as_written(database, "jira", [(Comment.ACTION, {"key": "ECM-1", "body": "noted"})])


def the_row(database: Database) -> OutboxRow:
    with UnitOfWork(database) as uow:
        row = uow.session.scalar(select(OutboxRow))
        uow.session.expunge(row)
        return row


def dispatch(database: Database, tool: FlakyTool) -> list[float]:
    slept: list[float] = []
    connector = DispatchedConnector(database, {"jira": DispatchedTool(tool)})
    Dispatcher(connector, clock=lambda: T0, sleep=slept.append).run(limit=1)
    return slept


def test_one_429_and_one_503_among_five_reads_do_not_fail_the_action(database: Database) -> None:
    queue_one(database)
    tool = FlakyTool([None, RateLimited("HTTP 429", retry_after=1.0), None, Unavailable("HTTP 503")])

    dispatch(database, tool)

    assert the_row(database).status == "done"
    assert tool.calls.count("write") == 1
    assert tool.calls[:2] == ["read 0", "read 1"] and tool.calls.count("read 1") == 2


def test_a_write_answered_502_is_made_again_with_its_whole_action(database: Database) -> None:
    queue_one(database)
    tool = FlakyTool([None] * 5 + [Unavailable("HTTP 502")])

    dispatch(database, tool)

    assert the_row(database).status == "done"
    assert tool.calls.count("write") == 2 and tool.calls.count("read 0") == 2  # looked at again first


def test_a_read_that_keeps_failing_is_tried_a_few_times_in_all_and_the_row_retried_within_seconds(
    database: Database,
) -> None:
    queue_one(database)
    tool = FlakyTool([Unavailable("HTTP 503")] * 50)

    slept = dispatch(database, tool)

    row = the_row(database)
    assert tool.calls == ["read 0"] * QUICK_ATTEMPTS  # not QUICK_ATTEMPTS for each attempt of the action
    assert sum(slept) < 10
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at - T0.replace(tzinfo=row.next_attempt_at.tzinfo) <= timedelta(seconds=2)
