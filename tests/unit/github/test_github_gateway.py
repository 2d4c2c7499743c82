"""The GitHub gateway against `responses`, holding it to the request shape GitHub's REST documentation
gives for "Review custom deployment protection rules for a workflow run" and for installation tokens."""

from __future__ import annotations

import base64
import json

import pytest
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connector.errors import RateLimited, Rejected, Unavailable
from connector.github.actions import GitHubActions
from connector.github.gateway import GitHubGateway
from connector.outbox import AnswerProtectionRule, Target

API = "https://api.github.com"
CALLBACK = f"{API}/repos/acme/checkout/actions/runs/4242/deployment_protection_rule"
TOKEN_URL = f"{API}/app/installations/2311213/access_tokens"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
NOW = 1_764_615_600.0


def gateway() -> GitHubGateway:
    return GitHubGateway(API, app_id="123456", private_key_pem=PEM, clock=lambda: NOW)


def test_the_app_token_is_issued_a_minute_back_for_nine_minutes():
    claims = json.loads(_segment(gateway().app_jwt().split(".")[1]))

    assert (claims["iat"], claims["exp"]) == (NOW - 60, NOW + 540)


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def documented_token_request(request) -> tuple[int, dict, str]:
    """201 with a token, after checking the App's JWT: RS256 over header.claims, issued by the App."""
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    header, claims, signature = request.headers["Authorization"].removeprefix("Bearer ").split(".")
    KEY.public_key().verify(
        _segment(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert json.loads(_segment(header)) == {"alg": "RS256", "typ": "JWT"}
    found = json.loads(_segment(claims))
    assert found["iss"] == "123456" and 0 < found["exp"] - found["iat"] <= 600  # at most 10 minutes
    return 201, {}, json.dumps({"token": "ghs_installation", "expires_at": "2099-12-01T20:00:00Z"})


def documented_review(request) -> tuple[int, dict, str]:
    """204 for the documented body, 422 for anything else (GitHub's answer to a body it cannot take)."""
    assert request.headers["Authorization"] == "Bearer ghs_installation"
    assert request.headers["Accept"] == "application/vnd.github+json"
    body = json.loads(request.body)
    if set(body) != {"environment_name", "state", "comment"} or body["state"] not in ("approved", "rejected"):
        return 422, {}, json.dumps({"message": "Invalid request."})
    return 204, {}, ""


@responses.activate
def test_a_protection_rule_is_answered_at_its_callback_with_an_installation_token():
    responses.add_callback(responses.POST, TOKEN_URL, callback=documented_token_request)
    responses.add_callback(responses.POST, CALLBACK, callback=documented_review)
    github = gateway()

    github.review_protection_rule(CALLBACK, "2311213", "production", "rejected", "EMG-1: R5 missing")
    github.review_protection_rule(CALLBACK, "2311213", "production", "approved", "EMG-1 may be deployed")

    assert [c.request.url for c in responses.calls] == [TOKEN_URL, CALLBACK, CALLBACK]  # the token is reused
    assert json.loads(responses.calls[1].request.body) == {
        "environment_name": "production",
        "state": "rejected",
        "comment": "EMG-1: R5 missing",
    }


def test_the_token_is_never_sent_to_a_callback_on_another_host():
    with pytest.raises(Rejected, match="is not on https://api.github.com"):
        gateway().review_protection_rule(
            "https://evil.example.com/x", "2311213", "production", "approved", ""
        )


@responses.activate
def test_an_answer_github_already_has_is_done_and_an_outage_is_retried():
    responses.add_callback(responses.POST, TOKEN_URL, callback=documented_token_request)
    responses.add(responses.POST, CALLBACK, status=422, json={"message": "already reviewed"})
    action = AnswerProtectionRule(CALLBACK, "2311213", "production", "approved", "ok")

    assert GitHubActions(gateway()).perform(action, Target(None), "k")["skipped"]

    responses.replace(responses.POST, CALLBACK, status=502)
    with pytest.raises(Unavailable):
        GitHubActions(gateway()).perform(action, Target(None), "k")
    responses.replace(responses.POST, CALLBACK, status=429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as limited:
        GitHubActions(gateway()).perform(action, Target(None), "k")
    assert limited.value.retry_after == 7.0


def test_the_gateway_never_shows_its_key():
    assert "PRIVATE" not in repr(gateway()) and "123456" in repr(gateway())
