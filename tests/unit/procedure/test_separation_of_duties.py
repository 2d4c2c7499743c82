"""Who may approve, confirm, review and reject: R2-R5 as a person meets them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from connector.procedure.model import Groups, Rejection, Review, ReviewKind, Role, Stage
from connector.procedure.policy import Policy
from connector.procedure.rules import (
    check_approval,
    check_confirmation,
    check_rejection,
    check_review,
    check_transition,
)

from .procedure_facts import (
    BOTH,
    ENGINEER,
    GROUPS,
    LEAD,
    NOW,
    OUTSIDER,
    PEER,
    SECURITY,
    approval,
    at,
    change_at,
    verbal,
)

AWAITING = change_at(Stage.AWAITING_APPROVAL)
APPROVED = change_at(Stage.APPROVED)


def approve(change, given, groups=GROUPS):
    return check_approval(change, given, groups, Policy())


def test_member_of_each_group_may_approve_for_their_role():
    assert approve(AWAITING, approval(LEAD, Role.LEAD)).allowed
    assert approve(AWAITING, approval(SECURITY, Role.SECURITY)).allowed


def test_engineer_cannot_approve_their_own_change_even_as_a_lead():
    groups = Groups(leads=GROUPS.leads | {ENGINEER}, security=GROUPS.security)
    decision = approve(AWAITING, approval(ENGINEER, Role.LEAD), groups)
    assert decision.rules == ("R3",)
    assert decision.violations[0].missing == (
        "approval from a member of the Engineering Leads other than the engineer",
    )


def test_security_member_cannot_fill_both_approval_roles():
    change = replace(AWAITING, approvals=(approval(BOTH, Role.LEAD),))
    decision = approve(change, approval(BOTH, Role.SECURITY))
    assert decision.rules == ("R3",)
    assert "cannot fill both approval roles" in decision.violations[0].message


def test_one_person_holding_both_approvals_cannot_leave_approval():
    change = replace(AWAITING, approvals=(approval(BOTH, Role.LEAD), approval(BOTH, Role.SECURITY)))
    decision = check_transition(change, Stage.APPROVED, ENGINEER, GROUPS, NOW, Policy())
    assert decision.rules == ("R3",)
    assert decision.violations[0].missing == ("approval from a second person for the security role",)


def test_approver_outside_the_group_of_the_role_is_refused():
    decision = approve(AWAITING, approval(LEAD, Role.SECURITY))
    assert decision.rules == ("R2",)
    assert decision.violations[0].missing == ("approval from a member of the Security Team",)


def test_second_approval_for_a_role_is_reported_as_a_duplicate():
    change = replace(AWAITING, approvals=(approval(LEAD, Role.LEAD),))
    decision = approve(change, approval(BOTH, Role.LEAD))
    assert decision.rules == ("R2",)
    assert "already recorded (by lead.liam)" in decision.violations[0].message


@pytest.mark.parametrize("stage", [Stage.APPROVED, Stage.DEPLOYED, Stage.CLOSED, Stage.REJECTED])
def test_approvals_are_recorded_only_while_the_change_awaits_them(stage):
    change = change_at(stage, facts_up_to=Stage.AWAITING_APPROVAL)
    assert approve(change, approval(LEAD, Role.LEAD)).rules == ("R2",)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        (approval(LEAD, Role.LEAD, evidence=""), "comment or approval record of the approval"),
        (verbal(LEAD, Role.LEAD, at(600), channel=None), "channel of the approval"),
        (verbal(LEAD, Role.LEAD, at(600), recorded_by=PEER), "engineer's record"),
        (verbal(LEAD, Role.LEAD, None), "confirm-by time"),
    ],
    ids=[
        "written-without-evidence",
        "verbal-without-channel",
        "verbal-not-by-engineer",
        "verbal-without-deadline",
    ],
)
def test_approval_without_its_documentation_is_an_r4_violation(given, missing):
    decision = approve(AWAITING, given)
    assert decision.rules == ("R4",)
    assert decision.violations[0].missing == (missing,)


def test_verbal_approval_recorded_by_the_engineer_with_channel_and_deadline_is_accepted():
    assert approve(AWAITING, verbal(LEAD, Role.LEAD, at(600))).allowed


def test_verbal_approval_can_be_confirmed_only_by_the_named_approver():
    change = replace(AWAITING, approvals=(verbal(LEAD, Role.LEAD, at(600)),))
    assert check_confirmation(change, Role.LEAD, LEAD, at(100)).allowed
    decision = check_confirmation(change, Role.LEAD, BOTH, at(100))
    assert decision.rules == ("R4",)
    assert (
        decision.violations[0].message == "Only lead.liam can confirm their verbal approval; both.bo cannot."
    )


@pytest.mark.parametrize(
    "approvals",
    [(), (approval(LEAD, Role.LEAD),), (verbal(LEAD, Role.LEAD, at(600), confirmed_at=at(100)),)],
    ids=["no-approval", "written", "already-confirmed"],
)
def test_confirming_when_nothing_awaits_confirmation_is_a_violation(approvals):
    decision = check_confirmation(replace(AWAITING, approvals=approvals), Role.LEAD, LEAD, at(200))
    assert decision.rules == ("R4",)
    assert "no unconfirmed verbal lead approval" in decision.violations[0].message


def test_unconfirmed_verbal_approval_blocks_leaving_approval_once_its_deadline_passed():
    deadline = at(600)
    change = replace(
        APPROVED, approvals=(verbal(LEAD, Role.LEAD, deadline), approval(SECURITY, Role.SECURITY))
    )
    before = check_transition(change, Stage.IN_REVIEW, ENGINEER, GROUPS, deadline, Policy())
    after = check_transition(
        change, Stage.IN_REVIEW, ENGINEER, GROUPS, deadline + timedelta(seconds=1), Policy()
    )
    assert before.allowed
    assert after.rules == ("R4",)
    assert after.violations[0].missing == ("written confirmation by lead.liam of their verbal approval",)


def test_confirmed_verbal_approval_stays_valid_after_its_deadline():
    confirmed = verbal(LEAD, Role.LEAD, at(600), confirmed_at=at(300), confirmation_evidence="comment:5")
    change = replace(APPROVED, approvals=(confirmed, approval(SECURITY, Role.SECURITY)))
    assert check_transition(change, Stage.IN_REVIEW, ENGINEER, GROUPS, at(6000), Policy()).allowed


@pytest.mark.parametrize("kind", list(ReviewKind))
def test_engineer_cannot_review_their_own_change(kind):
    decision = check_review(APPROVED, Review(ENGINEER, kind, at(30), "comment:1"), GROUPS)
    assert "R5" in decision.rules
    assert f"{kind} review by someone other than the engineer" in decision.violations[0].missing


def test_security_review_by_someone_outside_the_security_team_is_refused():
    decision = check_review(APPROVED, Review(PEER, ReviewKind.SECURITY, at(30), "comment:1"), GROUPS)
    assert decision.rules == ("R5",)
    assert decision.violations[0].missing == ("security review by a member of the Security Team",)
    assert check_review(APPROVED, Review(SECURITY, ReviewKind.SECURITY, at(30), "c"), GROUPS).allowed
    assert check_review(APPROVED, Review(PEER, ReviewKind.PEER, at(30), "c"), GROUPS).allowed


@pytest.mark.parametrize("stage", [Stage.AWAITING_APPROVAL, Stage.DEPLOYED, Stage.CANCELLED])
def test_reviews_are_recorded_only_between_approval_and_deploy(stage):
    change = change_at(stage, facts_up_to=Stage.AWAITING_APPROVAL)
    assert check_review(change, Review(PEER, ReviewKind.PEER, at(30), "c"), GROUPS).rules == ("R5",)


def test_peer_review_by_the_engineer_blocks_reaching_reviewed():
    change = change_at(Stage.IN_REVIEW, facts_up_to=Stage.REVIEWED)
    change = replace(change, reviews=(Review(ENGINEER, ReviewKind.PEER, at(30), "c"), *change.reviews[1:]))
    decision = check_transition(change, Stage.REVIEWED, ENGINEER, GROUPS, NOW, Policy())
    assert decision.rules == ("R5",)
    assert decision.violations[0].missing == ("peer review by someone other than the engineer",)


@pytest.mark.parametrize(
    ("by", "reason", "allowed"),
    [(SECURITY, "unsafe", True), (LEAD, "not needed", True), (OUTSIDER, "no", False), (SECURITY, " ", False)],
)
def test_only_a_lead_or_security_member_rejects_and_gives_a_reason(by, reason, allowed):
    rejection = Rejection(by, None, at(20), reason, "comment:9")
    assert check_rejection(AWAITING, rejection, GROUPS).allowed is allowed


def test_engineer_who_is_a_lead_cannot_reject_their_own_change():
    groups = Groups(leads=GROUPS.leads | {ENGINEER}, security=GROUPS.security)
    rejection = Rejection(ENGINEER, Role.LEAD, at(20), "changed my mind", "comment:9")
    assert check_rejection(AWAITING, rejection, groups).rules == ("R2",)
