"""Production deploys reported by GitHub against the strict ServiceNow sandbox: the deploy of an approved,
reviewed change sets it to Implement through the installed gate; a deploy naming nothing opens exactly one
emergency change_request flagged in the bypass column `ecm install` added, alerted through its event."""

from __future__ import annotations

import pytest

from connector.demo.pipeline import ServiceNowPipelineChapter
from connector.demo.servicenow_stack import ServiceNowStack
from connector.demo.servicenow_story import ServiceNowStory
from connector.procedure.model import Stage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with ServiceNowStack(tmp_path_factory.mktemp("servicenow-pipeline")) as running:
        yield running


@pytest.fixture
def chapter(stack):
    return ServiceNowPipelineChapter(ServiceNowStory(stack, say=lambda _line: None))


def failed(story) -> list[str]:
    return [f"{c.what}: {c.detail}" for c in story.result.checks if not c.held]


def test_deploy_of_an_approved_reviewed_change_sets_it_to_implement(chapter):
    key = chapter.deploy_approved_change()

    assert failed(chapter.story) == []
    story = chapter.story
    assert story.facts().stage is Stage.DEPLOYED and story.current_state() == story.state[Stage.DEPLOYED]
    assert story.key == key


def test_deploy_naming_nothing_opens_one_flagged_change_request_with_its_alert(chapter):
    number = chapter.deploy_naming_nothing()

    assert failed(chapter.story) == []
    [record] = chapter.stack.sandbox.records(chapter.story.section.table, number=number)
    assert (record["type"], record["u_ecm_bypass"]) == ("emergency", "true")
    assert record["short_description"].startswith("Bypass: production deploy")
    assert record["category"] == "Service outage"  # deploys.bypass.category
    assert record["justification"] == record["description"]  # the impact (R1): the deploy's facts
    assert chapter.story.stored(number).category == "Service outage"
