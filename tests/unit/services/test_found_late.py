"""A step of the tool's history replayed after the change moved on past it in the connector's record:
judged as it was taken, from the stage it left, on the facts known then; recorded as a violation that
stood (never reverted) when it broke the rules, and alerted once."""

from __future__ import annotations

from connector import commands as c
from connector import services
from connector.procedure.model import Stage

from .conftest import at
from .test_lifecycle import move, register


def replayed_click(run, ctx, actor, hour, *, origin="reconcile:changelog:7"):
    """`actor`'s Approve click at `hour`, as reconciliation rebuilds it from Jira's changelog."""
    command = c.RecordTransition(
        tool="jira",
        key="EMG-1",
        actor=actor,
        at=at(1, hour),
        origin=origin,
        to_stage=Stage.APPROVED,
        to_status=ctx.status_of(Stage.APPROVED),
        from_status=ctx.status_of(Stage.AWAITING_APPROVAL),
    )
    with run.uow as uow:
        outcome = services.handle(uow, command, ctx)
        uow.commit()
    return outcome


def approved_by_both_then_in_review(run, *, security_hour):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL, hour=10)
    run(c.RecordApproval, "lead.liam", at(1, 11), role=None, evidence="comment:1")
    run(c.RecordApproval, "sec.sara", at(1, security_hour), role=None, evidence="comment:2")
    assert move(run, "eng.emma", Stage.IN_REVIEW, hour=14) == "handled"  # its Approve click was not heard


def test_an_approve_click_before_the_security_approval_found_late_is_a_violation_that_stood(run, ctx):
    approved_by_both_then_in_review(run, security_hour=13)

    outcome = replayed_click(run, ctx, "lead.liam", 12)

    assert outcome == "refused: R2 (found late, it stood)"
    (violation,) = run.uow.violations.rows
    assert (violation.from_stage, violation.to_stage, violation.found_late, violation.reverted) == (
        "awaiting_approval",
        "approved",
        True,
        False,
    )
    actions = [a for a, _ in run.outbox()]
    assert "revert" not in actions and run.facts().stage is Stage.IN_REVIEW
    notice = [p for a, p in run.outbox() if a == "notify" and p["kind"] == "violation"]
    assert len(notice) == 1 and "found late" in notice[0]["subject"]
    assert "not reverted" in notice[0]["body"] and "Security Team" in notice[0]["body"]


def test_an_approve_click_after_both_approvals_found_late_is_history(run, ctx):
    approved_by_both_then_in_review(run, security_hour=11)

    assert replayed_click(run, ctx, "lead.liam", 12).startswith("ignored: stale")


def test_a_late_webhook_of_a_click_is_not_judged_late(run, ctx):
    """A webhook delivered late may come before the facts that preceded it: left as history."""
    approved_by_both_then_in_review(run, security_hour=13)

    assert replayed_click(run, ctx, "lead.liam", 12, origin="webhook-42").startswith("ignored: stale")


def test_an_engineers_click_on_their_own_change_found_late_counts_as_no_approval(run, ctx):
    """The rules refuse one's own approval when heard of in time (quietly, for a click); found late, the
    click stands as a step taken without the lead's approval."""
    register(run, engineer="lead.liam")
    move(run, "lead.liam", Stage.AWAITING_APPROVAL, hour=10)
    run(c.RecordApproval, "sec.sara", at(1, 11), role=None, evidence="comment:1")
    run(c.RecordApproval, "dual.dana", at(1, 13), role=None, evidence="comment:2")  # the lead role left
    assert move(run, "lead.liam", Stage.IN_REVIEW, hour=14) == "handled"

    outcome = replayed_click(run, ctx, "lead.liam", 12)

    assert outcome.startswith("refused: R2") and outcome.endswith("(found late, it stood)")
    (violation,) = run.uow.violations.rows
    assert violation.found_late and violation.actor == "lead.liam"
