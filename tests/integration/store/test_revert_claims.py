"""A revert is claimed without waiting for the older actions of its change that only write beside the
status (the gate field, the "what is missing" comment, fields, mails), so a violation is moved back while
one of them waits out its retries; it still waits for an older status move, catch-up or revert."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.outbox import Action, CatchUp, Notify, Revert, SetGate, ShowMissing, Target, Transition
from connector.store.db import Database
from connector.store.uow import UnitOfWork

from .store_rows import T0, a_change

LATER = timedelta(minutes=5)  # an older row in its scheduled backoff


def queue(database: Database, *actions: tuple[Action, timedelta]) -> list[int]:
    with UnitOfWork(database) as uow:
        change = uow.changes.add(a_change("ECM-1"))
        uow.session.flush()
        ids = []
        for n, (action, due_in) in enumerate(actions):
            row = uow.outbox.add(
                tool="jira",
                target=Target("ECM-1"),
                action=action,
                idempotency_key=f"jira:ECM-1:{action.ACTION}:{n}",
                change_id=change.id,
                now=T0 + due_in,
            )
            ids.append(row.id)
        uow.commit()
    return ids


def claimed(database: Database) -> int | None:
    with UnitOfWork(database) as uow:
        row = uow.outbox.claim_next(T0 + timedelta(seconds=1))
        return row.id if row is not None else None


REVERT = Revert("In Review", "Reviewed", "moved back")


@pytest.mark.parametrize(
    "older",
    [SetGate("gate", ("deployed",)), ShowMissing("Needs: a peer review"), Notify("violation", "s", "b")],
    ids=["gate", "missing", "mail"],
)
def test_a_revert_passes_an_older_write_beside_the_status_that_waits_its_retry(database, older) -> None:
    _older, revert, alert = queue(
        database, (older, LATER), (REVERT, timedelta(0)), (Notify("n", "s", "b"), timedelta(0))
    )

    assert claimed(database) == revert  # the alert queued after it still waits for its turn


@pytest.mark.parametrize(
    "older",
    [Revert("Approved", "Reviewed", "back"), CatchUp(), Transition("Deployed", "Reviewed", "step")],
    ids=["revert", "catch-up", "status-move"],
)
def test_a_revert_keeps_its_place_behind_an_older_status_move_or_catch_up(database, older) -> None:
    queue(database, (older, LATER), (REVERT, timedelta(0)))

    assert claimed(database) is None


def test_other_actions_still_wait_for_every_older_action_of_their_change(database) -> None:
    queue(database, (SetGate("gate", ("deployed",)), LATER), (ShowMissing("Needs: a review"), timedelta(0)))

    assert claimed(database) is None
