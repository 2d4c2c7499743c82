"""Validate every `/rest/api/{2,3}/...` request and response against Jira Cloud's OpenAPI document.

Used by the sandbox's own tests (`create_app(validate_openapi=True)`); mismatches are collected in
`SandboxContext.openapi_errors`. The connector's requests are judged with the same allow-list by
`tests/conformance`, which records them at the sandbox's WSGI boundary in every test.
`/rest/api/2/...` is checked against the same operation of v3 after the known, documented v2
differences below are normalised away.

Known differences (the allow-list):
- v2 transition id as an integer: the `jira` library sends `{"transition": {"id": 21}}`; v3 says string.
- v2 plain-text bodies: `description` and comment `body` are plain text on v2 and documents (ADF) on v3.
- The `jira` library sends `"comment": null` in an issue link on v2; Jira accepts it.
- Jira writes timestamps as `2026-11-28T10:00:00.000+0000` (offset without colon) where the document says
  RFC 3339 `date-time`; they are checked with the colon put in.
- Changelog items carry `"from": null` / `"fromString": null` (as real Jira does) where the document
  says a non-null string; nulls in changelog items are dropped before checking.
- Jira answers 204 (and 201 for an issue link) with no body where the document declares an empty JSON
  schema; an empty body is accepted for those.
- The removed `/rest/api/3/search` answers 410 Gone, which the document does not list.
- Data Center names people by user name: the `username` and `key` query parameters, which the Cloud
  document keeps but marks "no longer available", are Data Center's own (`DATACENTER_PARAMETERS`);
  in request bodies a user is `{"name": ...}` (notify recipients, assignee, reporter) where Cloud
  writes `{"accountId": ...}` and the document marks `name` read-only.
- `ScreenTypes` (the screens of a screen scheme) is marked `writeOnly`, yet the document's own example of
  `GET /rest/api/3/screenscheme` returns it and Jira does; the mark is dropped so answers may carry it.
- Fault-injected answers (429/503 from `/_sandbox/faults`) are not operation answers and are not checked.
- Data Center does not serve Cloud's own resources (`flavors.py`): its 404s for them are not checked;
  nor are Data Center's own resources the document lacks (`flavors.DATACENTER_ONLY`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandbox.jira.adf import to_adf
from sandbox.jira.flavors import in_cloud_document, served
from sandbox.jira.http import SandboxContext

SPEC_NAME = "reference/jira/jira-cloud-platform-openapi-v3.json"
# shared/ lies beside the work tree (and beside CI's clone); /work/shared is the usual place.
SPEC_CANDIDATES = (
    Path(__file__).resolve().parents[3] / "shared" / SPEC_NAME,
    Path("/work/shared") / SPEC_NAME,
)
SPEC_ENV = "ECM_JIRA_OPENAPI_SPEC"
HOST = "https://your-domain.atlassian.net"
UNCHECKED_STATUSES = {410}
BODILESS_STATUSES = {201, 204}
JIRA_OFFSET = re.compile(rb'(T\d{2}:\d{2}:\d{2}(?:\.\d+)?[+-]\d{2})(\d{2})"')


def _transition_id_as_string(data: dict[str, Any]) -> None:
    transition = data.get("transition")
    if isinstance(transition, dict) and isinstance(transition.get("id"), int):
        transition["id"] = str(transition["id"])


def _plain_text_as_document(data: dict[str, Any]) -> None:
    if isinstance(data.get("body"), str):
        data["body"] = to_adf(data["body"])
    fields = data.get("fields")
    if isinstance(fields, dict) and isinstance(fields.get("description"), str):
        fields["description"] = to_adf(fields["description"])


def _null_link_comment(data: dict[str, Any]) -> None:
    if "inwardIssue" in data and data.get("comment", {}) is None:
        del data["comment"]


V2_DIFFERENCES: tuple[Callable[[dict[str, Any]], None], ...] = (
    _transition_id_as_string,
    _plain_text_as_document,
    _null_link_comment,
)


def _user_by_name(user: Any) -> Any:
    if isinstance(user, dict) and set(user) == {"name"} and isinstance(user["name"], str):
        return {"accountId": user["name"]}
    return user


def _users_by_name(data: dict[str, Any]) -> None:
    """Data Center references a user by name (https://docs.atlassian.com/software/jira/docs/api/REST/latest/)."""
    to = data.get("to")
    if isinstance(to, dict) and isinstance(to.get("users"), list):
        to["users"] = [_user_by_name(u) for u in to["users"]]
    fields = data.get("fields")
    if isinstance(fields, dict):
        for role in ("assignee", "reporter"):
            if role in fields:
                fields[role] = _user_by_name(fields[role])


DATACENTER_DIFFERENCES: tuple[Callable[[dict[str, Any]], None], ...] = (_users_by_name,)

# Query parameters that the Cloud document retires but Jira Data Center's REST API v2 still takes
# (https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/user-getUser).
DATACENTER_PARAMETERS = frozenset({"username", "key"})


def spec_path(path: str = "") -> Path:
    """Where the document is: `path`, else $ECM_JIRA_OPENAPI_SPEC, else beside the work tree."""
    import os

    chosen = path or os.environ.get(SPEC_ENV)
    return Path(chosen) if chosen else next((p for p in SPEC_CANDIDATES if p.exists()), SPEC_CANDIDATES[-1])


@functools.lru_cache(maxsize=1)
def load_document(path: str = "") -> dict[str, Any]:
    """The document as plain JSON, loaded once per process (it is big)."""
    return json.loads(spec_path(path).read_text())


@functools.lru_cache(maxsize=1)
def load_spec(path: str = "") -> Any:
    """The parsed OpenAPI document, loaded once per process (it is big)."""
    from openapi_core import OpenAPI
    from openapi_core.configurations import Config

    document = load_document(path)
    document["components"]["schemas"].get("ScreenTypes", {}).pop("writeOnly", None)
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


class _Request:
    def __init__(self, path: str, body: bytes) -> None:
        self.host_url, self.path, self.method = HOST, path, request.method.lower()
        self.body, self.content_type = body, request.content_type or "application/octet-stream"
        from openapi_core.datatypes import RequestParameters

        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.args), header=Headers(request.headers), cookie=request.cookies
        )


class _Response:
    def __init__(self, response: Response) -> None:
        self.status_code, self.headers = response.status_code, Headers(response.headers)
        self.content_type = response.mimetype or ""
        self.data = response.get_data()


def _changelog_nulls_dropped(body: bytes) -> bytes:
    if b'"changelog"' not in body:
        return body
    data = json.loads(body)
    issues = data.get("issues", [data]) if isinstance(data, dict) else []
    for issue in issues:
        for history in (issue.get("changelog") or {}).get("histories") or []:
            history["items"] = [{k: v for k, v in item.items() if v is not None} for item in history["items"]]
    return json.dumps(data).encode()


def as_v3(path: str, body: bytes, flavor: str = "cloud") -> tuple[str, bytes]:
    """A v2 request (or answer) as the v3 one the document describes; `flavor` for a Data Center request."""
    if not path.startswith("/rest/api/2/"):
        return path, body
    path = "/rest/api/3/" + path.removeprefix("/rest/api/2/")
    if body:
        data = json.loads(body)
        if isinstance(data, dict):
            differences = V2_DIFFERENCES + (DATACENTER_DIFFERENCES if flavor == "datacenter" else ())
            for normalise in differences:
                normalise(data)
            body = json.dumps(data).encode()
    return path, body


def install(app: Flask, context: SandboxContext) -> None:
    spec = load_spec()

    @app.after_request
    def _validate(response: Response) -> Response:
        if not request.path.startswith("/rest/api/") or response.status_code in UNCHECKED_STATUSES:
            return response
        if getattr(g, "fault", False) or not served(context.state.flavor, request.path):
            return response  # a resource Data Center does not have is not Cloud's to check
        if not in_cloud_document(request.path):
            return response  # nor is one Data Center has and Cloud does not
        path, body = as_v3(request.path, request.get_data(), context.state.flavor)
        checked = _Request(path, body)
        where = f"{request.method} {request.path}"
        try:
            spec.validate_request(checked)
        except Exception as e:  # noqa: BLE001 - every validation failure is reported, whatever its type
            context.openapi_errors.append(f"request {where}: {describe(e)}")
        response_body = response.get_data()
        if request.path.startswith("/rest/api/2/") and response_body and response.is_json:
            _, response_body = as_v3(request.path, response_body)
        checked_response = _Response(response)
        checked_response.data = _changelog_nulls_dropped(JIRA_OFFSET.sub(rb'\1:\2"', response_body))
        try:
            spec.validate_response(checked, checked_response)
        except Exception as e:  # noqa: BLE001
            if not (_missing_data(e) and not response_body and response.status_code in BODILESS_STATUSES):
                context.openapi_errors.append(f"response {where} {response.status_code}: {describe(e)}")
        return response


def _missing_data(error: BaseException) -> bool:
    from openapi_core.validation.response.exceptions import MissingData

    chain: BaseException | None = error
    while chain is not None:
        if isinstance(chain, MissingData):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def describe(error: Exception) -> str:
    """The schema errors first (they say what is wrong), then the wrapper messages, shortened."""
    details, wrappers = [], []
    cause: BaseException | None = error
    while cause is not None:
        wrappers.append(str(cause)[:300])
        details.extend(
            str(getattr(d, "message", d))[:300] for d in getattr(cause, "schema_errors", None) or []
        )
        cause = cause.__cause__
    return " / ".join([*details, *wrappers])[:3000]
