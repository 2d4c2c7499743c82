"""Admin webhooks: registrations, the bodies Jira sends for each event, signed delivery from a worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import requests

from sandbox.jira.errors import bad_request
from sandbox.jira.faults import Faults
from sandbox.jira.render import changelog_items, comment_json, issue_fields, user_json
from sandbox.jira.search import compile_query
from sandbox.jira.state import JiraState, Webhook

log = logging.getLogger(__name__)
RETRY_STATUSES = {408, 409, 425, 429}
MAX_RETRIES = 5
FILTER_KEY = "issue-related-events-section"
COMMENT_ISSUE_FIELDS = ("assignee", "issuetype", "priority", "project", "status", "summary")


def register(state: JiraState, actor: str, body: dict[str, Any], existing: Webhook | None = None) -> Webhook:
    if not body.get("name"):
        raise bad_request(name="The webhook name is required.")
    if not str(body.get("url", "")).startswith(("http://", "https://")):
        raise bad_request(url="The webhook URL must be an http(s) URL.")
    filters = dict(body.get("filters") or {})
    if filters.get(FILTER_KEY):
        compile_query(state, filters[FILTER_KEY])
    hook = Webhook(
        existing.id if existing else max(state.webhooks, default=0) + 1,
        body["name"],
        body["url"],
        list(body.get("events") or []),
        filters,
        bool(body.get("excludeBody", False)),
        _secret(state, body, existing),
        bool(body.get("enabled", True)),
        actor,
        state.now(),
    )
    state.webhooks[hook.id] = hook
    return hook


def _secret(state: JiraState, body: dict[str, Any], existing: Webhook | None) -> str | None:
    """The secret deliveries are signed with. Cloud takes `secret` (X-Hub-Signature, added in 2024).
    Data Center 9's admin webhooks have no secret: a `secret` in the body is ignored and deliveries go out
    unsigned (https://developer.atlassian.com/server/jira/platform/webhooks/ lists name, url, events,
    filters, excludeBody only). Data Center 10's `/rest/jira-webhook/1.0/webhooks` takes it as
    `configuration.SECRET` and signs with X-Hub-Signature: sha256=... ("Securing your webhook",
    https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html); a top-level
    `secret` is ignored there too."""
    kept = existing.secret if existing else None
    if state.flavor == "cloud":
        return body.get("secret", kept)
    if state.major_version < 10:
        return None
    return (body.get("configuration") or {}).get("SECRET", kept) or None


def from_jira_webhook_body(body: dict[str, Any]) -> dict[str, Any]:
    """A Data Center 10 `jira-webhook` body (`configuration` FILTERS / EXCLUDE_BODY / SECRET, `active`)
    in the registration shape `register` reads."""
    configuration = body.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise bad_request(configuration="The configuration must be an object of strings.")
    converted: dict[str, Any] = {
        "name": body.get("name"),
        "url": body.get("url"),
        "events": body.get("events") or [],
        "filters": {FILTER_KEY: configuration["FILTERS"]} if configuration.get("FILTERS") else {},
        "excludeBody": str(configuration.get("EXCLUDE_BODY", "false")).lower() == "true",
        "enabled": str(body.get("active", True)).lower() == "true",
    }
    if "SECRET" in configuration:
        converted["configuration"] = {"SECRET": configuration["SECRET"]}
    return converted


def jira_webhook_json(hook: Webhook) -> dict[str, Any]:
    """A webhook as Data Center 10's `/rest/jira-webhook/1.0/webhooks` shows it (never its secret)."""
    configuration = {"EXCLUDE_BODY": str(hook.exclude_body).lower()}
    if hook.filters.get(FILTER_KEY):
        configuration["FILTERS"] = hook.filters[FILTER_KEY]
    millis = int(hook.updated.timestamp() * 1000)
    return {
        "id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "events": hook.events,
        "configuration": configuration,
        "active": hook.enabled,
        "scopeType": "global",
        "createdDate": millis,
        "updatedDate": millis,
        "sslVerificationRequired": True,
    }


def webhook_json(state: JiraState, hook: Webhook, base: str) -> dict[str, Any]:
    user = state.users.get(hook.updated_by)
    return {
        "name": hook.name,
        "url": hook.url,
        "excludeBody": hook.exclude_body,
        "filters": hook.filters,
        "events": hook.events,
        "enabled": hook.enabled,
        "self": f"{base}/rest/webhooks/1.0/webhook/{hook.id}",
        "lastUpdatedUser": user.key if user else hook.updated_by,
        "lastUpdatedDisplayName": user.display_name if user else hook.updated_by,
        "lastUpdated": int(hook.updated.timestamp() * 1000),
    }


def event_body(state: JiraState, event: dict[str, Any]) -> dict[str, Any]:
    """The body Jira posts for an event (v2 representation, as real webhooks use)."""
    base = state.base_url
    issue = state.issues[event["issue_id"]]
    body: dict[str, Any] = {"timestamp": int(state.now().timestamp() * 1000), "webhookEvent": event["event"]}
    issue_ref = {"id": issue.id, "self": f"{base}/rest/api/2/issue/{issue.id}", "key": issue.key}
    if event["event"] == "issuelink_created":
        link = event["link"]
        link_type = state.link_types[link.type_id]
        body["issueLink"] = {
            "id": int(link.id),
            "sourceIssueId": int(link.source),
            "destinationIssueId": int(link.destination),
            "systemLink": False,
            "issueLinkType": {
                "id": int(link_type["id"]),
                "name": link_type["name"],
                "outwardName": link_type["outward"],
                "inwardName": link_type["inward"],
                "isSubTaskLinkType": False,
                "isSystemLinkType": False,
            },
        }
        return body
    if event["event"] == "comment_created":
        body["comment"] = comment_json(state, event["comment"], base, issue, "2")
        if state.flavor == "cloud":
            fields = issue_fields(state, issue, base, "2")
            body["issue"] = {**issue_ref, "fields": {k: fields[k] for k in COMMENT_ISSUE_FIELDS}}
        return body
    body["issue_event_type_name"] = event["type_name"]
    actor = state.users[event["actor"]]
    body["user"] = user_json(state, actor, base)
    if state.flavor == "cloud":  # captured Cloud bodies still carry the legacy name/key of the actor
        body["user"].update({"name": actor.name, "key": actor.name})
    body["issue"] = {**issue_ref, "fields": issue_fields(state, issue, base, "2")}
    if event.get("comment") is not None:
        body["comment"] = comment_json(state, event["comment"], base, issue, "2")
    history = event.get("changelog")
    if history is not None:
        body["changelog"] = {"id": history["id"], "items": changelog_items(state, history["items"])}
    elif event["event"] == "jira:issue_created":
        body["changelog"] = {"id": state.next_id(), "items": []}
    return body


def wanted_by(state: JiraState, hook: Webhook, event: dict[str, Any]) -> bool:
    if not hook.enabled or event["event"] not in hook.events:
        return False
    jql = hook.filters.get(FILTER_KEY)
    return not jql or compile_query(state, jql)(state.issues[event["issue_id"]])


def should_retry(status: int | None) -> bool:
    """Jira retries connection failures, 408/409/425/429 and 5xx answers."""
    return status is None or status in RETRY_STATUSES or status >= 500


@dataclass
class Delivery:
    identifier: str
    webhook_id: int
    event: str
    url: str
    body: bytes
    secret: str | None = field(repr=False)
    issue_id: str = ""
    action: str = "deliver"


class Dispatcher:
    """Queues deliveries in the request thread; a few worker threads send them, retrying. As in Jira
    Cloud, deliveries of different issues go out concurrently; those of one issue keep their order
    (the issue is hashed to a worker). Each delivery's fault action is drawn when it is queued, so a
    scripted sequence applies in event order whatever worker sends it."""

    def __init__(
        self, state: JiraState, faults: Faults, backoff: float = 0.2, timeout: float = 5.0, workers: int = 8
    ) -> None:
        self.state, self.faults, self.backoff, self.timeout = state, faults, backoff, timeout
        self.queues: list[queue.Queue[Delivery]] = [queue.Queue() for _ in range(max(1, workers))]
        self._held: Delivery | None = None
        self._pending = 0
        self._idle = threading.Condition()
        self._workers: list[threading.Thread | None] = [None] * len(self.queues)
        self._local = threading.local()

    def on_event(self, event: dict[str, Any]) -> None:
        """Called with the state lock held."""
        body = None
        for hook in list(self.state.webhooks.values()):
            if not wanted_by(self.state, hook, event):
                continue
            body = body or event_body(self.state, event)
            raw = json.dumps({} if hook.exclude_body else body).encode()
            delivery = Delivery(
                str(uuid.uuid4()), hook.id, event["event"], hook.url, raw, hook.secret, str(event["issue_id"])
            )
            delivery.action = self.faults.for_delivery(event.get("actor"))
            self._enqueue(delivery)

    def _enqueue(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
            if delivery.action == "reorder" and self._held is None:
                self._held = delivery  # goes out right after the next delivery, on the same worker
                return
            held, self._held = self._held, None
        self._put(delivery)
        if held is not None:
            held.action = "deliver"
            self._put(held, self._lane(delivery))

    def _lane(self, delivery: Delivery) -> int:
        return zlib.crc32(delivery.issue_id.encode()) % len(self.queues)

    def _put(self, delivery: Delivery, lane: int | None = None) -> None:
        lane = self._lane(delivery) if lane is None else lane
        self.queues[lane].put(delivery)
        with self._idle:
            worker = self._workers[lane]
            if worker is None or not worker.is_alive():
                worker = threading.Thread(
                    target=self._run, args=(lane,), name=f"jira-sandbox-webhooks-{lane}", daemon=True
                )
                self._workers[lane] = worker
                worker.start()

    def backlog(self) -> int:
        """Deliveries queued or being sent."""
        with self._idle:
            return self._pending

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self, lane: int) -> None:
        self._local.session = requests.Session()
        while True:
            try:
                delivery = self.queues[lane].get(timeout=0.2)
            except queue.Empty:
                self._release_held(lane)
                continue
            self._handle(delivery, delivery.action)
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _release_held(self, lane: int) -> None:
        """A held delivery with nothing after it goes out once a worker found its queue empty."""
        with self._idle:
            held, self._held = self._held, None
        if held is not None:
            self._handle(held, "deliver")
            self._done()

    def _handle(self, delivery: Delivery, action: str) -> None:
        if action == "drop":
            self._record(delivery, [], "dropped")
            return
        if action == "delay":
            time.sleep(self.faults.webhooks.delay_seconds)
        self._send(delivery)
        if action == "duplicate":
            self._send(delivery)

    def _send(self, delivery: Delivery) -> None:
        attempts: list[dict[str, Any]] = []
        for retry in range(MAX_RETRIES + 1):
            if retry:
                time.sleep(self.backoff * retry)
            outcome = self._attempt(delivery, retry)
            attempts.append(outcome)
            if not should_retry(outcome.get("status")):
                break
        delivered = attempts[-1].get("status") is not None and attempts[-1]["status"] < 300
        self._record(delivery, attempts, "delivered" if delivered else "failed")

    def _attempt(self, delivery: Delivery, retry: int) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": delivery.identifier}
        if retry:
            headers["X-Atlassian-Webhook-Retry"] = str(retry)
        if delivery.secret:
            digest = hmac.new(delivery.secret.encode(), delivery.body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        try:
            response = self._local.session.post(
                delivery.url, data=delivery.body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as e:
            log.info(
                "jira-sandbox-webhook-failed identifier=%s error=%s", delivery.identifier, type(e).__name__
            )
            return {"retry": retry, "status": None, "error": type(e).__name__}
        return {"retry": retry, "status": response.status_code}

    def _record(self, delivery: Delivery, attempts: list[dict[str, Any]], outcome: str) -> None:
        with self.state.lock:
            self.state.deliveries.append(
                {
                    "identifier": delivery.identifier,
                    "webhook": delivery.webhook_id,
                    "event": delivery.event,
                    "url": delivery.url,
                    "outcome": outcome,
                    "attempts": attempts,
                    "body": json.loads(delivery.body),
                }
            )
