"""The gate answers what stands between a change and approval, deploy and close, from facts alone."""

from __future__ import annotations

from dataclasses import replace

import pytest
from procedure_facts import ENGINEER, GROUPS, NOW, SECURITY, approval, change_at

from connector.procedure.gate import GATE_STAGES, blocking, open_stages
from connector.procedure.model import Role, Stage
from connector.procedure.policy import Policy
from connector.procedure.rules import check_transition


def rules_of(found):
    return [v.rule for v in found]


def test_a_reviewed_change_with_every_fact_may_deploy_but_not_close():
    change = change_at(Stage.REVIEWED)
    assert blocking(change, Stage.DEPLOYED, NOW, Policy()) == ()
    assert rules_of(blocking(change, Stage.CLOSED, NOW, Policy())) == ["R6", "R7", "R8"]


def test_deploy_without_the_security_approval_names_what_is_missing():
    change = change_at(Stage.REVIEWED, approvals=(approval("lead.liam", Role.LEAD),))
    r2, r6 = blocking(change, Stage.DEPLOYED, NOW, Policy())
    assert (r2.rule, r2.step, r6.rule, r6.step) == ("R2", 2, "R6", 4)
    assert r2.missing == ("approval from a member of the Security Team",)
    assert r6.missing == ()  # R6 names the early deploy; what is missing is listed once, by R2


def test_approval_by_the_engineer_herself_does_not_open_the_approval_gate():
    change = change_at(
        Stage.AWAITING_APPROVAL,
        approvals=(approval(ENGINEER, Role.LEAD), approval(SECURITY, Role.SECURITY)),
    )
    assert "R3" in rules_of(blocking(change, Stage.APPROVED, NOW, Policy()))


def test_close_opens_once_post_mortem_pull_request_and_documentation_are_in():
    ready = change_at(Stage.POSTMORTEM, facts_up_to=Stage.CLOSED)
    assert blocking(ready, Stage.CLOSED, NOW, Policy()) == ()
    no_docs = replace(ready, docs_url=None)
    (found,) = blocking(no_docs, Stage.CLOSED, NOW, Policy())
    assert found.rule == "R8" and found.missing == ("standard change documentation",)


def test_a_stage_already_reached_is_open_and_going_back_is_not():
    deployed = change_at(Stage.DEPLOYED)
    assert blocking(deployed, Stage.DEPLOYED, NOW, Policy()) == ()
    assert rules_of(blocking(deployed, Stage.APPROVED, NOW, Policy())) == ["R9"]


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("to", GATE_STAGES)
def test_the_gate_says_what_the_transition_check_says_for_every_stage(stage, to):
    for facts_up_to in (Stage.IDENTIFIED, Stage.REVIEWED, Stage.CLOSED):
        change = change_at(stage, facts_up_to=facts_up_to)
        judged = check_transition(change, to, ENGINEER, GROUPS, NOW, Policy())
        assert blocking(change, to, NOW, Policy()) == judged.violations


def test_open_stages_lists_the_steps_a_tool_may_offer():
    assert open_stages(change_at(Stage.REVIEWED), NOW, Policy()) == {Stage.DEPLOYED}
    approved = change_at(Stage.AWAITING_APPROVAL, facts_up_to=Stage.APPROVED)
    assert open_stages(approved, NOW, Policy()) == {Stage.APPROVED}
    assert open_stages(change_at(Stage.AWAITING_APPROVAL), NOW, Policy()) == set()
