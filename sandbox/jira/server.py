"""Serve a sandbox Jira: `run()` in the foreground for the CLI, `SandboxJira` in a thread for tests."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.jira.app import create_app
from sandbox.jira.faults import Faults
from sandbox.jira.http import SandboxContext
from sandbox.jira.state import Clock, JiraState

FAULTS_ENV = "ECM_JIRA_SANDBOX_FAULTS"
SECRET_ENV = "ECM_JIRA_WEBHOOK_SECRET"
EVENTS = ["jira:issue_created", "jira:issue_updated", "comment_created", "issuelink_created"]


def faults_from_env() -> Faults:
    """Faults from ECM_JIRA_SANDBOX_FAULTS: inline JSON or a path to a JSON file."""
    raw = os.environ.get(FAULTS_ENV, "").strip()
    if not raw:
        return Faults()
    text = raw if raw.startswith("{") else open(raw, encoding="utf-8").read()  # noqa: SIM115
    return Faults.from_dict(json.loads(text))


class QuietHandler(WSGIRequestHandler):
    """No access log line per request (the sandbox serves hundreds a second)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxJira:
    """A sandbox Jira on a free loopback port in a background thread."""

    def __init__(
        self,
        flavor: str = "cloud",
        *,
        clock: Clock | None = None,
        faults: Faults | None = None,
        validate_openapi: bool = False,
        webhook_backoff: float = 0.05,
        search_lag: float = 0.0,
        port: int = 0,
        version: str | None = None,
    ) -> None:
        self.app: Flask = create_app(
            flavor,
            clock=clock,
            faults=faults,
            validate_openapi=validate_openapi,
            webhook_backoff=webhook_backoff,
            version=version,
            search_lag=search_lag,
        )
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def context(self) -> SandboxContext:
        return self.app.extensions["jira_sandbox"]

    @property
    def state(self) -> JiraState:
        return self.context.state

    @property
    def faults(self) -> Faults:
        return self.context.faults

    @property
    def openapi_errors(self) -> list[str]:
        return self.context.openapi_errors

    def start(self) -> str:
        self._server = make_server(
            "127.0.0.1", self._port, self.app, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="jira-sandbox", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        with self.state.lock:
            self.state.base_url = self.url
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def deliver_pending(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery has been sent (or given up)."""
        return self.context.dispatcher.wait_idle(timeout)

    def register_webhook(
        self,
        url: str,
        *,
        secret: str | None = None,
        events: list[str] | None = None,
        jql: str | None = None,
        user: str = "admin",
    ) -> dict[str, Any]:
        """Register an admin webhook the way this server takes it (Data Center 10: `jira-webhook`)."""
        state = self.state
        if state.flavor != "cloud" and state.major_version >= 10:
            configuration = {"EXCLUDE_BODY": "false", **({"FILTERS": jql} if jql else {})}
            if secret:
                configuration["SECRET"] = secret
            path = "/rest/jira-webhook/1.0/webhooks"
            body: dict[str, Any] = {
                "name": "ecm-connector",
                "url": url,
                "events": events or EVENTS,
                "active": True,
                "configuration": configuration,
            }
        else:
            path = "/rest/webhooks/1.0/webhook"
            body = {"name": "ecm-connector", "url": url, "events": events or EVENTS, "excludeBody": False}
            if jql:
                body["filters"] = {"issue-related-events-section": jql}
            if secret:
                body["secret"] = secret
        response = requests.post(f"{self.url}{path}", json=body, auth=(user, user), timeout=10)
        response.raise_for_status()
        return response.json()

    def admin_page(
        self, method: str, path: str, body: dict[str, Any], *, user: str = "admin"
    ) -> requests.Response:
        """What an admin does in one of the administration pages `views_ui` stands for (Data Center)."""
        return requests.request(
            method, f"{self.url}/_sandbox/admin/{path}", json=body, auth=(user, user), timeout=10
        )

    def __enter__(self) -> SandboxJira:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run(
    port: int = 8081, flavor: str = "cloud", webhook_url: str | None = None, version: str | None = None
) -> None:
    """Serve in the foreground until interrupted."""
    sandbox = SandboxJira(flavor, faults=faults_from_env(), webhook_backoff=0.2, port=port, version=version)
    url = sandbox.start()
    print(f"jira sandbox: {url}", flush=True)
    if webhook_url:
        sandbox.register_webhook(webhook_url, secret=os.environ.get(SECRET_ENV) or None)
        print(f"jira sandbox: webhook registered to {webhook_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
