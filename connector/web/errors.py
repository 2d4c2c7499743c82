"""JSON errors everywhere: `{"error": "...", "detail": "..."}` for 4xx and 5xx alike.

`failure(exc, webhook=…)` is the one table from an exception to its answer (and its log line): the Flask
app's error handlers answer with it, and so does the webhooks' WSGI path (connector/web/webhooks.py),
which serves its deliveries without Flask's request machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from connector.errors import BadSignature, MalformedBody

logger = logging.getLogger(__name__)
NUL_IN_ADDRESS = "the address must not contain a NUL character (%00)"


class WebhookNotConfigured(Exception):
    """The endpoint's secret is not set: refuse rather than accept unsigned deliveries silently."""


@dataclass(frozen=True)
class Failure:
    status: int
    error: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def body(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


def failure(exc: Exception, *, webhook: bool) -> Failure:
    """The answer to `exc`, logged as its kind is: 401 a bad signature, 400 a malformed body, 503 a
    webhook without its secret, an HTTP error its own status (Allow kept on 405), anything else a 500
    whose traceback is logged (call it inside the `except` block)."""
    if isinstance(exc, BadSignature):
        logger.warning("webhook-rejected", extra={"reason": str(exc)})
        return Failure(401, "bad signature", str(exc))
    if isinstance(exc, MalformedBody):
        logger.warning("webhook-malformed", extra={"reason": str(exc)})
        return Failure(400, "malformed body", str(exc))
    if isinstance(exc, WebhookNotConfigured):
        logger.error("webhook-not-configured", extra={"reason": str(exc)})
        return Failure(503, "webhook secret not configured", str(exc))
    if isinstance(exc, HTTPException):
        headers = tuple((n, v) for n, v in exc.get_headers() if n.lower() != "content-type")
        return Failure(exc.code or 500, (exc.name or "error").lower(), exc.description or "", headers)
    logger.exception("request-crashed")
    detail = "the error was logged" + ("; the delivery was not recorded" if webhook else "")
    return Failure(500, "internal server error", detail)


def nul_in(path: str, args: Iterable[tuple[str, str]]) -> bool:
    """A NUL character is in no key, status or name of Jira or ServiceNow, and PostgreSQL cannot hold one
    in a text value: a path or query parameter carrying it is refused with a 400 before any view
    queries with it (a 500 from the database otherwise)."""
    return "\x00" in path or any("\x00" in name or "\x00" in value for name, value in args)


def error_response(status: int, error: str, detail: str = "") -> tuple[Response, int]:
    return jsonify({"error": error, "detail": detail}), status


def _answer(exc: Exception) -> tuple[Response, int]:
    answer = failure(exc, webhook=False)  # the deliveries never reach Flask
    response, status = error_response(answer.status, answer.error, answer.detail)
    for name, value in answer.headers:
        response.headers[name] = value
    return response, status


def _refuse_nul() -> tuple[Response, int] | None:
    if nul_in(request.path, request.args.items(multi=True)):
        return error_response(400, "bad request", NUL_IN_ADDRESS)
    return None


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
    for kind in (BadSignature, MalformedBody, WebhookNotConfigured, HTTPException, Exception):
        app.register_error_handler(kind, _answer)
