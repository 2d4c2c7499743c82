"""ServiceNow refuses natively an approval that R3 forbids: the installed before rule on approvals aborts
the requester approving her own emergency change, and one person approving it in both roles. Through the
real `pysnow` gateway as the people, against the sandbox running the installed script."""

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


def raised_by(story, who: str) -> None:
    person = story.person(who)
    created = person.create(
        story.section.table,
        {
            "type": story.section.type,
            "short_description": "Payments queue stuck",
            "category": "Service outage",
            "justification": "Card payments are queued, not taken.",
            "requested_by": person.user_sys_id(who),
        },
    )
    story.sys_id, story.key = created.sys_id, created.get("number")
    assert story.stack.settle(lambda: story.facts())
    story.move(who, Stage.AWAITING_APPROVAL)
    assert story.wait_stage(Stage.AWAITING_APPROVAL)


def states_of(story, who: str) -> list[str]:
    return sorted(a.state for a in story.person(who).approvals(story.sys_id) if a.approver == who)


def test_the_requester_cannot_approve_her_own_emergency_change(story):
    raised_by(story, "dual.dana")
    with pytest.raises(Rejected, match="no self-approval"):
        story.decide("dual.dana", "approved")
    assert "approved" not in states_of(story, "dual.dana")
    story.decide("lead.liam", "approved")  # another lead may
    assert story.stack.settle(lambda: len(story.facts().approvals) == 1)
