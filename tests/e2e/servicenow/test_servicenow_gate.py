"""ServiceNow refuses natively what the procedure forbids, from the gate field only the connector writes:
through the real `pysnow` gateway as the people, the sandbox's installed rules and ACL, and the connector's
web service and dispatcher. A gate written behind the ACL's back is undone and alerted."""

from __future__ import annotations

import pytest

from connector.demo.servicenow_stack import ServiceNowStack
from connector.demo.servicenow_story import ServiceNowStory
from connector.errors import Rejected
from connector.procedure.model import Stage

pytestmark = pytest.mark.slow


@pytest.fixture
def story(tmp_path, database_url):
    with ServiceNowStack(tmp_path, database_url=database_url) as stack:
        yield ServiceNowStory(stack, say=lambda _line: None)


def gate(story) -> str:
    return story.stack.sandbox.record("change_request", story.sys_id).get("u_ecm_gate", "")


def test_the_engineer_cannot_open_the_gate_herself_nor_skip_approval(story):
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    emma = story.person("eng.emma")
    emma.update_change(story.sys_id, {"u_ecm_gate": "approved,deployed,closed"})  # 200: the ACL drops it
    assert gate(story) == ""
    with pytest.raises(Rejected, match="Scheduled needs both approvals"):
        story.move("eng.emma", Stage.APPROVED, early=True)
    assert story.current_state() == story.state[Stage.AWAITING_APPROVAL]
    notes = story.work_notes("Approval still needs: approval from a member of the Engineering Leads")
    assert notes, "the change says what approval still needs"


def test_a_gate_written_behind_the_acl_is_set_back_and_alerted(story):
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    instance = story.stack.sandbox.instance  # a background script by an admin: not ACL-checked
    instance.write_update(
        "change_request", story.sys_id, {"u_ecm_gate": "approved,deployed"}, instance.user("admin")
    )
    restored = story.stack.settle(lambda: gate(story) == "", timeout=30)
    assert restored, gate(story)
    noted = story.stack.settle(lambda: story.work_notes("R9", "wrote the gate field u_ecm_gate"), timeout=30)
    assert noted
    assert story.stack.settle(lambda: story.mails("procedure violation"), timeout=30)
    with pytest.raises(Rejected, match="Scheduled needs both approvals"):
        story.move("eng.emma", Stage.APPROVED, early=True)


def test_the_change_says_what_the_next_step_needs_in_a_field_only_the_connector_writes(story):
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    assert story.stack.settle(lambda: "Approval (step 2) still needs:" in story.missing(), timeout=30)
    story.decide("lead.liam", "approved")
    assert story.stack.settle(
        lambda: "Security Team" in story.missing() and "Engineering Leads" not in story.missing(), timeout=30
    )
    before = story.missing()
    story.person("eng.emma").update_change(story.sys_id, {"u_ecm_missing": "nothing is missing"})  # ACL
    assert story.missing() == before
    story.decide("sec.sara", "approved")
    assert story.stack.settle(lambda: "Approval (step 2): nothing is missing" in story.missing(), timeout=30)
