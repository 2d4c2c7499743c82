"""Outbound actions wait in the outbox once per idempotency key; the depth counts what is pending."""

from __future__ import annotations

from datetime import timedelta

from connector.outbox import Comment, Target
from connector.store.db import Database
from connector.store.uow import UnitOfWork

from .store_rows import T0


def _add(uow: UnitOfWork, key: str, *, due_in: timedelta = timedelta(0)):
    return uow.outbox.add(
        tool="jira",
        target=Target("ECM-1"),
        action=Comment(key),
        idempotency_key=key,
        change_id=None,
        now=T0 + due_in,
    )


def test_an_action_with_a_known_idempotency_key_is_not_queued_twice(database: Database) -> None:
    with UnitOfWork(database) as uow:
        assert _add(uow, "ECM-1:comment:1") is not None
        assert _add(uow, "ECM-1:comment:1") is None
        uow.commit()
    with UnitOfWork(database) as uow:
        assert _add(uow, "ECM-1:comment:1") is None
        assert uow.outbox.depth() == 1


def test_the_outbox_depth_counts_pending_rows_whatever_their_time(database: Database) -> None:
    with UnitOfWork(database) as uow:
        _add(uow, "b-later", due_in=timedelta(hours=1))
        first, second = _add(uow, "a-first"), _add(uow, "c-second")
        done = _add(uow, "d-done")
        done.status = "done"
        uow.commit()
    with UnitOfWork(database) as uow:
        assert uow.outbox.depth() == 3
    assert first.payload == {"key": "ECM-1", "remote_id": None, "body": "a-first"} and second.attempts == 0
