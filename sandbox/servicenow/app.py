"""The Flask app: Table API under /api/now[/v1]/table, admin surface under /_sandbox."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox.servicenow.admin import register_admin
from sandbox.servicenow.engine import Instance
from sandbox.servicenow.faults import Faults
from sandbox.servicenow.journal import overlay_journal
from sandbox.servicenow.notify import Notifier
from sandbox.servicenow.query import parse_query
from sandbox.servicenow.render import Renderer, View, error_body, link_header
from sandbox.servicenow.rules import Refusal
from sandbox.servicenow.store import Clock

RATE_LIMIT_PER_HOUR = 1000  # the injected rule's limit (a sys_rate_limit_rules record's, per user)
RATE_LIMIT_RULE = "5d4c3b2a19f8e7d6c5b4a39281706f5e"  # the injected rule's sys_id
_FAULT_MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_PREFIXES = ("/api/now/table/", "/api/now/v1/table/", "/api/now/v2/table/")


def _display_input() -> bool:
    return request.args.get("sysparm_input_display_value", "false").lower() == "true"


def encrypted(value: str) -> str:
    """How a password2 value reads back: not the clear text, stable for one value."""
    import hashlib

    return "ENC:" + hashlib.sha256(value.encode()).hexdigest()[:24]


def create_app(
    *, clock: Clock | None = None, faults: Faults | None = None, instance: Instance | None = None
) -> Flask:
    faults = faults or Faults()
    instance = instance or Instance(clock, Notifier(faults))
    app = Flask("sandbox.servicenow")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["servicenow"] = instance
    app.extensions["servicenow.faults"] = faults
    counts: Counter[str] = Counter()
    app.extensions["servicenow.counts"] = counts

    def fail(status: int, message: str, detail: str | None, **headers: str) -> Response:
        response = jsonify(error_body(message, detail))
        response.status_code = status
        response.headers.update(headers)
        return response

    def rate_limited(retry_after: str) -> Response:
        """A request over an inbound REST API rate limit rule, answered as ServiceNow answers it ("Inbound
        REST API rate limiting", ServiceNow/ServiceNowDocs api-reference/rest-api-explorer): 429 Too Many
        Requests, `Retry-After` in seconds, the rule's `X-RateLimit-Limit` (requests per hour),
        `X-RateLimit-Reset` (Unix time of the next reset) and `X-RateLimit-Rule` (its sys_id), and the body
        {"error": {"message": "Rate limit exceeded", "detail": "Rate limit of N requests per hour for
        Table API exceeded"}, "status": "failure"}."""
        seconds = int(float(retry_after))
        return fail(
            429,
            "Rate limit exceeded",
            f"Rate limit of {RATE_LIMIT_PER_HOUR} requests per hour for Table API exceeded",
            **{
                "Retry-After": str(seconds),
                "X-RateLimit-Limit": str(RATE_LIMIT_PER_HOUR),
                "X-RateLimit-Reset": str(int(time.time()) + seconds),
                "X-RateLimit-Rule": RATE_LIMIT_RULE,
            },
        )

    @app.errorhandler(Refusal)
    def refused(error: Refusal) -> Response:
        return fail(error.status, error.message, error.detail)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code == 405:
            return fail(405, "Method not Supported", f"{request.method} is not supported by this resource")
        if error.code == 404:
            return fail(400, "Requested URI does not represent any resource", None)
        return fail(error.code or 500, error.name, error.description)

    @app.before_request
    def guard() -> Response | None:
        if not request.path.startswith("/api/"):
            return None
        table = request.path.split("/table/", 1)[-1].split("/", 1)[0]
        counts[table] += 1
        action = faults.for_request(request.method, request.path)
        if action is not None:
            time.sleep(action.delay)
            if action.status == 429:
                return rate_limited(action.retry_after or "1")
            if action.status is not None:
                headers = {"Retry-After": action.retry_after} if action.retry_after else {}
                return fail(
                    action.status,
                    _FAULT_MESSAGES.get(action.status, "Error"),
                    "Injected by sandbox",
                    **headers,
                )
        auth = request.authorization
        user = instance.user(auth.username or "") if auth and auth.type == "basic" else None
        if user is None or auth is None or auth.password != user["user_name"] or user["active"] != "true":
            return fail(401, "User Not Authenticated", "Required to provide Auth information")
        g.actor = user
        return None

    def render(table: str, rows: list[dict[str, str]], view: View) -> list[dict[str, Any]]:
        renderer = Renderer(instance.store.get, request.host_url)
        out = []
        columns = dict.fromkeys(instance.custom_columns(table), "")  # every row has a defined column
        for row in rows:
            row = {**columns, **row}
            body = renderer.record(table, row, view, lambda name, r=row: instance.read_field(table, r, name))
            if table == "sys_properties" and row.get("type") == "password2" and body.get("value"):
                # Two-way encrypted: the Table API and forms show it encrypted; server-side
                # gs.getProperty() answers the clear value (what the deliver rule signs with).
                body["value"] = encrypted(row["value"])
            out.append(overlay_journal(instance.store, table, row["sys_id"], body, view))
        return out

    def body() -> dict[str, Any]:
        raw = request.get_data()
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise Refusal(400, "Exception while reading request", "The payload is not valid JSON.")
        return payload

    for prefix in _PREFIXES:
        version = prefix.split("/")[3]

        @app.get(f"{prefix}<table>", endpoint=f"list_{version}")
        def list_records(table: str, version: str = version) -> Response:
            spec = instance.spec(table)
            if not instance.can_read(spec, g.actor):
                return jsonify(result=[])
            args = request.args.to_dict()
            filters = "^".join(f"{k}={v}" for k, v in args.items() if not k.startswith("sysparm_"))
            query = parse_query(args.get("sysparm_query") or filters)
            with instance.store.lock:
                rows = query.apply(instance.store.rows(table), lambda r, n: instance.read_field(table, r, n))
            try:
                limit = int(args.get("sysparm_limit") or 10000)
                offset = int(args.get("sysparm_offset") or 0)
            except ValueError as error:
                raise Refusal(400, "Invalid sysparm_limit or sysparm_offset", str(error)) from error
            page = rows[offset : offset + limit] if limit > 0 else []
            if version == "v1" and not page:
                raise Refusal(404, "No Record found", "Records matching query not found")
            response = jsonify(result=render(table, page, View.from_args(args)))
            response.headers["X-Total-Count"] = str(len(rows))
            if args.get("sysparm_suppress_pagination_header", "false").lower() != "true" and limit > 0:
                response.headers["Link"] = link_header(request.base_url, args, offset, limit, len(rows))
            return response

        @app.get(f"{prefix}<table>/<sys_id>", endpoint=f"get_{version}")
        def get_record(table: str, sys_id: str) -> Response:
            spec = instance.spec(table)
            row = instance.store.get(table, sys_id)
            if row is None or not instance.can_read(spec, g.actor):
                raise Refusal(
                    404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
                )
            return jsonify(result=render(table, [row], View.from_args(request.args.to_dict()))[0])

        @app.post(f"{prefix}<table>", endpoint=f"create_{version}")
        def create_record(table: str) -> Response:
            row = instance.insert(table, body(), g.actor, display=_display_input())
            response = jsonify(result=render(table, [row], View.from_args(request.args.to_dict()))[0])
            response.status_code = 201
            response.headers["Location"] = f"{request.base_url}/{row['sys_id']}"
            return response

        @app.route(f"{prefix}<table>/<sys_id>", methods=["PUT", "PATCH"], endpoint=f"update_{version}")
        def update_record(table: str, sys_id: str) -> Response:
            row = instance.update(table, sys_id, body(), g.actor, display=_display_input())
            return jsonify(result=render(table, [row], View.from_args(request.args.to_dict()))[0])

        @app.delete(f"{prefix}<table>/<sys_id>", endpoint=f"delete_{version}")
        def delete_record(table: str, sys_id: str) -> Response:
            instance.delete(table, sys_id, g.actor)
            return Response(status=204)

    register_admin(app, instance, faults, counts, fail)
    return app
