"""`POST /webhooks/jira`, `/webhooks/servicenow`, `/webhooks/github` and `/webhooks/deploy`: raw bytes →
verify → parse → receive → status.

Receiving (record, dedupe, translate, handle, commit) is `connector.services.deliveries`: the process's group
commit (`Intake`) commits the deliveries that arrive together in one transaction and answers each request once
its transaction is committed.

401 (bad or missing signature, nothing stored), 400 (malformed body), 413 (over 1 MiB), 503 (no secret
configured), 200 with the outcome otherwise: handled, ignored (recorded) or duplicate (not processed again).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from pydantic import SecretStr

from connector.inbound.deploy_hook import parse_deploy_hook
from connector.inbound.events import Delivery, Event, Ignored
from connector.inbound.github import parse_github
from connector.inbound.jira import parse_jira
from connector.inbound.servicenow import parse_servicenow
from connector.inbound.signatures import verify_deploy_hook, verify_github, verify_jira, verify_servicenow
from connector.logs import log_context
from connector.web.errors import WebhookNotConfigured
from connector.web.metrics import count_delivery, observed
from connector.web.state import current_connector, web_state

logger = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/jira")
@observed("jira")
def jira() -> tuple[Response, int]:
    settings = current_connector().settings
    secret, token = _reveal(settings.jira_webhook_secret), _reveal(settings.jira_webhook_token)
    body = request.get_data(cache=False)
    if _must_verify(secret or token, "ECM_JIRA_WEBHOOK_SECRET (or ECM_JIRA_WEBHOOK_TOKEN)"):
        verify_jira(request.headers, body, secret, url_token=request.args.get("token"), expected_token=token)
    delivery, event = parse_jira(request.headers, body, received_at=current_connector().clock())
    return _receive(delivery, event)


@bp.post("/servicenow")
@observed("servicenow")
def servicenow() -> tuple[Response, int]:
    secret = _reveal(current_connector().settings.servicenow_webhook_secret)
    body = request.get_data(cache=False)
    if _must_verify(secret, "ECM_SERVICENOW_WEBHOOK_SECRET"):
        verify_servicenow(request.headers, body, secret)
    delivery, event = parse_servicenow(request.headers, body, received_at=current_connector().clock())
    return _receive(delivery, event)


@bp.post("/github")
@observed("github")
def github() -> tuple[Response, int]:
    secret = _reveal(current_connector().settings.github_webhook_secret)
    body = request.get_data(cache=False)
    if _must_verify(secret, "ECM_GITHUB_WEBHOOK_SECRET"):
        verify_github(request.headers, body, secret)
    delivery, event = parse_github(request.headers, body, received_at=current_connector().clock())
    return _receive(delivery, event)


@bp.post("/deploy")
@observed("deploy")
def deploy() -> tuple[Response, int]:
    settings = current_connector().settings
    secret, token = _reveal(settings.deploy_webhook_secret), _reveal(settings.deploy_webhook_token)
    body = request.get_data(cache=False)
    if _must_verify(secret or token, "ECM_DEPLOY_WEBHOOK_SECRET (or ECM_DEPLOY_WEBHOOK_TOKEN)"):
        verify_deploy_hook(request.headers, body, secret, token=token)  # X-ECM-Signature as ServiceNow
    delivery, event = parse_deploy_hook(request.headers, body, received_at=current_connector().clock())
    return _receive(delivery, event)


def _receive(delivery: Delivery, event: Event | Ignored) -> tuple[Response, int]:
    with log_context(delivery_id=delivery.delivery_id, tool=delivery.source, issue_key=delivery.issue_key):
        outcome = web_state().intake.receive(delivery, event)  # once it is committed with its batch
        reason = event.reason if isinstance(event, Ignored) else None
        logger.info(
            "webhook-received",
            extra={
                "event_type": delivery.event_type,
                "outcome": outcome,
                "reason": reason,
                "retry": delivery.retry,
            },
        )
    count_delivery(delivery.source, outcome)
    return jsonify({"outcome": outcome, "delivery_id": delivery.delivery_id}), 200


def _must_verify(configured: object, variable: str) -> bool:
    if configured:
        return True
    if web_state().insecure_no_signature:
        return False
    raise WebhookNotConfigured(f"set {variable} to accept these deliveries")


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
