"""Request helpers shared by the views: the sandbox context, the actor, bodies and answers."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, jsonify, request

from sandbox.jira.errors import JiraApiError, bad_request, forbidden
from sandbox.jira.faults import Faults
from sandbox.jira.seed import ADMIN_GROUP, AUTOMATION_GROUP, User
from sandbox.jira.state import JiraState
from sandbox.jira.webhooks import Dispatcher

V = "/rest/api/<any('2','3'):version>"
ADMIN_GROUPS = {ADMIN_GROUP, AUTOMATION_GROUP}
UNAUTHENTICATED = "Client must be authenticated to access this resource."


@dataclass
class SandboxContext:
    state: JiraState
    faults: Faults
    dispatcher: Dispatcher
    openapi_errors: list[str] = field(default_factory=list)


def ctx() -> SandboxContext:
    return current_app.extensions["jira_sandbox"]


def state() -> JiraState:
    return ctx().state


def actor() -> User:
    return g.actor


def require_admin() -> User:
    user = actor()
    if not ADMIN_GROUPS & set(user.groups):
        raise forbidden(
            "You are not authorised to perform this action. Administrator privileges are required."
        )
    return user


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise bad_request("The request body is not valid JSON.")
    return data


def base() -> str:
    return request.host_url.rstrip("/")


def ok(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def no_content() -> Response:
    """204 with no body and no content type, as Jira answers."""
    response = Response(status=204)
    response.headers.pop("Content-Type", None)
    return response


def authenticate(st: JiraState, header: str) -> User:
    """The user of a Basic (name or Cloud email, password = name) or DC Bearer (pat-<name>) credential."""
    scheme, _, credential = header.partition(" ")
    user = None
    if scheme.lower() == "basic":
        try:
            login, _, password = base64.b64decode(credential).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            login, password = "", ""
        candidate = st.users.get(login)
        if candidate is None and st.flavor == "cloud":
            candidate = next((u for u in st.users.values() if u.email == login), None)
        user = candidate if candidate is not None and password == candidate.name else None
    elif scheme.lower() == "bearer" and st.flavor == "datacenter" and credential.startswith("pat-"):
        user = st.users.get(credential.removeprefix("pat-"))
    if user is None:
        raise JiraApiError(401, [UNAUTHENTICATED])
    return user


def int_arg(name: str, default: int, lowest: int = 0) -> int:
    """A whole-number query parameter (`startAt`, `maxResults`, `page`): Jira answers 400 for one that is
    not a number or below its least value, never 500."""
    # The platform's OpenAPI document gives a paged list's 400 as "the request parameters are invalid (e.g.,
    # negative startAt, maxResults exceeding limit)" (`GET /rest/api/3/config/fieldschemes`, in
    # ../shared/reference/jira/jira-cloud-platform-openapi-v3.json), and Jira answers an out-of-range one
    # with a 400 and `errorMessages` (github.com/jenkinsci/jira-plugin/issues/646).
    raw = request.args.get(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError as e:
        raise bad_request(f"The value '{raw}' of {name} is not a number.") from e
    if value < lowest:
        raise bad_request(f"{name} must be at least {lowest}.")
    return value
