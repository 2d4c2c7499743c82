"""While the dispatcher performs an action, each ServiceNow call is retried on its own when that repeats
nothing, by the policy the Jira gateway follows (connector/retries.py): a rate-limited call after its
Retry-After, a read or an update after a 5xx; an insert answered 5xx is left to its action, which looks
before it writes. Outside the dispatcher a call is made once."""

from __future__ import annotations

import pytest
import requests
import responses

from connector.errors import RateLimited, Unavailable
from connector.retries import LOST_ANSWER_WAIT, QUICK_ATTEMPTS, each_call_retried
from connector.servicenow.gateway import ServiceNowGateway

BASE = "http://127.0.0.1:8123"
CHANGES = f"{BASE}/api/now/table/change_request"
CHANGE_ID = "a" * 32
# ServiceNow's answer to a request over a rate limit rule ("Inbound REST API rate limiting").
BUSY = {
    "status": 429,
    "headers": {"Retry-After": "1", "X-RateLimit-Limit": "10", "X-RateLimit-Reset": "1796212800"},
    "json": {
        "error": {
            "message": "Rate limit exceeded",
            "detail": "Rate limit of 10 requests per hour for Table API exceeded",
        },
        "status": "failure",
    },
}
DOWN = {
    "status": 503,
    "json": {"error": {"message": "Service Unavailable", "detail": None}, "status": "failure"},
}
CHANGE = {"sys_id": CHANGE_ID, "number": "CHG0030001", "state": "-5", "type": "emergency"}


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def gateway() -> ServiceNowGateway:
    return ServiceNowGateway(BASE, user="ecm.integration", password="s3cret-pw", timeout=(1.5, 4))


def calls(http, method: str, url: str) -> int:
    return sum(1 for c in http.calls if c.request.method == method and c.request.url.split("?")[0] == url)


def test_a_read_answered_429_is_made_again_once_after_its_retry_after(http, gateway):
    http.get(CHANGES, **BUSY)
    http.get(CHANGES, json={"result": [CHANGE]})
    slept: list[float] = []

    with each_call_retried(slept.append):
        found = gateway.find_one("change_request", "number=CHG0030001")

    assert found is not None and found.sys_id == CHANGE_ID
    assert calls(http, "GET", CHANGES) == 2
    assert len(slept) == 1 and slept[0] >= 1.0  # waited out Retry-After: 1


def test_an_insert_answered_429_is_sent_again_since_servicenow_did_not_perform_it(http, gateway):
    http.post(CHANGES, **BUSY)
    http.post(CHANGES, status=201, json={"result": CHANGE})
    slept: list[float] = []

    with each_call_retried(slept.append):
        created = gateway.create("change_request", {"short_description": "Bypass", "type": "emergency"})

    assert created.get("number") == "CHG0030001" and calls(http, "POST", CHANGES) == 2
    assert slept and slept[0] >= 1.0


def test_an_insert_answered_503_is_not_sent_again_on_its_own(http, gateway):
    http.post(CHANGES, **DOWN)

    with each_call_retried(lambda _s: None), pytest.raises(Unavailable) as caught:
        gateway.create("change_request", {"short_description": "Bypass", "type": "emergency"})

    assert calls(http, "POST", CHANGES) == 1  # perhaps inserted: the action looks before it writes again
    assert not caught.value.retried_alone  # so the dispatcher performs the whole action again


def test_an_update_is_sent_again_after_a_503(http, gateway):
    http.put(f"{CHANGES}/{CHANGE_ID}", **DOWN)
    http.put(f"{CHANGES}/{CHANGE_ID}", json={"result": CHANGE})

    with each_call_retried(lambda _s: None):
        gateway.update("change_request", CHANGE_ID, {"work_notes": "noted"})

    assert calls(http, "PUT", f"{CHANGES}/{CHANGE_ID}") == 2


def test_the_retries_end_after_the_limit_with_the_gateways_error(http, gateway):
    for _ in range(QUICK_ATTEMPTS + 1):
        http.get(CHANGES, **BUSY)

    with each_call_retried(lambda _s: None), pytest.raises(RateLimited) as caught:
        gateway.find("change_request", "type=emergency")

    assert calls(http, "GET", CHANGES) == QUICK_ATTEMPTS
    assert (
        str(caught.value) == "GET change_request: HTTP 429 Rate limit exceeded:"
        " Rate limit of 10 requests per hour for Table API exceeded"
    )
    assert caught.value.retry_after == 1.0 and caught.value.retried_alone  # not again as a whole action


def test_outside_the_dispatcher_a_call_is_made_once(http, gateway):
    http.get(CHANGES, **BUSY)

    with pytest.raises(RateLimited):
        gateway.find("change_request")

    assert calls(http, "GET", CHANGES) == 1


def test_a_retry_after_longer_than_a_worker_waits_is_left_to_the_schedule(http, gateway):
    http.get(CHANGES, **{**BUSY, "headers": {"Retry-After": "120"}})

    with each_call_retried(lambda _s: None), pytest.raises(RateLimited) as caught:
        gateway.find("change_request")

    assert caught.value.retry_after == 120 and calls(http, "GET", CHANGES) == 1


def test_an_insert_whose_answer_was_lost_is_looked_at_again_only_later(http, gateway):
    http.post(CHANGES, body=requests.ReadTimeout("read timed out"))

    with each_call_retried(lambda _s: None), pytest.raises(Unavailable) as caught:
        gateway.create("change_request", {"short_description": "Bypass"})

    assert calls(http, "POST", CHANGES) == 1 and caught.value.retry_after == LOST_ANSWER_WAIT
