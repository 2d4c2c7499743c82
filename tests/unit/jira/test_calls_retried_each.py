"""While the dispatcher performs an action, each of the gateway's calls is retried on its own when that
repeats nothing: an action of several calls does not fail as a whole when one is answered 429 or 503.
Outside the dispatcher (a webhook request) a call is made once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from connector.errors import RateLimited, Unavailable
from connector.jira.actions import JiraActions
from connector.jira.gateway import JiraGateway
from connector.mapping import load_mapping
from connector.outbox import Revert, Target
from connector.retries import each_call_retried

URL = "https://example.atlassian.net"
MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
ISSUE = f"{URL}/rest/api/2/issue/EMG-1"
BUSY = {"status": 429, "headers": {"Retry-After": "1"}, "json": {"errorMessages": ["Rate limit exceeded."]}}
DOWN = {"status": 503, "json": {"errorMessages": ["Service temporarily unavailable."]}}


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def jira(http) -> JiraGateway:
    return JiraGateway(URL, flavor="cloud", user="bot@example.com", token="t")


def issue(status: str) -> dict:
    return {"id": "10001", "key": "EMG-1", "fields": {"status": {"name": status}}}


def calls(http, method: str, url: str) -> int:
    return sum(1 for c in http.calls if c.request.method == method and c.request.url.split("?")[0] == url)


def test_a_revert_whose_reads_are_answered_429_and_503_is_performed_in_one_attempt(http, jira):
    http.get(f"{ISSUE}/comment", **BUSY)
    http.get(f"{ISSUE}/comment", json={"comments": [], "total": 0})
    http.get(ISSUE, **DOWN)
    http.get(ISSUE, json=issue("Reviewed"))
    http.get(f"{ISSUE}/transitions", **BUSY)
    transition = {"id": "91", "name": "ECM revert to In Review", "to": {"name": "In Review"}}
    http.get(f"{ISSUE}/transitions", json={"transitions": [transition]})
    http.post(f"{ISSUE}/transitions", status=204)
    slept: list[float] = []

    with each_call_retried(slept.append):
        done = JiraActions(jira, MAPPING.jira, {}).perform(
            Revert("In Review", "Reviewed", "Moved back."), Target("EMG-1", "10001"), "idem"
        )

    assert done["reverted_to"] == "In Review"
    assert calls(http, "POST", f"{ISSUE}/transitions") == 1  # moved back once
    assert len([s for s in slept if s >= 1.0]) == 2  # both 429s waited out their Retry-After


def test_a_post_answered_503_is_not_sent_again_on_its_own_but_one_answered_429_is(http, jira):
    http.post(f"{ISSUE}/comment", **DOWN)
    with each_call_retried(lambda _s: None), pytest.raises(Unavailable):
        jira.add_comment("EMG-1", "noted")  # perhaps made: the action looks before it writes again
    assert calls(http, "POST", f"{ISSUE}/comment") == 1

    http.replace(responses.POST, f"{ISSUE}/comment", **BUSY)
    http.add(responses.POST, f"{ISSUE}/comment", json={"id": "7", "body": "noted"})
    with each_call_retried(lambda _s: None):
        assert jira.add_comment("EMG-1", "noted") == "7"  # refused by the 429, never made: sent again
    assert calls(http, "POST", f"{ISSUE}/comment") == 3


def test_an_idempotent_edit_is_sent_again_after_a_503(http, jira):
    http.put(ISSUE, **DOWN)
    http.put(ISSUE, status=204)
    with each_call_retried(lambda _s: None):
        jira.edit_issue("EMG-1", {"summary": "DB down"})
    assert calls(http, "PUT", ISSUE) == 2
    assert json.loads(http.calls[-1].request.body) == {"fields": {"summary": "DB down"}}


def test_outside_the_dispatcher_a_call_is_made_once(http, jira):
    http.get(ISSUE, **BUSY)
    with pytest.raises(RateLimited):
        jira.get_issue("EMG-1")
    assert calls(http, "GET", ISSUE) == 1


def test_a_retry_after_longer_than_a_worker_waits_is_left_to_the_schedule(http, jira):
    http.get(ISSUE, status=429, headers={"Retry-After": "30"}, json={})
    with each_call_retried(lambda _s: None), pytest.raises(RateLimited) as caught:
        jira.get_issue("EMG-1")
    assert caught.value.retry_after == 30 and calls(http, "GET", ISSUE) == 1
