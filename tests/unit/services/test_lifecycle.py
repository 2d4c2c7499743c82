"""The service layer's decisions on one emergency change, on the in-memory unit of work: what it records,
refuses, reverts and answers."""

from __future__ import annotations

from connector import commands as c
from connector.procedure.model import Method, Role, Stage

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


def test_new_change_notifies_leads_and_security_at_once(run):
    assert register(run) == "handled"
    actions = run.outbox()
    assert actions[0][0] == "notify"
    assert actions[0][1]["groups"] == ["engineering-leads", "security-team"]


def test_change_without_category_is_answered_with_the_missing_items(run):
    assert register(run, category=None).startswith("refused: R1")
    comment = [p for a, p in run.outbox() if a == "comment"][0]
    assert "critical issue category" in comment["body"].lower()


def test_deploy_before_approval_is_reverted_with_its_reasons(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    outcome = move(run, "eng.emma", Stage.DEPLOYED, hour=12)
    assert outcome.startswith("refused:") and "R6" in outcome
    revert = [p for a, p in run.outbox() if a == "revert"][0]
    assert revert["to_status"] == "Awaiting Approval"
    assert "R2" in revert["comment"] and "Security Team" in revert["comment"]
    assert run.facts().stage is Stage.AWAITING_APPROVAL


def test_an_early_deploys_comment_names_each_missing_item_once_and_r6_the_order(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    move(run, "eng.emma", Stage.DEPLOYED, hour=12)
    comment = [p for a, p in run.outbox() if a == "revert"][0]["comment"]
    lines = comment.splitlines()
    r6 = [line for line in lines if line.startswith("R6 ")]
    assert r6 == ["R6 (ENG-PROC-004 step 4): Deployed before the change was approved and reviewed."]
    items = [item for line in lines if "Missing: " in line for item in line.split("Missing: ")[1].split("; ")]
    assert len(items) == len(set(items)) == 4
    assert comment.count("approval from a member of the Security Team") == 1
    assert comment.count("peer review by someone other than the engineer") == 1


def test_self_approval_is_refused_and_not_recorded(run):
    register(run, engineer="lead.liam")
    outcome = run(c.RecordApproval, "lead.liam", at(1, 12), role=Role.LEAD, evidence="comment:1")
    assert outcome.startswith("refused: R3")
    assert run.facts().approvals == ()


def test_person_in_both_groups_cannot_fill_both_roles(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    assert run(c.RecordApproval, "dual.dana", at(1, 12), role=Role.LEAD, evidence="comment:1") == "handled"
    assert run(c.RecordApproval, "dual.dana", at(1, 12), role=Role.SECURITY, evidence="c:2").startswith(
        "refused"
    )
    assert [a.role for a in run.facts().approvals] == [Role.LEAD]


def test_verbal_approval_gets_a_confirmation_deadline_and_only_the_approver_confirms(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    outcome = run(
        c.RecordApproval,
        "eng.emma",
        at(1, 12),
        role=Role.LEAD,
        method=Method.VERBAL,
        approver="lead.liam",
        channel="phone",
        evidence="comment:5",
    )
    assert outcome == "handled"
    approval = run.facts().approvals[0]
    assert approval.confirm_by is not None and not approval.confirmed
    assert run(c.ConfirmApproval, "sec.sara", at(1, 13), evidence="comment:6").startswith("refused")
    assert run(c.ConfirmApproval, "lead.liam", at(1, 13), evidence="comment:7") == "handled"
    assert run.facts().approvals[0].confirmed


def test_approval_transition_click_records_the_clicker_and_waits_for_the_other_role(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    outcome = move(run, "lead.liam", Stage.APPROVED, hour=12)
    assert outcome.startswith("refused: R2")
    assert [a.approver for a in run.facts().approvals] == ["lead.liam"]
    assert move(run, "sec.sara", Stage.APPROVED, hour=13) == "handled"


def test_connector_own_revert_is_not_checked_again(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    assert move(run, "ecm-bot", Stage.IDENTIFIED, hour=12) == "ignored: no stage change"


def test_a_late_delivery_of_an_older_move_is_history_not_a_violation(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL, hour=12)
    run(c.RecordApproval, "lead.liam", at(1, 13), role=None, evidence="comment:1")
    run(c.RecordApproval, "sec.sara", at(1, 13), role=None, evidence="comment:2")
    assert move(run, "lead.liam", Stage.APPROVED, hour=14) == "handled"
    # The webhook of the 12:00 move arrives now, after the 14:00 one.
    late = run(
        c.RecordTransition, "eng.emma", at(1, 11), to_stage=Stage.AWAITING_APPROVAL, to_status="Awaiting"
    )
    assert late.startswith("ignored: stale")
    assert run.facts().stage is Stage.APPROVED
    assert [a for a, _ in run.outbox()].count("revert") == 0


def test_a_move_back_made_after_the_last_stage_change_is_still_reverted(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL, hour=12)
    outcome = run(
        c.RecordTransition, "eng.emma", at(1, 15), to_stage=Stage.IDENTIFIED, to_status="Identified"
    )
    assert outcome.startswith("refused: R9")


def test_an_approver_saying_approve_again_is_not_a_violation(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    assert move(run, "lead.liam", Stage.APPROVED, hour=12).startswith("refused: R2")  # records liam
    again = run(c.RecordApproval, "lead.liam", at(1, 13), role=None, evidence="comment:9")
    assert again == "ignored: this approval is already recorded"
    assert len(run.facts().approvals) == 1
