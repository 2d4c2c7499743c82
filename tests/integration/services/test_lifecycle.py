"""One emergency change driven through ENG-PROC-004 by the services on the database: the rows, the
queries and the post-mortem deadline as stored (the decisions are tested on the in-memory unit of work,
tests/unit/services/)."""

from __future__ import annotations

from connector import commands as c
from connector import services
from connector.procedure.model import ReviewKind, Role, Stage

from .conftest import at


def register(run, **overrides):
    fields = dict(
        engineer="eng.emma",
        title="DB outage",
        category="Service outage",
        impact="All logins fail",
        stage=Stage.IDENTIFIED,
        remote_status="Identified",
    )
    fields.update(overrides)
    return run(c.RegisterChange, "eng.emma", at(1), **fields)


def move(run, actor, stage, day=1, hour=11):
    return run(c.RecordTransition, actor, at(day, hour), to_stage=stage, to_status=stage.value.title())


def test_full_lifecycle_creates_one_postmortem_due_three_business_days_after_deploy(run):
    register(run)
    assert move(run, "eng.emma", Stage.AWAITING_APPROVAL) == "handled"
    assert run(c.RecordApproval, "lead.liam", at(1, 12), role=None, evidence="comment:1") == "handled"
    assert run(c.RecordApproval, "sec.sara", at(1, 12), role=None, evidence="comment:2") == "handled"
    assert move(run, "lead.liam", Stage.APPROVED, hour=13) == "handled"
    assert move(run, "eng.emma", Stage.IN_REVIEW, hour=13) == "handled"
    assert (
        run(c.RecordReview, "peer.pete", at(1, 14), kind=ReviewKind.PEER, evidence="comment:3") == "handled"
    )
    assert (
        run(c.RecordReview, "sec.sara", at(1, 14), kind=ReviewKind.SECURITY, evidence="comment:4")
        == "handled"
    )
    assert move(run, "eng.emma", Stage.REVIEWED, hour=15) == "handled"
    assert move(run, "eng.emma", Stage.DEPLOYED, day=4, hour=20) == "handled"  # Fri 4 Dec 15:00 New York
    facts = run.facts()
    assert facts.stage is Stage.DEPLOYED
    assert facts.postmortem is not None
    assert facts.postmortem.due_at.isoformat() == "2026-12-10T04:59:59+00:00"  # Wed 9 Dec 23:59:59 EST
    assert [a for a, _ in run.outbox()].count("create_postmortem") == 1
    assert move(run, "eng.emma", Stage.DEPLOYED, day=4, hour=21) == "ignored: no stage change"
    assert [a for a, _ in run.outbox()].count("create_postmortem") == 1


def test_two_refusals_of_one_delivery_make_one_violation_alert_not_an_error(run, database):
    from sqlalchemy import func, select

    from connector.store.tables import AlertRow
    from connector.store.uow import UnitOfWork

    assert register(run).startswith("handled")
    same = dict(tool="jira", key="EMG-1", actor="eng.emma", at=at(1, 12), origin="comment:10042")
    with UnitOfWork(database) as uow:  # one delivery: two refused commands with the same origin
        first = services.handle(
            uow, c.RecordTransition(**same, to_stage=Stage.DEPLOYED, to_status="Deployed"), run.ctx
        )
        second = services.handle(uow, c.RecordApproval(**same, role=Role.LEAD), run.ctx)
        uow.commit()
    assert first.startswith("refused") and second.startswith("refused"), (first, second)
    with UnitOfWork(database) as uow:
        alerts = uow.session.scalar(
            select(func.count()).select_from(AlertRow).where(AlertRow.kind == "violation")
        )
    assert alerts == 1
    assert [p["kind"] for a, p in run.outbox() if a == "notify"].count("violation") == 1
