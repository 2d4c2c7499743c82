"""Each way of breaking ENG-PROC-004 in Jira is answered with its reason and changes nothing else."""

from __future__ import annotations

import pytest

from connector.procedure.model import Role, Stage

pytestmark = pytest.mark.slow


def _awaiting_approval(story, engineer="eng.emma"):
    section = story.section
    fields = {
        story.field_ids["category"]: {"value": "Security vulnerability"},
        story.field_ids["impact"]: "Token leak in the login service.",
    }
    key = story.person(engineer).create_issue(
        section.project, section.issue_types.change, "Rotate keys", "", fields=fields
    )
    story.stack.settle(lambda: story.facts(key) is not None)
    story.move(engineer, key, section.statuses.awaiting_approval)
    assert story.wait_stage(key, Stage.AWAITING_APPROVAL)
    return key


def _answered(story, key, *needles):
    return story.stack.settle(
        lambda: any(all(n in c.body for n in needles) for c in story.person("admin").comments(key))
    )


def test_engineer_cannot_approve_their_own_change(story):
    key = _awaiting_approval(story, engineer="lead.liam")
    story.comment("lead.liam", key, "/approve")
    assert _answered(story, key, "R3")
    assert story.facts(key).approvals == ()


def test_someone_outside_both_groups_cannot_approve(story):
    key = _awaiting_approval(story)
    story.comment("peer.pete", key, "/approve lead")
    assert _answered(story, key, "R2")
    assert story.facts(key).approvals == ()


def test_one_person_in_both_groups_fills_only_one_role(story):
    key = _awaiting_approval(story)
    story.comment("dual.dana", key, "/approve lead")
    story.stack.settle(lambda: len(story.facts(key).approvals) == 1)
    story.comment("dual.dana", key, "/approve security")
    assert _answered(story, key, "R3")
    assert [a.role for a in story.facts(key).approvals] == [Role.LEAD]


def test_approving_with_only_one_role_is_reverted_to_awaiting_approval(story):
    key = _awaiting_approval(story)
    story.move("lead.liam", key, story.section.statuses.approved)
    reverted = story.stack.settle(lambda: story.status(key) == story.section.statuses.awaiting_approval)
    assert reverted
    assert _answered(story, key, "R2", "Security Team")
    facts = story.facts(key)
    assert facts.stage is Stage.AWAITING_APPROVAL
    assert [a.approver for a in facts.approvals] == [story.person("lead.liam").myself().id]


def test_a_command_that_cannot_be_read_is_answered(story):
    key = _awaiting_approval(story)
    story.comment("eng.emma", key, "/approve-verbal sara on the phone")
    assert _answered(story, key, "cannot accept", "/approve-verbal @user")
