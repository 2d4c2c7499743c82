"""`POST /webhooks/github` and `POST /webhooks/deploy`: signed, recorded once, bad input refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from connector.web.app import create_app
from tests import github_examples as gh

from .web_helpers import connector_for, recorded, settings

DEPLOY_SECRET = "deploy-hook-secret-for-tests"


@pytest.fixture
def client(database):
    connector = connector_for(
        settings(github_webhook_secret=gh.GITHUB_SECRET, deploy_webhook_secret=DEPLOY_SECRET), database
    )
    return create_app(connector, config={"TESTING": True}).test_client()


def test_unsigned_or_wrongly_signed_github_delivery_is_refused_and_nothing_is_stored(client, database):
    body = gh.deployment_status()
    wrong = gh.github_headers("deployment_status", body, secret="guess")

    assert client.post("/webhooks/github", data=body, headers=wrong).status_code == 401
    unsigned = {k: v for k, v in wrong.items() if k != "X-Hub-Signature-256"}
    response = client.post("/webhooks/github", data=body, headers=unsigned)
    assert response.status_code == 401 and "X-Hub-Signature-256" in response.get_json()["detail"]
    assert recorded(database) == []


def test_ping_and_other_events_are_answered_and_ignored(client, database):
    for event in ("ping", "push"):
        body = gh.example(event)
        response = client.post("/webhooks/github", data=body, headers=gh.github_headers(event, body))
        assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert [r.event_type for r in recorded(database)] == ["ping", "push"]


def test_a_github_delivery_is_recorded_once_by_its_guid(client, database):
    body = gh.deployment_status(environment="staging")
    headers = gh.github_headers("deployment_status", body, "a1b2c3d4-0000-11e3-81ab-4c9367dc0958")

    first = client.post("/webhooks/github", data=body, headers=headers).get_json()
    again = client.post("/webhooks/github", data=body, headers=headers).get_json()

    assert (first["outcome"], again["outcome"]) == ("ignored", "duplicate")
    assert [(r.source, r.event_type) for r in recorded(database)] == [("github", "deployment_status.created")]


def signed(body: bytes, secret: str = DEPLOY_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"X-ECM-Signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}


HOOK = {
    "service": "payments-api",
    "environment": "production",
    "version": "1.4.2",
    "change_key": "EMG-12",
    "deployed_at": "2026-12-01T15:04:05Z",
    "deployer": "eng.emma",
    "url": "https://argocd.example.com/applications/payments-api",
}


def test_deploy_hook_is_signed_like_the_servicenow_notifications(client, database):
    body = json.dumps(HOOK).encode()

    assert client.post("/webhooks/deploy", data=body, headers=signed(body, "guess")).status_code == 401
    assert recorded(database) == []
    response = client.post("/webhooks/deploy", data=body, headers=signed(body))
    assert response.status_code == 200
    [row] = recorded(database)
    assert (row.source, row.issue_key) == ("pipeline", "EMG-12")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deployed_at": "2026-12-01T15:04:05"}, "deployed_at: Input should have timezone info"),
        ({"version": None}, "give the version or the sha that was deployed"),
        ({"service": ""}, "service: String should have at least 1 character"),
        ({"sha": "not-a-sha"}, "sha: String should match pattern"),
        ({"colour": "blue"}, "colour: unknown field"),
    ],
)
def test_deploy_hook_body_that_does_not_fit_is_refused_with_what_is_wrong(client, database, change, message):
    body = json.dumps({k: v for k, v in {**HOOK, **change}.items() if v is not None}).encode()

    response = client.post("/webhooks/deploy", data=body, headers=signed(body))

    assert response.status_code == 400 and message in response.get_json()["detail"]
    assert recorded(database) == []


def test_deploy_hook_takes_a_bearer_token_from_senders_that_cannot_sign(database):
    connector = connector_for(settings(deploy_webhook_token="argo-token-0123456789"), database)
    client = create_app(connector, config={"TESTING": True}).test_client()
    body = json.dumps(HOOK).encode()

    wrong = client.post("/webhooks/deploy", data=body, headers={"Authorization": "Bearer guess"})
    right = client.post(
        "/webhooks/deploy", data=body, headers={"Authorization": "Bearer argo-token-0123456789"}
    )

    assert (wrong.status_code, right.status_code) == (401, 200)
    assert [r.source for r in recorded(database)] == ["pipeline"]


def test_deploy_hook_fields_a_template_left_empty_are_absent(client, database):
    body = json.dumps({**HOOK, "change_key": "", "deployer": " "}).encode()

    response = client.post("/webhooks/deploy", data=body, headers=signed(body))

    assert response.status_code == 200
    [row] = recorded(database)
    assert row.issue_key is None
