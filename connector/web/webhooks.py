"""`POST /webhooks/jira`, `/webhooks/servicenow`, `/webhooks/github` and `/webhooks/deploy`: raw bytes →
verify → parse → receive → status.

The deliveries are served by `WebhookPath`, a WSGI layer in front of the Flask app (`create_app` mounts
it): a POST to one of these paths is answered here, without Flask's request context, routing, session and
response objects, which cost a delivery more than its verification and parsing together; every other
request goes on to Flask. A webhook path asked with another method answers 405.

Receiving (record, dedupe, translate, handle, commit) is `connector.services.deliveries`: the process's group
commit (`Intake`) commits the deliveries that arrive together in one transaction and answers each request once
its transaction is committed.

401 (bad or missing signature, nothing stored), 400 (malformed body, or a NUL in the query), 413 (over
1 MiB), 503 (no secret configured), 200 with the outcome otherwise: handled, ignored (recorded) or
duplicate (not processed again). Errors are answered as the rest of the app answers them
(`connector.web.errors.failure`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import SecretStr
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

from connector.inbound.deploy_hook import parse_deploy_hook
from connector.inbound.events import Delivery, Event, Ignored
from connector.inbound.github import parse_github
from connector.inbound.jira import parse_jira
from connector.inbound.servicenow import parse_servicenow
from connector.inbound.signatures import verify_deploy_hook, verify_github, verify_jira, verify_servicenow
from connector.logs import log_context
from connector.web.errors import NUL_IN_ADDRESS, Failure, WebhookNotConfigured, failure, nul_in
from connector.web.metrics import WebMetrics, outcome_of
from connector.web.state import WebState

logger = logging.getLogger(__name__)
PREFIX = "/webhooks/"
Parsed = tuple[Delivery, Event | Ignored]
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Posted:
    """One POST to a webhook path: its headers, query parameters and raw body."""

    headers: Mapping[str, str]
    args: Mapping[str, str]
    body: bytes
    received_at: datetime


def jira(state: WebState, posted: Posted) -> Parsed:
    settings = state.connector.settings
    secret, token = _reveal(settings.jira_webhook_secret), _reveal(settings.jira_webhook_token)
    if _must_verify(state, secret or token, "ECM_JIRA_WEBHOOK_SECRET (or ECM_JIRA_WEBHOOK_TOKEN)"):
        url_token = posted.args.get("token")
        verify_jira(posted.headers, posted.body, secret, url_token=url_token, expected_token=token)
    return parse_jira(posted.headers, posted.body, received_at=posted.received_at)


def servicenow(state: WebState, posted: Posted) -> Parsed:
    secret = _reveal(state.connector.settings.servicenow_webhook_secret)
    if _must_verify(state, secret, "ECM_SERVICENOW_WEBHOOK_SECRET"):
        verify_servicenow(posted.headers, posted.body, secret)
    return parse_servicenow(posted.headers, posted.body, received_at=posted.received_at)


def github(state: WebState, posted: Posted) -> Parsed:
    secret = _reveal(state.connector.settings.github_webhook_secret)
    if _must_verify(state, secret, "ECM_GITHUB_WEBHOOK_SECRET"):
        verify_github(posted.headers, posted.body, secret)
    return parse_github(posted.headers, posted.body, received_at=posted.received_at)


def deploy(state: WebState, posted: Posted) -> Parsed:
    settings = state.connector.settings
    secret, token = _reveal(settings.deploy_webhook_secret), _reveal(settings.deploy_webhook_token)
    if _must_verify(state, secret or token, "ECM_DEPLOY_WEBHOOK_SECRET (or ECM_DEPLOY_WEBHOOK_TOKEN)"):
        verify_deploy_hook(posted.headers, posted.body, secret, token=token)  # X-ECM-Signature as ServiceNow
    return parse_deploy_hook(posted.headers, posted.body, received_at=posted.received_at)


ENDPOINTS: dict[str, Callable[[WebState, Posted], Parsed]] = {
    f"{PREFIX}jira": jira,
    f"{PREFIX}servicenow": servicenow,
    f"{PREFIX}github": github,
    f"{PREFIX}deploy": deploy,
}


class WebhookPath:
    """WSGI: the webhook deliveries answered here, everything else by `app` (the Flask app's own
    `wsgi_app`). `max_body`: the largest body taken (413 past it)."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], state: WebState, metrics: WebMetrics, *, max_body: int
    ):
        self.app, self.state, self.metrics, self.max_body = app, state, metrics, max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        endpoint = ENDPOINTS.get(environ.get("PATH_INFO", ""))
        if endpoint is None:
            return self.app(environ, start_response)
        if environ["REQUEST_METHOD"] != "POST":
            answer = failure(MethodNotAllowed(valid_methods=["POST"]), webhook=True)
            return _send(start_response, answer.status, answer.body, answer.headers)
        source = endpoint.__name__
        started = time.perf_counter()
        try:
            status, body = self._deliver(endpoint, environ)
        except Exception as exc:
            self.metrics.count(source, outcome_of(exc))
            answer: Failure = failure(exc, webhook=True)
            status, body, headers = answer.status, answer.body, answer.headers
        else:
            headers = ()
        finally:
            self.metrics.observe(source, time.perf_counter() - started)
        return _send(start_response, status, body, headers)

    def _deliver(
        self, endpoint: Callable[[WebState, Posted], Parsed], environ: dict[str, Any]
    ) -> tuple[int, dict]:
        query = environ.get("QUERY_STRING", "")
        args = (
            dict(reversed(parse_qsl(query, keep_blank_values=True))) if query else {}
        )  # the first of a name
        if args and nul_in("", args.items()):
            return 400, {"error": "bad request", "detail": NUL_IN_ADDRESS}
        body = self._body(environ)
        posted = Posted(EnvironHeaders(environ), args, body, self.state.connector.clock())
        delivery, event = endpoint(self.state, posted)
        with log_context(
            delivery_id=delivery.delivery_id, tool=delivery.source, issue_key=delivery.issue_key
        ):
            outcome = self.state.intake.receive(delivery, event)  # once it is committed with its batch
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
        self.metrics.count(delivery.source, outcome)
        return 200, {"outcome": outcome, "delivery_id": delivery.delivery_id}

    def _body(self, environ: dict[str, Any]) -> bytes:
        """The raw body, at most `max_body` bytes (`RequestEntityTooLarge` past it): as long as its
        Content-Length says, or, sent chunked (the server ends the stream), read to its end."""
        if "wsgi.input_terminated" in environ and get_content_length(environ) is None:
            body = environ["wsgi.input"].read(self.max_body + 1)
            if len(body) > self.max_body:
                raise RequestEntityTooLarge()
            return body
        return get_input_stream(environ, max_content_length=self.max_body).read()


class EnvironHeaders(Mapping[str, str]):
    """A request's headers read from the WSGI environ by name, whatever its case (`X-Hub-Signature` is
    `HTTP_X_HUB_SIGNATURE`); a missing one is None from `get`, with no exception raised and caught."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self.environ = environ

    @staticmethod
    def _key(name: str) -> str:
        key = name.upper().replace("-", "_")
        return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self.environ.get(self._key(name), default)

    def __getitem__(self, name: str) -> str:
        return self.environ[self._key(name)]

    def __iter__(self) -> Iterator[str]:
        for key in self.environ:
            if key.startswith("HTTP_"):
                yield key[5:].replace("_", "-").title()
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                yield key.replace("_", "-").title()

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _send(
    start_response: StartResponse, status: int, body: dict, headers: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    data = orjson.dumps(body) + b"\n"
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def _must_verify(state: WebState, configured: object, variable: str) -> bool:
    if configured:
        return True
    if state.insecure_no_signature:
        return False
    raise WebhookNotConfigured(f"set {variable} to accept these deliveries")


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
