"""GitHub deliveries about deployments, parsed from GitHub's own published examples and schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connector.errors import BadSignature, MalformedBody
from connector.inbound.events import DeployReported, Ignored, ProtectionRuleRequested
from connector.inbound.github import HANDLERS, IGNORED_EVENTS, parse_github
from connector.inbound.signatures import verify_github
from tests import github_examples as gh

NOW = datetime(2026, 12, 1, 19, 5, tzinfo=UTC)


def parse(event: str, body: bytes, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958"):
    return parse_github(gh.github_headers(event, body, delivery), body, received_at=NOW)


@pytest.mark.parametrize(("event", "index"), gh.example_ids())
def test_every_published_deployment_example_is_parsed(event, index):
    example = gh.examples()[event][index]
    body = json.dumps(example).encode()

    delivery, parsed = parse(event, body)

    assert isinstance(parsed, DeployReported) and delivery.source == "github"
    deployment = example["deployment"]
    assert parsed.deploy_id == f"{example['repository']['full_name']}#{deployment['id']}"
    assert parsed.sha == deployment["sha"] and parsed.environment
    if event == "deployment_status":
        assert parsed.state == example["deployment_status"]["state"]
        assert parsed.at == datetime.fromisoformat(example["deployment_status"]["created_at"])
    else:
        assert parsed.state == "created"


def test_a_deployment_and_its_status_name_the_same_deploy():
    _, created = parse("deployment", gh.deployment(deployment_id=7))
    _, status = parse("deployment_status", gh.deployment_status(deployment_id=7))

    assert created.deploy_id == status.deploy_id


def test_the_change_key_is_looked_for_in_payload_description_and_ref():
    body = gh.deployment_status(payload={"change": "EMG-12"}, description="fix for EMG-13", ref="EMG-14-fix")

    _, parsed = parse("deployment_status", body)

    texts = dict(parsed.texts)
    assert "EMG-12" in texts["payload"] and texts["description"] == "fix for EMG-13"
    assert texts["ref"] == "EMG-14-fix"
    assert parsed.at == datetime(2026, 12, 1, 19, tzinfo=UTC) and parsed.deployer == "eng-emma"


def test_the_deployed_commits_message_is_read_from_its_workflow_run():
    _, parsed = parse("deployment_status", gh.deployment_status(commit_title="Fix EMG-7: retry card auth"))

    assert dict(parsed.texts)["commit_message"] == "Fix EMG-7: retry card auth"


def test_a_protection_rule_request_names_its_callback_and_installation():
    _, parsed = parse("deployment_protection_rule", gh.protection_rule(payload={"change": "EMG-3"}))

    assert isinstance(parsed, ProtectionRuleRequested)
    assert parsed.callback_url.endswith("/deployment_protection_rule")
    assert (parsed.environment, parsed.installation_id) == ("production", "2311213")
    assert "EMG-3" in dict(parsed.texts)["payload"]


@pytest.mark.parametrize("event", ["ping", "push", "deployment_review"])
def test_other_events_are_ignored(event):
    _, parsed = parse(event, gh.example(event))

    assert isinstance(parsed, Ignored)


def test_every_handled_event_is_declared_once():
    assert set(HANDLERS).isdisjoint(IGNORED_EVENTS)
    assert set(HANDLERS) == set(gh.DEPLOY_EVENTS)


def test_a_delivery_without_its_guid_is_malformed():
    body = gh.deployment()
    headers = gh.github_headers("deployment", body)
    del headers["X-GitHub-Delivery"]

    with pytest.raises(MalformedBody, match="X-GitHub-Delivery"):
        parse_github(headers, body, received_at=NOW)


def test_a_status_without_its_time_is_malformed():
    example = json.loads(gh.deployment_status())
    del example["deployment_status"]["created_at"]

    with pytest.raises(MalformedBody, match="deployment_status.created_at: missing"):
        parse("deployment_status", json.dumps(example).encode())


def test_signature_is_the_hex_hmac_of_the_raw_body():
    body = gh.deployment()
    headers = gh.github_headers("deployment", body)

    verify_github(headers, body, gh.GITHUB_SECRET)
    with pytest.raises(BadSignature, match="does not match"):
        verify_github(headers, body + b" ", gh.GITHUB_SECRET)
    with pytest.raises(BadSignature, match="missing X-Hub-Signature-256"):
        verify_github({}, body, gh.GITHUB_SECRET)
    with pytest.raises(BadSignature, match="must read sha256="):
        verify_github({"X-Hub-Signature-256": "sha1=abc"}, body, gh.GITHUB_SECRET)
