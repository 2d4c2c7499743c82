"""Judge recorded requests against Atlassian's Jira Cloud OpenAPI document.

For a request to `/rest/api/{2,3}/...` the judge finds the operation (path template and method) in
the document, refuses query parameters the operation does not declare (or declares as "no longer
available"), and lets `openapi-core` validate the path and query parameters and the JSON body.
`/rest/api/2/...` is judged as the same operation of v3 after the known v2 differences are normalised
by `sandbox.jira.openapi_check.as_v3`, the one list of them. Endpoints the document lacks are judged
by `offdocument` (Data Center's own resources under `/rest/api/2` among them); any other path is a
mismatch.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

import jsonschema
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandbox.jira.openapi_check import (
    DATACENTER_PARAMETERS,
    HOST,
    as_v3,
    describe,
    load_document,
    load_spec,
)
from tests.conformance import offdocument
from tests.conformance.recorder import Exchange

API = re.compile(r"/rest/api/[23]/.*")
Query = tuple[tuple[str, str], ...]
NO_LONGER_AVAILABLE = "This parameter is no longer available"


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    operation_id: str
    query: frozenset[str]  # declared query parameters
    retired: frozenset[str]  # declared, but "no longer available"
    deprecated: bool


@dataclass(frozen=True)
class Mismatch:
    exchange: Exchange
    operation: str  # operationId, an off-document endpoint's name, or "-"
    error: str

    def render(self) -> str:
        body = self.exchange.body.decode("utf-8", "replace")
        shown = f"\n      body: {body[:400]}" if body else ""
        return (
            f"  {self.exchange.describe()}\n"
            f"      operation: {self.operation}\n      error: {self.error}{shown}"
            + (f"\n      in test: {self.exchange.test}" if self.exchange.test else "")
        )


def judge(exchange: Exchange) -> list[Mismatch]:
    """What is wrong with one request, as the connector's gateway sent it; [] when it conforms."""
    key = (
        exchange.flavor,
        exchange.method,
        exchange.path,
        exchange.query,
        exchange.content_type,
        exchange.body,
    )
    return [Mismatch(exchange, operation, error) for operation, error in _findings(*key)]


@functools.lru_cache(maxsize=4096)  # a run repeats most requests exactly; each is judged once
def _findings(
    flavor: str, method: str, path: str, query: Query, content_type: str, body: bytes
) -> tuple[tuple[str, str], ...]:
    endpoint = offdocument.find(path)
    if endpoint is None and API.fullmatch(path):
        if flavor == "datacenter" and path.startswith("/rest/api/3/"):
            return (("-", "Jira Data Center has no REST API v3; use /rest/api/2"),)
        return _documented(flavor, method, path, query, content_type, body)
    if endpoint is None:
        return (("-", "not in the OpenAPI document and not listed in offdocument.py"),)
    if endpoint.datacenter_only and flavor != "datacenter":
        return ((endpoint.name, f"Jira Cloud has no such resource: {endpoint.why}"),)
    if not endpoint.connector_may_call:
        return ((endpoint.name, f"the connector must not call this: {endpoint.why}"),)
    if method not in endpoint.methods:
        return ((endpoint.name, f"{method} is not a method of {endpoint.name}"),)
    return tuple((endpoint.name, e) for e in _body_errors(body, endpoint.methods[method]))


def _documented(
    flavor: str, method: str, path: str, query: Query, content_type: str, body: bytes
) -> tuple[tuple[str, str], ...]:
    path, body = as_v3(path, body, flavor)
    operation = find_operation(path, method)
    if operation is None:
        return (("-", f"the document has no operation {method} {path}"),)
    found: list[str] = []
    for name in dict(query):
        if name not in operation.query:
            found.append(f"query parameter {name!r} is not a parameter of {operation.template}")
        elif name in operation.retired and not (flavor == "datacenter" and name in DATACENTER_PARAMETERS):
            found.append(f"query parameter {name!r}: the document says it is no longer available")
    if operation.deprecated and flavor == "cloud":  # Data Center keeps what Cloud retires
        found.append(f"{operation.operation_id} is deprecated in the document")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openapi-core warns about the OAuth2 scheme it cannot check
            load_spec().validate_request(_CheckedRequest(method, path, query, content_type, body))
    except Exception as e:  # noqa: BLE001 - every validation failure is a finding, whatever its type
        found.append(describe(e))
    return tuple((operation.operation_id, error) for error in found)


class _CheckedRequest:
    """An `openapi-core` request made from the recorded exchange (not from the sandbox's Flask request)."""

    def __init__(self, method: str, path: str, query: Query, content_type: str, body: bytes) -> None:
        self.host_url, self.path, self.method = HOST, path, method.lower()
        self.body = body or None
        self.content_type = (content_type or "application/json").split(";")[0]
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query)), header=Headers(), cookie=ImmutableMultiDict()
        )


def _body_errors(body: bytes, schema: dict[str, Any] | None) -> list[str]:
    if schema is None:
        return ["a body was sent where none is expected"] if body else []
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return ["the body is not JSON"]
    errors = jsonschema.Draft202012Validator(schema).iter_errors(data)
    return [f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}" for e in errors]


def find_operation(path: str, method: str) -> Operation | None:
    """The document's operation for a concrete v3 path; literal segments beat `{parameters}`."""
    for template, pattern in _templates():
        if pattern.fullmatch(path):
            item = load_document()["paths"][template]
            op = item.get(method.lower())
            if op is None:
                return None
            params = [p for p in op.get("parameters", []) if p.get("in") == "query"]
            return Operation(
                template,
                method.upper(),
                op.get("operationId", f"{method} {template}"),
                frozenset(p["name"] for p in params),
                frozenset(p["name"] for p in params if NO_LONGER_AVAILABLE in p.get("description", "")),
                bool(op.get("deprecated")),
            )
    return None


@functools.lru_cache(maxsize=1)
def _templates() -> tuple[tuple[str, re.Pattern[str]], ...]:
    compiled = [
        (t, re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)))) for t in load_document()["paths"]
    ]
    return tuple(sorted(compiled, key=lambda tp: (tp[0].count("{"), -len(tp[0]))))
