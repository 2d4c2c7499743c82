"""Jira Cloud never offers an engineer *Approve* (or *Reject*) on her own change: the installed approval
transitions deny the person the connector's *ECM Engineer* field names, which it writes beside the gate.
Through the real `jira` library as the people, against the strict sandbox, with the connector running."""

from __future__ import annotations

import jira
import pytest

from connector.procedure.model import Stage
from tests.e2e.jira.people import client

pytestmark = pytest.mark.slow


def offered(person: jira.JIRA, key: str) -> set[str]:
    return {t["name"] for t in person.transitions(key)}


def raised_by_a_lead(story) -> str:
    """lead.liam raises a change himself and asks for approval; the connector has named him its engineer."""
    liam = client(story, "lead.liam")
    issue = liam.create_issue(
        project=story.section.project,
        issuetype={"name": story.section.issue_types.change},
        summary="Payments queue stuck",
        **{
            story.field_ids["category"]: {"value": "Service outage"},
            story.field_ids["impact"]: "Card payments are queued, not taken.",
        },
    )
    story.move("lead.liam", issue.key, story.section.statuses.awaiting_approval)
    assert story.wait_stage(issue.key, Stage.AWAITING_APPROVAL)
    engineer = story.field_ids["engineer"]
    named = story.stack.settle(
        lambda: getattr(liam.issue(issue.key, fields=engineer).fields, engineer, None) is not None, timeout=30
    )
    assert named, "the connector did not write ECM Engineer"
    return issue.key


def test_the_reporter_is_not_offered_approve_on_her_own_change_and_a_lead_is(story):
    key = raised_by_a_lead(story)
    liam, dana = client(story, "lead.liam"), client(story, "dual.dana")
    assert "Approve" not in offered(liam, key) and "Reject" not in offered(liam, key)
    assert {"Approve", "Reject"} <= offered(dana, key)


def test_approving_her_own_change_by_the_api_is_refused_as_jira_refuses_a_hidden_transition(story):
    key = raised_by_a_lead(story)
    liam = client(story, "lead.liam")
    workflow = next(w for w in story.stack.sandbox.state.workflows.values() if w.name.startswith("ECM "))
    approve = next(t.id for t in workflow.transitions if t.name == "Approve")
    with pytest.raises(jira.JIRAError) as refused:
        liam.transition_issue(key, approve)
    assert refused.value.status_code == 400
    assert f"Transition id '{approve}' is not valid for this issue." in refused.value.text
    assert liam.issue(key).fields.status.name == story.section.statuses.awaiting_approval
    assert story.facts(key).approvals == ()
