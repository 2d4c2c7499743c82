"""`/deploy` and `/close` where only the connector is offered the step (Jira Data Center without a plugin):
taken when the rules hold, as the asker's step, else answered with what is missing and nothing moves."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from connector import commands as c
from connector.procedure.model import ReviewKind, Stage
from connector.store.outbox import decode
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork
from tests.integration.evidence.evidence_lifecycle import Driver, at, context


def driver(database):
    return Driver(database, ctx=dataclasses.replace(context(), performs_on_request=True))


def actions(database, name):
    with UnitOfWork(database) as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.action == name).order_by(OutboxRow.id))
        return [decode(r.action, r.payload)[1] for r in rows]


def test_deploy_asked_before_the_reviews_is_answered_with_what_is_missing(database):
    drive = driver(database)
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    outcome = drive(c.RequestStep, "eng.emma", at(1, 12), to_stage=Stage.DEPLOYED)
    assert outcome.startswith("refused: Deploy is taken from Reviewed")
    with UnitOfWork(database) as uow:
        assert uow.changes.get("jira", "EMG-1").stage == "awaiting_approval"
    assert actions(database, "transition") == []


def test_deploy_asked_once_the_rules_hold_is_taken_for_the_asker(database):
    drive = driver(database)
    drive.until_deployed()  # up to Reviewed and Deployed by hand; now a second change, asked for
    second = Driver(database, key="EMG-2", ctx=drive.ctx)
    second.register()
    second.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    second(c.RecordApproval, "lead.liam", at(1, 12), role=None, evidence="comment:1")
    second(c.RecordApproval, "sec.sara", at(1, 12), evidence="comment:2")
    second.move("lead.liam", Stage.APPROVED, at(1, 13))
    second.move("eng.emma", Stage.IN_REVIEW, at(1, 13))
    second.move("eng.emma", Stage.REVIEWED, at(1, 14))  # too early: reverted, stays in review
    refused = second(c.RequestStep, "eng.emma", at(1, 15), to_stage=Stage.DEPLOYED)
    assert refused.startswith("refused: Deploy is taken from Reviewed")
    second(c.RecordReview, "peer.pete", at(1, 16), kind=ReviewKind.PEER, evidence="comment:3")
    second(c.RecordReview, "sec.sara", at(1, 16), kind=ReviewKind.SECURITY, evidence="comment:4")
    second.move("eng.emma", Stage.REVIEWED, at(1, 17))
    assert second(c.RequestStep, "eng.emma", at(1, 18), to_stage=Stage.DEPLOYED) == "handled"
    with UnitOfWork(database) as uow:
        row = uow.changes.get("jira", "EMG-2")
        assert (row.stage, row.deployed_at is not None) == ("deployed", True)
    (taken,) = actions(database, "transition")  # the first change was moved by hand
    assert (taken.to_status, taken.from_status) == ("Deployed", "Reviewed")
    assert "at the request of" in taken.comment


def test_close_asked_before_the_post_mortem_is_done_names_r8(database):
    drive = driver(database)
    drive.until_deployed()
    drive.move("eng.emma", Stage.POSTMORTEM, at(2))
    outcome = drive(c.RequestStep, "eng.emma", at(2, 11), to_stage=Stage.CLOSED)
    assert outcome == "refused: Close not allowed yet"
    (answer,) = [a for a in actions(database, "comment") if "Close is not allowed yet" in a.body]
    assert "R8 (ENG-PROC-004 step 5)" in answer.body and "Pull Request link" in answer.body
