"""A queued revert judged again after the change went on past the step: judged from the stage the step
was taken in, withdrawn with its alert when the facts now known allowed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from connector.procedure.model import Stage
from connector.services.reverts import reconsider_revert
from connector.store.tables import OutboxRow, ViolationRow
from connector.store.uow import UnitOfWork
from tests.fakes import ChangeSteps, handled

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_an_approve_step_judged_before_the_approval_arrived_is_withdrawn_though_the_change_went_on(
    database, ctx
):
    steps = ChangeSteps(AT)
    [_, approve] = handled(database, ctx, steps.raised(), steps.moved("lead.liam", 5, "d-1", Stage.APPROVED))
    assert approve.startswith("refused")  # the security approval not heard yet
    # its webhook came late, made before the step; the review's move is judged with both approvals known
    late = steps.approval("sec.sara", 2, "d-2", evidence="comment:10041")
    assert handled(database, ctx, late) == ["handled"]
    assert handled(database, ctx, steps.moved("eng.emma", 6, "d-3", Stage.IN_REVIEW)) == ["handled"]

    with UnitOfWork(database) as uow:
        [revert] = uow.session.scalars(select(OutboxRow).where(OutboxRow.action == "revert"))
        reason = reconsider_revert(uow, revert, ctx, AT + timedelta(minutes=9))
        uow.commit()

    assert reason is not None  # not performed: nothing to move back, nothing to alert
    with UnitOfWork(database) as uow:
        change = uow.changes.get("jira", "EMG-1")
        assert change.stage == Stage.IN_REVIEW.value
        assert list(uow.session.scalars(select(ViolationRow))) == []
        notices = uow.session.scalars(select(OutboxRow).where(OutboxRow.action == "notify"))
        violation = [n for n in notices if ":notify:violation:" in n.idempotency_key]
        assert [(n.status, "withdrawn" in (n.result or {})) for n in violation] == [("done", True)]
