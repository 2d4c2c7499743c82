"""Flask factory of one sandbox Jira: auth, request log, faults, Jira-shaped errors, the views."""

from __future__ import annotations

import time

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox.jira.errors import JiraApiError
from sandbox.jira.faults import MAX_HOLD_SECONDS, Faults
from sandbox.jira.flavors import not_served, served
from sandbox.jira.http import SandboxContext, authenticate
from sandbox.jira.search import index_later
from sandbox.jira.state import Clock, JiraState
from sandbox.jira.webhooks import Dispatcher

FLAVORS = ("cloud", "datacenter")
ANONYMOUS = {"/rest/api/2/serverInfo", "/rest/api/3/serverInfo"}


def create_app(
    flavor: str = "cloud",
    *,
    clock: Clock | None = None,
    faults: Faults | None = None,
    validate_openapi: bool = False,
    webhook_backoff: float = 0.2,
    version: str | None = None,
    search_lag: float = 0.0,
) -> Flask:
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {FLAVORS}, got {flavor!r}")
    app = Flask("sandbox.jira")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = JiraState(flavor, clock, version)
    faults = faults or Faults()
    dispatcher = Dispatcher(state, faults, backoff=webhook_backoff)
    state.search_lag = search_lag

    def emit(event: dict) -> None:
        index_later(state, event)
        dispatcher.on_event(event)

    state.emit = emit
    context = SandboxContext(state, faults, dispatcher)
    app.extensions["jira_sandbox"] = context

    from sandbox.jira.views_admin import admin
    from sandbox.jira.views_config import config_views
    from sandbox.jira.views_custom_fields import custom_fields
    from sandbox.jira.views_issues import issues
    from sandbox.jira.views_jira_webhook import jira_webhooks
    from sandbox.jira.views_meta import meta
    from sandbox.jira.views_project import project_views
    from sandbox.jira.views_schemes import schemes
    from sandbox.jira.views_ui import ui

    for blueprint in (
        meta,
        config_views,
        issues,
        admin,
        ui,
        jira_webhooks,
        schemes,
        project_views,
        custom_fields,
    ):
        app.register_blueprint(blueprint)

    @app.before_request
    def _before() -> Response | None:
        rule = request.url_rule.rule if request.url_rule else request.path
        with state.lock:
            state.request_counts[f"{request.method} {rule}"] += 1
            state.base_url = request.host_url.rstrip("/")
        if request.path.startswith("/_sandbox/"):
            return None
        if not served(flavor, request.path):
            response = jsonify(not_served(request.url))
            response.status_code = 404
            return response
        fault = faults.for_request(request.method, request.path)
        if fault is not None:
            g.fault = fault.kind == "status"
            if fault.kind in ("latency", "timeout"):
                time.sleep(min(fault.seconds, MAX_HOLD_SECONDS))
            else:
                return _fault_response(fault.status, fault.retry_after)
        if request.path not in ANONYMOUS:
            g.actor = authenticate(state, request.headers.get("Authorization", ""))
            with state.lock:
                state.caller_counts[(g.actor.name, f"{request.method} {rule}")] += 1
        return None

    @app.errorhandler(JiraApiError)
    def _jira_error(error: JiraApiError) -> Response:
        response = jsonify(error.body())
        response.status_code = error.status
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        response = jsonify({"errorMessages": [error.description or error.name], "errors": {}})
        response.status_code = error.code or 500
        return response

    if validate_openapi:
        from sandbox.jira.openapi_check import install

        install(app, context)
    return app


def _fault_response(status: int, retry_after: int | None) -> Response:
    message = "Rate limit exceeded." if status == 429 else "Service temporarily unavailable."
    response = jsonify({"errorMessages": [message], "errors": {}})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if status == 429:
        response.headers["X-RateLimit-Limit"] = "100"
        response.headers["X-RateLimit-Remaining"] = "0"
    return response
