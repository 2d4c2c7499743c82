"""Jira Cloud refuses natively what the procedure forbids: the installed Deploy and Close check the
connector's gate field, which sits on no screen but the connector's own gate transition. Through the real
`jira` library as the people, against the strict sandbox, with the connector's service and dispatcher."""

from __future__ import annotations

import jira
import pytest

from connector.procedure.model import Stage
from tests.e2e.jira.people import client

pytestmark = pytest.mark.slow


def reviewed_change(story) -> str:
    key = story.approved_change("Gate", engineer="eng.emma")
    story.move("eng.emma", key, story.section.statuses.in_review)
    assert story.wait_stage(key, Stage.IN_REVIEW)
    return key


def close_id(story) -> str:
    workflow = next(w for w in story.stack.sandbox.state.workflows.values() if w.name.startswith("ECM "))
    return next(t.id for t in workflow.transitions if t.name == "Close")


def test_deploy_and_close_are_offered_only_once_the_rules_hold_and_refused_before(story):
    key = reviewed_change(story)
    statuses, emma = story.section.statuses, client(story, "eng.emma")
    story.comment("peer.pete", key, "/peer-reviewed")
    assert story.commented(key, "Deploy still needs:", "security review by someone other than the engineer")
    story.comment("sec.sara", key, "/security-reviewed")
    assert story.commented(key, "Deploy is now available: both approvals and both reviews are recorded")
    story.move("eng.emma", key, statuses.reviewed)
    assert story.stack.settle(lambda: story.offered("eng.emma", key, "Deploy"), timeout=30)
    story.move("eng.emma", key, statuses.deployed)
    story.move("eng.emma", key, statuses.postmortem)
    assert story.wait_stage(key, Stage.POSTMORTEM)
    assert "Close" not in {t["name"] for t in emma.transitions(key)}
    with pytest.raises(jira.JIRAError) as refused:
        emma.transition_issue(key, close_id(story))
    assert refused.value.status_code == 400
    assert f"Transition id '{close_id(story)}' is not valid for this issue." in refused.value.text
    assert emma.issue(key).fields.status.name == statuses.postmortem
    assert story.commented(key, "Close still needs:", "post-mortem task done with a report link")


def test_nobody_but_the_connector_can_write_the_gate_field(story):
    key = reviewed_change(story)
    gate = story.field_ids["gate"]
    for person in ("eng.emma", "admin"):
        with pytest.raises(jira.JIRAError) as refused:
            client(story, person).issue(key).update(fields={gate: "deployed"})
        assert refused.value.status_code == 400 and gate in refused.value.text
    assert "Deploy" not in {t["name"] for t in client(story, "eng.emma").transitions(key)}
    loops = [t.name for t in story.person("eng.emma").transitions(key) if t.name.startswith("ECM gate")]
    assert loops == []  # the gate transition is the automation group's alone
