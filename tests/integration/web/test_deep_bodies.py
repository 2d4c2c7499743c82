"""A signed body nested far deeper than any real webhook is a bad request (400), stored nowhere — never a
500 from the parser's recursion, through the real composition root; nor does any mutated real body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from connector.bootstrap import bootstrap
from connector.web.app import create_app

from .web_helpers import SERVICENOW_SECRET, recorded, settings, signed_jira_headers

DEPTH = 20_000


@pytest.fixture
def real_client(database):
    return create_app(bootstrap(settings(), database=database, upgrade=False)).test_client()


def nested(depth: int, inner: bytes = b"1") -> bytes:
    start = b'{"webhookEvent": "jira:issue_updated", "issue": '
    return start + b'{"a": ' * depth + inner + b"}" * depth + b"}"


@pytest.mark.parametrize("body", [nested(DEPTH), b"[" * DEPTH + b"]" * DEPTH, nested(200)])
def test_a_deeply_nested_signed_jira_body_is_400_and_nothing_is_stored(real_client, database, body):
    response = real_client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "deep-1"))
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed body"
    assert "nested" in response.get_json()["detail"]
    assert recorded(database) == []


def test_a_deeply_nested_signed_servicenow_body_is_400_and_nothing_is_stored(real_client, database):
    body = b'{"event_id": "' + b"ab" * 16 + b'", "record": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    digest = hmac.new(SERVICENOW_SECRET.encode(), body, hashlib.sha256).digest()
    headers = {"X-ECM-Signature": base64.b64encode(digest).decode(), "X-ECM-Event-Id": "ab" * 16}
    response = real_client.post("/webhooks/servicenow", data=body, headers=headers)
    assert response.status_code == 400 and response.get_json()["error"] == "malformed body"
    assert recorded(database) == []


def test_a_real_body_nests_well_within_the_limit(real_client, database):
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": nested_dict(30)}).encode()
    response = real_client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "ok-1"))
    assert response.status_code != 400 or "nested" not in response.get_json().get("detail", "")


def nested_dict(depth: int) -> dict:
    value: dict = {"key": "TES-1"}
    for _ in range(depth):
        value = {"a": value, "key": "TES-1"}
    return value


FIXTURES = sorted((Path(__file__).parents[2] / "fixtures" / "jira" / "webhooks").glob("*.json"))


@examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fixture=st.sampled_from(FIXTURES),
    cut=st.integers(min_value=0, max_value=4000),
    junk=st.binary(max_size=40),
    n=st.integers(min_value=0, max_value=10**6),
)
def test_signed_mutated_real_bodies_never_answer_5xx(real_client, fixture, cut, junk, n):
    raw = fixture.read_bytes()
    body = raw[:cut] + junk + raw[cut:]  # a real body with bytes spliced in somewhere
    response = real_client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, f"m-{n}"))
    assert response.status_code < 500
