"""Over a whole lifecycle, the gate's answer for every stage is what the webhook judging decides: at each
step, a transition to that stage by the engineer is tried through the service layer (and rolled back),
and its outcome and recorded violations are compared with the gate's answer."""

from __future__ import annotations

from sqlalchemy import select

from connector import commands as c
from connector import services
from connector.evidence.gate import STAGE_NAMES
from connector.procedure.model import Method, ReviewKind, Role, Stage
from connector.store.tables import ViolationRow
from connector.store.uow import UnitOfWork
from tests.integration.evidence.evidence_lifecycle import NOW, STATUSES, at


def judged_by_webhook(drive, to: Stage) -> list[dict]:
    """The violations the webhook path records for the engineer moving the change to `to` now."""
    command = c.RecordTransition(
        tool="jira",
        key=drive.key,
        actor="eng.emma",
        at=NOW,
        origin="trial",
        to_stage=to,
        to_status=STATUSES[to],
    )
    with UnitOfWork(drive.database) as uow:  # never committed: the trial leaves nothing behind
        outcome = services.handle(uow, command, drive.ctx)
        if not outcome.startswith("refused"):
            assert outcome in ("handled", "ignored: no stage change"), outcome
            return []
        row = uow.session.scalars(select(ViolationRow).order_by(ViolationRow.id.desc())).first()
        return [{**d, "missing": list(d["missing"])} for d in row.details]


def steps(drive):
    yield "registered", drive.register
    yield "awaiting approval", lambda: drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    yield "deploy too early", lambda: drive.move("eng.emma", Stage.DEPLOYED, at(1, 11))
    yield (
        "verbal lead approval",
        lambda: drive(
            c.RecordApproval,
            "eng.emma",
            at(1, 12),
            role=Role.LEAD,
            method=Method.VERBAL,
            approver="lead.liam",
            channel="phone",
            evidence="comment:5",
        ),
    )
    yield (
        "security approval",
        lambda: drive(c.RecordApproval, "sec.sara", at(1, 13), role=Role.SECURITY, evidence="c:7"),
    )
    yield "lead confirms", lambda: drive(c.ConfirmApproval, "lead.liam", at(1, 15), evidence="comment:6")
    yield "approved", lambda: drive.move("lead.liam", Stage.APPROVED, at(1, 16))
    yield "in review", lambda: drive.move("eng.emma", Stage.IN_REVIEW, at(1, 16))
    yield (
        "peer review",
        lambda: drive(c.RecordReview, "lead.liam", at(1, 17), kind=ReviewKind.PEER, evidence="c:8"),
    )
    yield (
        "security review",
        lambda: drive(c.RecordReview, "sec.sara", at(1, 17), kind=ReviewKind.SECURITY, evidence="c:9"),
    )
    yield "reviewed", lambda: drive.move("eng.emma", Stage.REVIEWED, at(1, 18))
    yield "deployed", lambda: drive.move("eng.emma", Stage.DEPLOYED, at(1, 19))
    yield (
        "post-mortem created",
        lambda: drive(c.RecordPostMortemCreated, "ecm-bot", at(1, 19), postmortem_key="PM-1"),
    )
    yield (
        "pull request",
        lambda: drive(c.RecordLink, "eng.emma", at(2), kind="pr", url="https://git.example/pull/7"),
    )
    yield (
        "documentation",
        lambda: drive(c.RecordLink, "eng.emma", at(2), kind="docs", url="https://wiki.example/c/1"),
    )
    yield (
        "post-mortem done",
        lambda: drive(
            c.UpdatePostMortem,
            "eng.emma",
            at(3),
            key="PM-1",
            done=True,
            report_url="https://wiki.example/pm/1",
        ),
    )
    yield "postmortem", lambda: drive.move("eng.emma", Stage.POSTMORTEM, at(3, 11))
    yield "closed", lambda: drive.move("eng.emma", Stage.CLOSED, at(3, 12))


def test_the_gate_and_the_webhook_judging_agree_at_every_step(client, auth, drive):
    opened = []
    for name, step in steps(drive):
        step()
        for to in STAGE_NAMES:
            gate = client.get(f"/api/changes/EMG-1/gate?to={to}", headers=auth).get_json()
            webhook = judged_by_webhook(drive, Stage(to))
            assert gate["violations"] == webhook, f"after {name}, to {to}"
            assert gate["allowed"] is (not webhook)
            if gate["allowed"]:
                opened.append((name, to))
    # each gate opened exactly when its last fact came in
    assert ("lead confirms", "approved") in opened and ("security approval", "approved") not in opened
    assert ("security review", "deployed") in opened and ("peer review", "deployed") not in opened
    assert ("in review", "approved") not in opened  # once past it, approval is not a step to take again
    assert ("post-mortem done", "closed") in opened and ("documentation", "closed") not in opened
