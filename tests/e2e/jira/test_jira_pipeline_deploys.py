"""Production deploys reported by GitHub, posted signed over HTTP to the service, against the strict Jira
sandbox with the connector's dispatcher: the deploy of an approved change is recorded and takes the
ticket's Deploy; a deploy naming an unapproved change is a violation; one naming nothing opens exactly one
bypass change with its alerts, however often it is reported."""

from __future__ import annotations

import pytest

from connector.demo.pipeline import PipelineChapter, deployment, deployment_status
from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory
from connector.procedure.model import Stage
from tests import github_examples as gh

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with JiraStack(tmp_path_factory.mktemp("jira-pipeline")) as running:
        yield running


@pytest.fixture
def chapter(stack):
    return PipelineChapter(JiraStory(stack, say=lambda _line: None))


def failed(story) -> list[str]:
    return [f"{c.what}: {c.detail}" for c in story.result.checks if not c.held]


def test_the_bodies_posted_are_what_github_sends(stack):
    status = deployment_status(7, stack.clock(), payload={"change": "EMG-1"})

    gh.validate("deployment_status", status)
    gh.validate("deployment", deployment(status))


def test_deploy_of_an_approved_reviewed_change_is_recorded_and_takes_the_deploy_step(chapter):
    key = chapter.deploy_approved_change()

    assert failed(chapter.story) == []
    facts = chapter.story.facts(key)
    assert facts.stage is Stage.DEPLOYED and facts.postmortem.key


def test_deploy_naming_nothing_opens_exactly_one_bypass_change_with_its_alerts(chapter):
    key = chapter.deploy_naming_nothing()

    assert failed(chapter.story) == []
    issue = chapter.story.person("admin").get_issue(key, fields=["labels", "summary"])
    assert "ecm-bypass" in issue.labels and issue.summary.startswith("Bypass: production deploy")
    chapter.post("deployment_status", deployment_status(chapter.next_id, chapter.stack.clock()))
    assert chapter.stack.settle(lambda: False, timeout=1) is False
    assert len(chapter._bypass_changes()) == 1  # the same deployment again: nothing new


def test_deploy_naming_an_unapproved_change_is_a_violation_and_opens_a_bypass(chapter):
    story = chapter.story
    fields = {story.field_ids["category"]: {"value": "Service outage"}, story.field_ids["impact"]: "EU down"}
    key = story.person("eng.emma").create_issue(
        story.section.project, story.section.issue_types.change, "Hotfix", "", fields=fields
    )
    assert story.stack.settle(lambda: story.facts(key) is not None)
    before = len(chapter._bypass_changes())

    chapter.post(
        "deployment_status", deployment_status(chapter._id(), chapter.stack.clock(), payload={"change": key})
    )

    assert story.commented(key, "R6", "Deployed before the change was approved and reviewed.")
    assert story.stack.settle(lambda: len(chapter._bypass_changes()) == before + 1, timeout=30)
    assert story.facts(key).stage is Stage.IDENTIFIED  # the ticket is not moved; the violation is recorded
