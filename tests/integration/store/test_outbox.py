"""Outbound actions wait in the outbox until due, once per idempotency key, one worker per row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.store.db import Database
from connector.store.uow import UnitOfWork

from .store_rows import T0


def _add(uow: UnitOfWork, key: str, *, due_in: timedelta = timedelta(0)):
    return uow.outbox.add(
        tool="jira",
        action="comment",
        payload={"issue": "ECM-1", "body": key},
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


def test_only_pending_rows_whose_time_has_come_are_due_oldest_first(database: Database) -> None:
    with UnitOfWork(database) as uow:
        _add(uow, "b-later", due_in=timedelta(hours=1))
        first, second = _add(uow, "a-first"), _add(uow, "c-second")
        done = _add(uow, "d-done")
        done.status = "done"
        uow.commit()
    with UnitOfWork(database) as uow:
        assert [r.idempotency_key for r in uow.outbox.due(T0, 10)] == ["a-first", "c-second"]
        assert [r.idempotency_key for r in uow.outbox.claim(T0, 1)] == ["a-first"]
        assert len(uow.outbox.due(T0 + timedelta(hours=2), 10)) == 3
        assert uow.outbox.depth() == 3
    assert first.payload == {"issue": "ECM-1", "body": "a-first"} and second.attempts == 0


@pytest.mark.postgres
def test_two_dispatchers_never_claim_the_same_row(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one writer at a time")
    with UnitOfWork(database) as uow:
        for key in ("one", "two", "three"):
            _add(uow, key)
        uow.commit()
    with UnitOfWork(database) as first, UnitOfWork(database) as second:
        mine = [r.idempotency_key for r in first.outbox.claim(T0, 2)]
        theirs = [r.idempotency_key for r in second.outbox.claim(T0, 2)]
    assert mine == ["one", "two"]
    assert theirs == ["three"]
