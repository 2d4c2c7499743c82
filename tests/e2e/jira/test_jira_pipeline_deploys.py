"""Production deploys reported by GitHub, posted signed over HTTP to the service, against the strict Jira
sandbox and the GitHub API sandbox, with the connector's dispatcher: a protection rule is answered through
its callback; the deploy of an approved change is recorded and takes the ticket's Deploy; a deploy naming an
unapproved change is a violation; one naming nothing opens exactly one bypass change with its alerts,
however often it is reported."""

from __future__ import annotations

import pytest

from connector.demo.pipeline import (
    INSTALLATION,
    REPOSITORY,
    PipelineChapter,
    deployment,
    deployment_status,
    protection_rule,
)
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
    gh.validate("deployment_protection_rule", protection_rule(status, f"{stack.github.url}/x", 1))


def test_deploy_of_an_approved_reviewed_change_is_gated_recorded_and_takes_the_deploy_step(chapter):
    key = chapter.deploy_approved_change()

    assert failed(chapter.story) == []
    facts = chapter.story.facts(key)
    assert facts.stage is Stage.DEPLOYED and facts.postmortem.key
    [answer] = [a for a in chapter.stack.github.answers if f"{key} may be deployed" in a["comment"]]
    assert (answer["state"], answer["environment_name"], answer["repository"]) == (
        "approved",
        "production",
        REPOSITORY,
    )


def test_deploy_naming_nothing_opens_exactly_one_bypass_change_with_its_alerts(chapter):
    key = chapter.deploy_naming_nothing()

    assert failed(chapter.story) == []
    category = chapter.story.field_ids["category"]
    issue = chapter.story.person("admin").get_issue(key, fields=["labels", "summary", category])
    assert "ecm-bypass" in issue.labels and issue.summary.startswith("Bypass: production deploy")
    assert issue.raw["fields"][category]["value"] == "Service outage"  # deploys.bypass.category
    assert chapter.story.facts(key).category == "Service outage"


def test_deploy_of_an_unapproved_change_is_rejected_by_the_rule_then_a_violation_and_a_bypass(chapter):
    key = chapter.deploy_unapproved_change()

    assert failed(chapter.story) == []
    assert chapter.story.facts(key).stage is Stage.IDENTIFIED  # not moved: the violation is recorded
    assert INSTALLATION in chapter.stack.github.installations
