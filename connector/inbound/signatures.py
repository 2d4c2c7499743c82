"""Webhook signature checks: pure functions over `(headers, raw body)`.

Jira admin webhooks registered with a secret send `X-Hub-Signature: sha256=<hex HMAC of the raw body>`.
Jira Data Center may not sign; it is then authenticated by a `?token=` in the webhook URL, compared with the
configured token. The connector's own ServiceNow business rule sends `X-ECM-Signature: <Base64 HMAC-SHA256>`,
and so does a pipeline posting to the generic deploy hook. GitHub sends
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`
("Validating webhook deliveries", docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

Every failure raises `BadSignature` with a message that names what is wrong, never the secret or the expected
signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from connector.errors import BadSignature

JIRA_SIGNATURE_HEADER = "X-Hub-Signature"
GITHUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
SERVICENOW_SIGNATURE_HEADER = "X-ECM-Signature"
SUPPORTED_METHODS = {"sha256": hashlib.sha256}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name (Flask's headers and plain dicts alike). Only a
    plain dict is searched again by lower case: the servers' header mappings look names up that way."""
    value = headers.get(name)
    if value is not None or not isinstance(headers, dict):
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def verify_jira(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    *,
    url_token: str | None = None,
    expected_token: str | None = None,
) -> None:
    """Accept a Jira delivery signed with `secret`, or, unsigned, one carrying the configured URL token."""
    signature = header(headers, JIRA_SIGNATURE_HEADER)
    if signature is None and expected_token and url_token is not None:
        if not hmac.compare_digest(url_token.encode(), expected_token.encode()):
            raise BadSignature("webhook token does not match")
        return
    if not secret:
        raise BadSignature(f"missing {JIRA_SIGNATURE_HEADER} header and webhook token")
    if signature is None:
        raise BadSignature(f"missing {JIRA_SIGNATURE_HEADER} header")
    method, _, received = signature.strip().partition("=")
    digest = SUPPORTED_METHODS.get(method.lower())
    if digest is None or not received:
        raise BadSignature(f"{JIRA_SIGNATURE_HEADER} must read sha256=<hex digest>")
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    if not hmac.compare_digest(received.strip().lower().encode(), expected.encode()):
        raise BadSignature(f"{JIRA_SIGNATURE_HEADER} does not match the body")


def verify_servicenow(headers: Mapping[str, str], body: bytes, secret: str | None) -> None:
    """Accept a ServiceNow delivery whose `X-ECM-Signature` is the Base64 HMAC-SHA256 of the raw body."""
    if not secret:
        raise BadSignature("no webhook secret to check the signature against")
    signature = header(headers, SERVICENOW_SIGNATURE_HEADER)
    if signature is None:
        raise BadSignature(f"missing {SERVICENOW_SIGNATURE_HEADER} header")
    try:
        received = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature(f"{SERVICENOW_SIGNATURE_HEADER} is not Base64") from None
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(received, expected):
        raise BadSignature(f"{SERVICENOW_SIGNATURE_HEADER} does not match the body")


def verify_github(headers: Mapping[str, str], body: bytes, secret: str | None) -> None:
    """Accept a GitHub delivery whose `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the
    raw body with the webhook's secret (compared in constant time)."""
    if not secret:
        raise BadSignature("no webhook secret to check the signature against")
    signature = header(headers, GITHUB_SIGNATURE_HEADER)
    if signature is None:
        raise BadSignature(f"missing {GITHUB_SIGNATURE_HEADER} header")
    method, _, received = signature.strip().partition("=")
    if method != "sha256" or not received:
        raise BadSignature(f"{GITHUB_SIGNATURE_HEADER} must read sha256=<hex digest>")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(received.strip().lower().encode(), expected.encode()):
        raise BadSignature(f"{GITHUB_SIGNATURE_HEADER} does not match the body")


def verify_deploy_hook(
    headers: Mapping[str, str], body: bytes, secret: str | None, *, token: str | None = None
) -> None:
    """Accept a pipeline's deploy report signed as the ServiceNow notifications are (`X-ECM-Signature`), or,
    from a sender that cannot compute a signature (Argo CD's webhook service sends only static headers),
    unsigned with `Authorization: Bearer <the configured deploy hook token>`."""
    authorization = header(headers, "Authorization") or ""
    if header(headers, SERVICENOW_SIGNATURE_HEADER) is None and token and authorization.startswith("Bearer "):
        if not hmac.compare_digest(authorization.removeprefix("Bearer ").strip().encode(), token.encode()):
            raise BadSignature("deploy hook token does not match")
        return
    if not secret:
        raise BadSignature(f"missing {SERVICENOW_SIGNATURE_HEADER} header and deploy hook token")
    verify_servicenow(headers, body, secret)
