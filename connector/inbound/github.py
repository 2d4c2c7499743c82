"""Parse GitHub webhook deliveries about deployments into typed events. No I/O.

GitHub posts (docs.github.com/en/webhooks/webhook-events-and-payloads):

    X-GitHub-Event: deployment | deployment_status | deployment_protection_rule | ping | ...
    X-GitHub-Delivery: <GUID, the same on a redelivery>      X-Hub-Signature-256: sha256=<hex HMAC>

`deployment_status` (action `created`) carries the status (`state`, `environment`, `created_at`,
`target_url`, `log_url`) and its `deployment` (`id`, `sha`, `ref`, `payload`, `description`, `creator`);
`deployment` (action `created`) only the deployment. A status names the deploy's time; a new deployment
is reported with the state "created" and is not a deploy yet. `deployment_protection_rule` (action
`requested`) asks whether a deployment to `environment` may proceed and where to answer
(`deployment_callback_url`). Shapes as in GitHub's published examples and schemas
(`@octokit/webhooks-examples`, `@octokit/webhooks-schemas`, the tests' fixtures).

    delivery, event = parse_github(headers, body, received_at=now)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from connector.errors import MalformedBody
from connector.inbound.events import Delivery, DeployReported, Ignored, ProtectionRuleRequested
from connector.inbound.reader import JsonObject, load_object
from connector.inbound.signatures import header

SOURCE = "github"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
DELIVERY_ID = re.compile(r"^[0-9A-Za-z-]{1,100}$")
IGNORED_EVENTS = {
    "ping": "ping: GitHub checks the webhook is reachable",
    "deployment_review": "deployment reviews are GitHub's own; the procedure's come from the tools",
}


def parse_github(
    headers: Mapping[str, str], body: bytes, *, received_at: datetime
) -> tuple[Delivery, DeployReported | ProtectionRuleRequested | Ignored]:
    delivery_id = (header(headers, DELIVERY_HEADER) or "").strip()
    if not DELIVERY_ID.match(delivery_id):
        raise MalformedBody(f"{DELIVERY_HEADER}: missing or not a delivery GUID")
    event_type = (header(headers, EVENT_HEADER) or "").strip()
    if not event_type:
        raise MalformedBody(f"{EVENT_HEADER}: missing")
    doc = load_object(body)
    delivery = Delivery(
        source=SOURCE,
        delivery_id=delivery_id,
        event_type=f"{event_type}.{doc.text('action') or ''}".rstrip(".")[:64],
        issue_key=None,
        received_at=received_at,
        body=body,
    )
    if event_type in IGNORED_EVENTS:
        return delivery, Ignored(IGNORED_EVENTS[event_type])
    handler = HANDLERS.get(event_type)
    if handler is None:
        return delivery, Ignored(f"GitHub event {event_type!r} is not about deployments")
    return delivery, handler(doc, received_at)


def _deployment(doc: JsonObject, received_at: datetime) -> DeployReported | Ignored:
    deployment = doc.required_obj("deployment")
    return _report(doc, deployment, state="created", at=_time(deployment, "created_at"), status=None)


def _deployment_status(doc: JsonObject, received_at: datetime) -> DeployReported | Ignored:
    deployment, status = doc.required_obj("deployment"), doc.required_obj("deployment_status")
    state = status.required_text("state")
    return _report(doc, deployment, state=state, at=_time(status, "created_at"), status=status)


def _report(
    doc: JsonObject, deployment: JsonObject, *, state: str, at: datetime, status: JsonObject | None
) -> DeployReported:
    repository = doc.required_obj("repository").required_text("full_name")
    environment = (status.text("environment") if status else None) or deployment.required_text("environment")
    url = None
    if status is not None:
        url = status.text("target_url") or status.text("log_url") or status.text("url")
    texts = _texts(deployment, status, _commit_message(doc, deployment.text("sha")))
    return DeployReported(
        source=SOURCE,
        deploy_id=f"{repository}#{deployment.required_text('id')}",
        state=state,
        environment=environment,
        at=at,
        repository=repository,
        sha=deployment.text("sha"),
        ref=deployment.text("ref"),
        deployer=_login(deployment.obj("creator")) or _login(doc.obj("sender")),
        url=url or deployment.text("url"),
        texts=texts,
    )


def _protection_rule(doc: JsonObject, received_at: datetime) -> ProtectionRuleRequested | Ignored:
    action = doc.text("action")
    if action != "requested":
        return Ignored(f"deployment_protection_rule {action!r}: only requests are answered")
    repository = doc.required_obj("repository").required_text("full_name")
    deployment = doc.obj("deployment")
    callback = doc.required_text("deployment_callback_url")
    if not callback.startswith(("https://", "http://")):
        raise MalformedBody("deployment_callback_url: expected a URL")
    installation = doc.obj("installation")
    sha = deployment.text("sha") if deployment else None
    return ProtectionRuleRequested(
        deploy_id=f"{repository}#{deployment.required_text('id')}" if deployment else callback,
        environment=doc.required_text("environment"),
        callback_url=callback,
        installation_id=installation.text("id") if installation else None,
        repository=repository,
        at=received_at,
        sha=sha,
        ref=deployment.text("ref") if deployment else None,
        deployer=_login(doc.obj("sender")),
        texts=_texts(deployment, None, _commit_message(doc, sha)) if deployment else (),
    )


Parsed = DeployReported | ProtectionRuleRequested | Ignored
HANDLERS: dict[str, Callable[[JsonObject, datetime], Parsed]] = {
    "deployment": _deployment,
    "deployment_status": _deployment_status,
    "deployment_protection_rule": _protection_rule,
}


def _texts(
    deployment: JsonObject, status: JsonObject | None, commit_message: str | None
) -> tuple[tuple[str, str], ...]:
    """Where a change key may be written, by the names the mapping's `deploys.look_in` uses."""
    payload = deployment.raw("payload")
    found = [
        ("payload", payload if isinstance(payload, str) else json.dumps(payload) if payload else ""),
        ("description", deployment.text("description") or ""),
        ("description", (status.text("description") if status else None) or ""),
        ("ref", deployment.text("ref") or ""),
        ("commit_message", commit_message or ""),
    ]
    return tuple((where, text) for where, text in found if text)


def _commit_message(doc: JsonObject, sha: str | None) -> str | None:
    """The deployed commit's message, where the body gives it: the title of the workflow run of that
    commit (`workflow_run.display_title`, a push's commit message; the schema gives no other)."""
    run = doc.obj("workflow_run")
    if run is None or (sha and run.text("head_sha") != sha):
        return None
    return run.text("display_title")


def _login(user: JsonObject | None) -> str | None:
    return user.text("login") if user is not None else None


def _time(obj: JsonObject, key: str) -> datetime:
    value = obj.required_text(key)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedBody(f"{obj.path}.{key}: expected an ISO 8601 time, not {value!r}") from None
    if moment.tzinfo is None:
        raise MalformedBody(f"{obj.path}.{key}: expected a time with its zone, not {value!r}")
    return moment
