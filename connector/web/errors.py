"""JSON errors everywhere: `{"error": "...", "detail": "..."}` for 4xx and 5xx alike."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from connector.errors import BadSignature, MalformedBody

logger = logging.getLogger(__name__)


class WebhookNotConfigured(Exception):
    """The endpoint's secret is not set: refuse rather than accept unsigned deliveries silently."""


def error_response(status: int, error: str, detail: str = "") -> tuple[Response, int]:
    return jsonify({"error": error, "detail": detail}), status


def _bad_signature(exc: BadSignature) -> tuple[Response, int]:
    logger.warning("webhook-rejected", extra={"reason": str(exc)})
    return error_response(401, "bad signature", str(exc))


def _malformed(exc: MalformedBody) -> tuple[Response, int]:
    logger.warning("webhook-malformed", extra={"reason": str(exc)})
    return error_response(400, "malformed body", str(exc))


def _not_configured(exc: WebhookNotConfigured) -> tuple[Response, int]:
    logger.error("webhook-not-configured", extra={"reason": str(exc)})
    return error_response(503, "webhook secret not configured", str(exc))


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    response, _ = error_response(status, (exc.name or "error").lower(), exc.description or "")
    for name, value in exc.get_headers():  # keeps Allow on 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def _unexpected(exc: Exception) -> tuple[Response, int]:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    logger.exception("request-crashed")
    detail = "the error was logged" + (
        "; the delivery was not recorded" if request.blueprint == "webhooks" else ""
    )
    return error_response(500, "internal server error", detail)


def _refuse_nul() -> tuple[Response, int] | None:
    """A NUL character is in no key, status or name of Jira or ServiceNow, and PostgreSQL cannot hold one
    in a text value: a path or query parameter carrying it is refused with a 400 before any view
    queries with it (a 500 from the database otherwise)."""
    if "\x00" in request.path or any(
        "\x00" in name or "\x00" in value for name, value in request.args.items(multi=True)
    ):
        return error_response(400, "bad request", "the address must not contain a NUL character (%00)")
    return None


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
    app.register_error_handler(BadSignature, _bad_signature)
    app.register_error_handler(MalformedBody, _malformed)
    app.register_error_handler(WebhookNotConfigured, _not_configured)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
