"""Every pair of stages: which transitions the procedure allows, and which rules the others break."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import pytest

from connector.procedure.model import Stage
from connector.procedure.policy import Policy
from connector.procedure.rules import check_transition
from connector.procedure.stages import ORDER, STEP, TRANSITIONS, is_forward, skipped

from .procedure_facts import ENGINEER, GROUPS, NOW, REJECTION, change_at

S = Stage
FORWARD_FROM = {stage: set(ORDER[ORDER.index(stage) + 1 :]) for stage in ORDER}
ALLOWED_TARGETS = {
    S.IDENTIFIED: FORWARD_FROM[S.IDENTIFIED] | {S.CANCELLED, S.REJECTED},
    S.AWAITING_APPROVAL: FORWARD_FROM[S.AWAITING_APPROVAL] | {S.CANCELLED, S.REJECTED},
    S.APPROVED: FORWARD_FROM[S.APPROVED] | {S.CANCELLED},
    S.IN_REVIEW: FORWARD_FROM[S.IN_REVIEW] | {S.CANCELLED},
    S.REVIEWED: FORWARD_FROM[S.REVIEWED] | {S.CANCELLED},
    S.DEPLOYED: {S.POSTMORTEM, S.CLOSED},
    S.POSTMORTEM: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
}
PAIRS = [(a, b) for a, b in product(Stage, Stage) if a is not b]
ALLOWED = [(a, b) for a, b in PAIRS if b in ALLOWED_TARGETS[a]]
FORBIDDEN = [(a, b) for a, b in PAIRS if b not in ALLOWED_TARGETS[a]]

# Rules a change breaks when it enters a stage without that stage's own facts.
RULES_TO_ENTER = {
    S.AWAITING_APPROVAL: {"R1"},
    S.APPROVED: {"R2"},
    S.IN_REVIEW: set(),
    S.REVIEWED: {"R5"},
    S.DEPLOYED: set(),
    S.POSTMORTEM: {"R7"},
    S.CLOSED: {"R8"},
}
FORWARD = [(a, b) for a, b in product(ORDER, ORDER) if is_forward(a, b)]


def fully_prepared(current: Stage, target: Stage):
    """A change in `current` holding every fact the target needs (side exits: the facts of a stage)."""
    if current in ORDER:
        facts = max(current, target, key=ORDER.index) if target in ORDER else current
    else:
        facts = S.REVIEWED  # a cancelled or rejected change may hold any facts: nothing leaves it
    change = change_at(current, facts_up_to=facts)
    return replace(change, rejection=REJECTION) if target is S.REJECTED else change


def decide(change, target):
    return check_transition(change, target, ENGINEER, GROUPS, NOW, Policy())


def id_of(pair):
    return f"{pair[0]}->{pair[1]}"


@pytest.mark.parametrize("pair", ALLOWED, ids=id_of)
def test_transition_with_all_its_facts_is_allowed(pair):
    current, target = pair
    assert decide(fully_prepared(current, target), target).violations == ()


@pytest.mark.parametrize("pair", FORBIDDEN, ids=id_of)
def test_transition_outside_the_procedure_is_an_r9_violation_of_the_target_step(pair):
    current, target = pair
    decision = decide(fully_prepared(current, target), target)
    assert decision.rules == ("R9",)
    assert decision.violations[0].step == STEP[target]


@pytest.mark.parametrize("pair", FORWARD, ids=id_of)
def test_forward_jump_must_satisfy_every_stage_it_enters(pair):
    current, target = pair
    entered = (*skipped(current, target), target)
    expected = set().union(*(RULES_TO_ENTER[stage] for stage in entered))
    if S.DEPLOYED in entered and (expected & {"R1", "R2", "R5"} or S.POSTMORTEM in entered):
        expected.add("R6")  # deploy before approval and reviews, or no deploy time recorded
    decision = decide(change_at(current), target)
    assert set(decision.rules) == expected
    early_deploy = "Deployed before the change was approved and reviewed."
    assert all(v.missing for v in decision.violations if v.message != early_deploy)
    listed = [m for v in decision.violations for m in v.missing]
    assert len(listed) == len(set(listed))  # each missing item named once


@pytest.mark.parametrize("stage", list(Stage))
def test_staying_in_the_same_stage_is_allowed_even_without_facts(stage):
    change = change_at(stage, facts_up_to=S.IDENTIFIED)
    assert decide(change, stage).allowed


@pytest.mark.parametrize("pair", [(a, b) for a in Stage for b in TRANSITIONS[a]], ids=id_of)
def test_every_transition_the_workflow_offers_is_allowed_once_its_facts_are_in(pair):
    current, target = pair
    assert decide(fully_prepared(current, target), target).allowed


def test_target_may_be_given_by_its_stage_name():
    assert decide(change_at(S.AWAITING_APPROVAL, facts_up_to=S.APPROVED), "approved").allowed
    assert decide(change_at(S.CLOSED), "identified").rules == ("R9",)


def test_deploy_before_approval_names_r6_for_the_order_and_leaves_the_items_to_r2_and_r5():
    decision = decide(change_at(S.AWAITING_APPROVAL), S.DEPLOYED)
    assert decision.rules == ("R2", "R5", "R6")
    r2, r5, r6 = decision.violations
    assert r6.step == 4 and r6.missing == ()
    assert r6.describe() == "R6 (ENG-PROC-004 step 4): Deployed before the change was approved and reviewed."
    assert "approval from a member of the Security Team" in r2.missing
    assert "peer review by someone other than the engineer" in r5.missing


def test_rejecting_without_a_recorded_rejection_is_an_r2_violation():
    decision = decide(change_at(S.AWAITING_APPROVAL), S.REJECTED)
    assert decision.rules == ("R2",)
    assert (
        "rejection by an Engineering Lead or Security Team member, with a reason"
        in decision.violations[0].missing
    )


def test_moving_back_says_it_is_not_a_step_of_the_procedure():
    decision = decide(change_at(S.DEPLOYED), S.APPROVED)
    assert (
        decision.violations[0].message
        == "Moving from deployed back to approved is not a step of the procedure."
    )


def test_cancelling_after_deploy_is_refused_because_the_change_happened():
    decision = decide(change_at(S.POSTMORTEM), S.CANCELLED)
    assert decision.rules == ("R9",)
    assert "already deployed" in decision.violations[0].message


def test_closing_accepts_the_close_code_as_documentation_where_the_policy_says_it_documents():
    change = change_at(S.POSTMORTEM, facts_up_to=S.CLOSED, docs_url=None, close_code="Successful")
    policy = Policy(close_code_documents_change=True)
    assert check_transition(change, S.CLOSED, ENGINEER, GROUPS, NOW, policy).allowed
    refused = check_transition(replace(change, close_code=None), S.CLOSED, ENGINEER, GROUPS, NOW, policy)
    assert refused.violations[0].missing == ("standard change documentation (close code)",)


def test_a_close_code_is_no_documentation_where_the_policy_does_not_say_so():
    change = change_at(S.POSTMORTEM, facts_up_to=S.CLOSED, docs_url=None, close_code="Successful")
    assert decide(change, S.CLOSED).violations[0].missing == ("standard change documentation",)


def test_closing_without_documentation_is_allowed_when_the_policy_does_not_require_it():
    change = change_at(S.POSTMORTEM, facts_up_to=S.CLOSED, docs_url=None)
    assert check_transition(change, S.CLOSED, ENGINEER, GROUPS, NOW, Policy(require_docs=False)).allowed
    missing = decide(change, S.CLOSED).violations[0].missing
    assert missing == ("standard change documentation",)


def test_stage_helpers_know_the_forward_path():
    assert ORDER[0] is S.IDENTIFIED and ORDER[-1] is S.CLOSED
    assert skipped(S.APPROVED, S.DEPLOYED) == (S.IN_REVIEW, S.REVIEWED)
    assert not is_forward(S.DEPLOYED, S.APPROVED)
    assert not is_forward(S.APPROVED, S.CANCELLED)
    assert TRANSITIONS[S.AWAITING_APPROVAL] == (S.APPROVED, S.CANCELLED, S.REJECTED)
    assert TRANSITIONS[S.DEPLOYED] == (S.POSTMORTEM,)
    assert all(TRANSITIONS[s] == () for s in (S.CLOSED, S.CANCELLED, S.REJECTED))
