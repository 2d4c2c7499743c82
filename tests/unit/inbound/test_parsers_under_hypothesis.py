"""The webhook parsers and signature checks under random and mutated real bodies: they return an event or
raise the connector's own typed errors (`InboundError`), never anything else."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import InboundError
from connector.inbound.jira import parse_jira
from connector.inbound.servicenow import parse_servicenow
from connector.inbound.signatures import verify_jira, verify_servicenow

ROOT = Path(__file__).resolve().parents[3]
BODIES = sorted((ROOT / "tests/fixtures/jira/webhooks").glob("*.json"))
REFERENCE = ROOT.parent / "shared/reference/jira/webhooks"
BODIES += sorted(REFERENCE.glob("*.json")) if REFERENCE.is_dir() else []
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PARSERS = (parse_jira, parse_servicenow)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


def parsed_or_typed_error(parser, headers, body: bytes) -> None:
    with contextlib.suppress(InboundError):  # anything else fails the test
        parser(headers, body, received_at=NOW)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=400))
def test_random_bytes_give_an_event_or_a_typed_error(body):
    for parser in PARSERS:
        parsed_or_typed_error(parser, {}, body)


@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_random_json_gives_an_event_or_a_typed_error(value):
    for parser in PARSERS:
        parsed_or_typed_error(parser, {}, json.dumps(value).encode())


def _mutate(doc, path: list, replacement):
    """`doc` with the value at `path` (a list of keys/indices, cut short where it runs out) replaced."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return replacement
    if isinstance(doc, dict):
        key = sorted(doc)[path[0] % len(doc)]
        return {**doc, key: _mutate(doc[key], path[1:], replacement)}
    index = path[0] % len(doc)
    return [*doc[:index], _mutate(doc[index], path[1:], replacement), *doc[index + 1 :]]


@pytest.mark.parametrize("fixture", BODIES, ids=lambda p: p.name)
@settings(max_examples=25, deadline=None)
@given(path=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6), replacement=json_values)
def test_a_mutated_real_body_gives_an_event_or_a_typed_error(fixture, path, replacement):
    mutated = _mutate(json.loads(fixture.read_bytes()), path, replacement)
    body = json.dumps(mutated).encode()
    for parser in PARSERS:
        parsed_or_typed_error(parser, {"X-Atlassian-Webhook-Identifier": "h-1"}, body)


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=200),
    signature=st.text(max_size=80),
    secret=st.none() | st.text(min_size=1, max_size=20),
)
def test_signature_checks_accept_or_raise_bad_signature_only(body, signature, secret):
    for headers in ({"X-Hub-Signature": signature}, {"X-ECM-Signature": signature}, {}):
        with contextlib.suppress(InboundError):
            verify_jira(headers, body, secret)
        with contextlib.suppress(InboundError):
            verify_servicenow(headers, body, secret)
