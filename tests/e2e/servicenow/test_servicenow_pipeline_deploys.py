"""Production deploys reported by GitHub against the strict ServiceNow sandbox: the deploy of an approved,
reviewed change sets it to Implement through the installed gate; a deploy naming nothing opens exactly one
emergency change_request flagged in the bypass column `ecm install` added, alerted through its event."""

from __future__ import annotations

import pytest

from connector.demo.pipeline import PipelineChapter, deployment_status
from connector.demo.servicenow_stack import ServiceNowStack
from connector.demo.servicenow_story import ServiceNowStory
from connector.procedure.model import Stage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with ServiceNowStack(tmp_path_factory.mktemp("servicenow-pipeline")) as running:
        yield running


@pytest.fixture
def story(stack):
    return ServiceNowStory(stack, say=lambda _line: None)


def test_deploy_of_an_approved_reviewed_change_sets_it_to_implement(story):
    key = story.create_change("Card payments declined", "TLS rotation", "Payments fail in the EU")
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    story.decide("lead.liam", "approved")
    story.decide("sec.sara", "approved")
    story.stack.settle(lambda: len(story.facts().approvals) == 2)
    story.move("eng.emma", Stage.APPROVED)
    story.wait_stage(Stage.APPROVED)
    story.comment("peer.pete", "/peer-reviewed")
    story.comment("sec.sara", "/security-reviewed")
    assert story.stack.settle(lambda: story.gate_allows(Stage.DEPLOYED), timeout=30)
    deployed_at = PipelineChapter(story).deploy_time()

    PipelineChapter(story).post(
        "deployment_status", deployment_status(5151, deployed_at, payload={"change": key})
    )

    assert story.wait_stage(Stage.DEPLOYED) and story.facts().deployed_at == deployed_at
    implement = story.state[Stage.DEPLOYED]
    assert story.stack.settle(lambda: story.current_state() == implement, timeout=30)


def test_deploy_naming_nothing_opens_one_flagged_change_request_with_its_alert(story):
    chapter = PipelineChapter(story)
    status = deployment_status(6161, story.stack.clock())

    for _ in range(2):
        chapter.post("deployment_status", status)

    def bypasses():
        found = story.stack.sandbox.records(story.section.table, u_ecm_bypass="true")
        return [r for r in found if r.get("correlation_id", "").startswith("ecm-deploy:")]

    assert story.stack.settle(lambda: len(bypasses()) == 1, timeout=30)
    [record] = bypasses()
    assert record["type"] == "emergency" and record["short_description"].startswith("Bypass:")
    number = record["number"]
    assert story.stack.settle(
        lambda: story.mails(f"without an approved emergency change: {number}"), timeout=30
    )
    assert story.stack.settle(lambda: False, timeout=1) is False
    assert len(bypasses()) == 1
