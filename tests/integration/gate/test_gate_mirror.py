"""The steps a tool may offer are mirrored into its gate field as the facts come in: once per change of
the answer, with a note naming what opened and what the next step still needs; a gate field written by
someone else is a violation, alerted, and set back."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from connector import commands as c
from connector.procedure.model import Stage
from connector.procedure.policy import Policy
from connector.store.tables import OutboxRow, ViolationRow
from connector.store.uow import UnitOfWork
from tests.integration.evidence.evidence_lifecycle import Driver, at, context


def gated_driver(database, **extra):
    return Driver(database, ctx=dataclasses.replace(context(), gate_field="u_ecm_gate", **extra))


def gate_rows(database):
    with UnitOfWork(database) as uow:
        rows = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.action == "set_gate").order_by(OutboxRow.id)
        )
        return [(r.payload["open"], r.payload["note"]) for r in rows]


def test_each_change_of_the_allowed_steps_is_mirrored_once_with_what_opened(database):
    drive = gated_driver(database)
    drive.whole_lifecycle()
    mirrored = gate_rows(database)
    assert [entries for entries, _ in mirrored] == [
        [],  # registered
        ["approved"],  # both approvals, the verbal one confirmed
        [],  # in review: approval is behind it, deploy waits for the reviews
        ["deployed"],  # both reviews
        ["deployed", "closed"],  # post-mortem done, pull request and documentation in
        ["closed"],  # closed
    ]
    notes = [note for _, note in mirrored]
    assert notes[0] == (
        "Approval still needs: approval from a member of the Engineering Leads; approval from a member of "
        "the Security Team."
    )
    assert notes[1].startswith("The change may now leave approval: both approvals are recorded")
    assert "\nDeploy still needs: peer review by someone other than the engineer" in notes[1]
    assert notes[3].startswith("Deploy is now available: both approvals and both reviews are recorded")
    assert "\nClose still needs: deploy time; post-mortem task linked to the change" in notes[3]
    assert notes[4].startswith("Close is now available") and notes[2] == notes[5] == ""


def test_a_tool_without_a_gate_field_gets_no_gate_actions(drive, database):
    drive.whole_lifecycle()
    assert gate_rows(database) == []


def test_a_close_missing_only_the_close_code_opens_for_the_closing_update(database):
    policy = Policy(close_code_documents_change=True)
    drive = gated_driver(database, gate_documented_by="close_code", policy=policy)
    drive.until_deployed()
    drive(c.RecordLink, "eng.emma", at(2), kind="pr", url="https://git.example.com/shop/pull/7")
    drive(c.UpdatePostMortem, "eng.emma", at(3), key="PM-EMG-1", done=True, report_url="https://wiki/pm/1")
    entries, note = gate_rows(database)[-1]
    assert entries == ["deployed", "closed?close_code"]
    assert note.startswith("Close is now available with the close code filled in")


def test_someone_else_writing_the_gate_field_is_a_violation_and_it_is_set_back(database):
    drive = gated_driver(database)
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    outcome = drive(c.RestoreGate, "eng.emma", at(1, 12), found="approved,deployed,closed")
    assert outcome == "refused: R9"
    with UnitOfWork(database) as uow:
        (violation,) = [(v.rules, v.details[0]["message"]) for v in uow.session.scalars(select(ViolationRow))]
        actions = [r.action for r in uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id))]
    assert violation[0] == ["R9"] and "wrote the gate field u_ecm_gate" in violation[1]
    assert actions[-3:] == ["comment", "notify", "set_gate"]
    assert gate_rows(database)[-1][0] == []  # back to what the rules allow: nothing yet
