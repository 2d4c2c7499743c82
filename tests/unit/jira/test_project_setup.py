"""Switching the workflow scheme of a project with issues: Jira's 303, the task it starts, and its outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from connector.errors import Rejected
from connector.jira.gateway import JiraGateway
from connector.jira.project_setup import ProjectSetup
from connector.mapping import load_mapping

URL = "https://example.atlassian.net"
SWITCH = f"{URL}/rest/api/3/workflowscheme/project/switch"
TASK = f"{URL}/rest/api/3/task/7"
MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")


def task(status: str, message: str = "") -> dict:
    return {
        "self": TASK,
        "id": "7",
        "status": status,
        "message": message,
        "progress": 100 if status in ("COMPLETE", "FAILED") else 50,
        "elapsedRuntime": 10,
        "submitted": 1,
        "lastUpdate": 2,
        "submittedBy": 10000,
    }


@pytest.fixture
def http():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def naps() -> list[float]:
    return []


@pytest.fixture
def setup(naps) -> ProjectSetup:
    gateway = JiraGateway(URL, flavor="cloud", user="bot@example.com", token="t0ken")
    return ProjectSetup(MAPPING, gateway, poll_interval=0.5, task_timeout=2.0, sleep=naps.append)


def started(http, *polls: dict) -> None:
    http.add(responses.POST, SWITCH, status=303, headers={"Location": TASK}, json=task("ENQUEUED"))
    for answer in polls:
        http.add(responses.GET, TASK, json=answer)


def test_the_switch_follows_jiras_303_and_polls_the_task_until_it_completes(http, setup, naps):
    started(http, task("RUNNING"), task("RUNNING"), task("COMPLETE"))
    setup.switch_scheme("10000", "10100", "ECM scheme", {"10002": {"3": "10010"}})
    sent = json.loads(http.calls[0].request.body)
    assert sent == {
        "projectId": "10000",
        "targetSchemeId": "10100",
        "mappingsByIssueTypeOverride": [
            {"issueTypeId": "10002", "statusMappings": [{"oldStatusId": "3", "newStatusId": "10010"}]}
        ],
    }
    assert [c.request.method for c in http.calls] == ["POST", "GET", "GET", "GET"]
    assert naps == [0.5, 0.5]


def test_a_failed_switch_task_fails_the_install_with_jiras_reason(http, setup):
    started(http, task("RUNNING"), task("FAILED", "No status mapping for status 'Done'."))
    with pytest.raises(Rejected) as failed:
        setup.switch_scheme("10000", "10100", "ECM scheme", {})
    assert str(failed.value) == (
        "Jira could not switch EMG to workflow scheme 'ECM scheme': task 7 FAILED: "
        "No status mapping for status 'Done'."
    )


def test_a_switch_task_that_never_finishes_fails_the_install_after_the_timeout(http, setup, naps):
    started(http, *[task("RUNNING")] * 5)
    with pytest.raises(Rejected, match="did not finish within 2s"):
        setup.switch_scheme("10000", "10100", "ECM scheme", {})
    assert sum(naps) == 2.0


def test_a_team_managed_project_is_refused_with_the_reason(http, setup):
    http.add(
        responses.GET, f"{URL}/rest/api/3/project/EMG", json={"id": "10000", "key": "EMG", "name": "EMG"}
    )
    http.add(
        responses.GET,
        f"{URL}/rest/api/3/issuetypescheme/project",
        json={"isLast": True, "maxResults": 50, "startAt": 0, "total": 0, "values": []},
    )
    with pytest.raises(Rejected, match="team-managed project, which has no schemes"):
        list(setup.issue_type_scheme())
