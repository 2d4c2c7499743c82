"""A queued revert judged again after the change went on past the step: judged from the stage the step
was taken in, withdrawn with its alert when the facts now known allowed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from connector import commands as c
from connector import services
from connector.procedure.model import Stage
from connector.services.reverts import reconsider_revert
from connector.store.tables import OutboxRow, ViolationRow
from connector.store.uow import UnitOfWork

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
BASE = {"tool": "jira", "key": "EMG-1"}


def handle(database, ctx, command) -> str:
    with UnitOfWork(database) as uow:
        outcome = services.handle(uow, command, ctx)
        uow.commit()
    return outcome


def test_an_approve_step_judged_before_the_approval_arrived_is_withdrawn_though_the_change_went_on(
    database, ctx
):
    register = c.RegisterChange(
        **BASE,
        actor="eng.emma",
        at=AT,
        origin="d-0",
        engineer="eng.emma",
        title="t",
        category="Service outage",
        impact="checkout is down",
        stage=Stage.AWAITING_APPROVAL,
    )
    handle(database, ctx, register)
    approve = c.RecordTransition(
        **BASE,
        actor="lead.liam",
        at=AT + timedelta(minutes=5),
        origin="d-1",
        to_stage=Stage.APPROVED,
        to_status="Approved",
    )
    assert handle(database, ctx, approve).startswith("refused")  # the security approval not heard yet
    security = c.RecordApproval(
        **BASE, actor="sec.sara", at=AT + timedelta(minutes=2), origin="d-2", evidence="comment:10041"
    )
    assert handle(database, ctx, security) == "handled"  # its webhook came late, made before the step
    review = c.RecordTransition(
        **BASE,
        actor="eng.emma",
        at=AT + timedelta(minutes=6),
        origin="d-3",
        to_stage=Stage.IN_REVIEW,
        to_status="In Review",
    )
    assert handle(database, ctx, review) == "handled"  # both approvals known by then

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
