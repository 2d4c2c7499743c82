"""Both webhook endpoints through the Flask app and the real composition root, under random bytes, random
JSON and mutated real bodies (the sandbox's installed ServiceNow rule, Jira's captured payloads), signed
and unsigned: an unsigned or wrongly signed body is 401 and stores nothing, a signed one is 200 or 400 —
never a 5xx, never an exception out of the app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from connector.bootstrap import bootstrap
from connector.web.app import create_app

from .web_helpers import SERVICENOW_SECRET, recorded, settings, signed_jira_headers

ROOT = Path(__file__).resolve().parents[3]
SERVICENOW_BODIES = sorted((ROOT / "tests/fixtures/servicenow/webhooks").glob("*.json"))
JIRA_BODIES = sorted((ROOT / "tests/fixtures/jira/webhooks").glob("*.json"))
REFERENCE = ROOT.parent / "shared/reference/jira/webhooks"
JIRA_BODIES += sorted(REFERENCE.glob("*.json")) if REFERENCE.is_dir() else []
FUZZ = examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DELIVERY = count()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
header_text = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80)
paths = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6)


@pytest.fixture
def real_client(database):
    return create_app(bootstrap(settings(), database=database, upgrade=False)).test_client()


def mutate(doc, path: list, replacement):
    """`doc` with the value at `path` (keys/indices taken modulo, cut short where it runs out) replaced."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return replacement
    if isinstance(doc, dict):
        key = sorted(doc)[path[0] % len(doc)]
        return {**doc, key: mutate(doc[key], path[1:], replacement)}
    index = path[0] % len(doc)
    return [*doc[:index], mutate(doc[index], path[1:], replacement), *doc[index + 1 :]]


def servicenow_headers(body: bytes, event_id: str | None = None) -> dict[str, str]:
    digest = hmac.new(SERVICENOW_SECRET.encode(), body, hashlib.sha256).digest()
    headers = {"X-ECM-Signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}
    return headers | ({"X-ECM-Event-Id": event_id} if event_id else {})


def post_servicenow(client, body: bytes, headers: dict[str, str]):
    response = client.post("/webhooks/servicenow", data=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json  # every answer, refusals included, is the JSON error shape
    return response


def test_the_servicenow_bodies_cover_every_table_the_installed_rule_posts():
    tables = {json.loads(p.read_bytes())["table"] for p in SERVICENOW_BODIES}
    assert tables == {"change_request", "change_task", "sysapproval_approver"}


@pytest.mark.parametrize("fixture", SERVICENOW_BODIES, ids=lambda p: p.name)
def test_each_captured_servicenow_body_is_received_once_signed(real_client, fixture):
    body = fixture.read_bytes()
    event_id = json.loads(body)["event_id"]
    first = post_servicenow(real_client, body, servicenow_headers(body, event_id))
    again = post_servicenow(real_client, body, servicenow_headers(body, event_id))
    assert first.status_code == 200 and first.get_json()["outcome"] in ("handled", "ignored")
    assert again.get_json()["outcome"] == "duplicate"


@FUZZ
@given(body=st.binary(max_size=400), event_id=st.none() | header_text)
def test_random_bytes_to_servicenow_are_401_unsigned_and_never_5xx_signed(
    real_client, database, body, event_id
):
    headers = {"X-ECM-Event-Id": event_id} if event_id else {}
    before = len(recorded(database))
    assert post_servicenow(real_client, body, headers).status_code == 401
    assert len(recorded(database)) == before  # nothing stored
    post_servicenow(real_client, body, servicenow_headers(body, f"r-{next(DELIVERY)}"))


@FUZZ
@given(value=json_values)
def test_random_json_to_servicenow_signed_is_never_5xx(real_client, value):
    body = json.dumps(value).encode()
    assert post_servicenow(real_client, body, servicenow_headers(body)).status_code in (200, 400)


@FUZZ
@given(fixture=st.sampled_from(SERVICENOW_BODIES), path=paths, replacement=json_values)
def test_mutated_real_servicenow_bodies_are_401_unsigned_and_never_5xx_signed(
    real_client, database, fixture, path, replacement
):
    doc = mutate(json.loads(fixture.read_bytes()), path, replacement)
    if isinstance(doc, dict) and isinstance(doc.get("event_id"), str):
        doc["event_id"] = f"{doc['event_id'][:20]}-{next(DELIVERY)}"  # a new delivery each time
    body = json.dumps(doc).encode()
    before = len(recorded(database))
    assert post_servicenow(real_client, body, {"Content-Type": "application/json"}).status_code == 401
    assert len(recorded(database)) == before  # nothing stored
    assert post_servicenow(real_client, body, servicenow_headers(body)).status_code in (200, 400)


@FUZZ
@given(fixture=st.sampled_from(SERVICENOW_BODIES), signature=header_text)
def test_a_forged_servicenow_signature_is_401(real_client, fixture, signature):
    body = fixture.read_bytes()
    headers = {"X-ECM-Signature": signature}
    assert post_servicenow(real_client, body, headers).status_code == 401


@FUZZ
@given(fixture=st.sampled_from(JIRA_BODIES), path=paths, replacement=json_values)
def test_mutated_real_jira_bodies_are_401_unsigned_and_never_5xx_signed(
    real_client, database, fixture, path, replacement
):
    body = json.dumps(mutate(json.loads(fixture.read_bytes()), path, replacement)).encode()
    before = len(recorded(database))
    unsigned = real_client.post("/webhooks/jira", data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and len(recorded(database)) == before
    signed = real_client.post(
        "/webhooks/jira", data=body, headers=signed_jira_headers(body, f"j-{next(DELIVERY)}")
    )
    assert signed.status_code in (200, 400), signed.get_data(as_text=True)
    assert signed.is_json


@FUZZ
@given(value=json_values)
def test_random_json_to_jira_signed_is_never_5xx(real_client, value):
    body = json.dumps(value).encode()
    response = real_client.post(
        "/webhooks/jira", data=body, headers=signed_jira_headers(body, f"j-{next(DELIVERY)}")
    )
    assert response.status_code in (200, 400), response.get_data(as_text=True)
