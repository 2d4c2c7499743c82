"""`/healthz`: the process answers. `/readyz`: the database answers and its schema is current."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from connector.web.state import current_connector

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    ready, reason = current_connector().database.readiness()
    if ready:
        return jsonify({"status": "ok"}), 200
    return jsonify({"status": "unavailable", "error": "not ready", "detail": reason}), 503
