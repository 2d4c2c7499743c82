"""The dashboard: server-rendered HTML behind a login form that takes the admin token.

/dashboard/login (GET form, POST token) sets a signed session cookie; after 5 wrong tokens from one client
in 15 minutes it answers 429 with Retry-After (signin_limit.py); /dashboard/logout is a POST with a
CSRF token. No JavaScript: every page is a plain HTML document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, redirect, request, session, url_for

from connector.evidence.charts import bar_chart
from connector.evidence.overview import overview
from connector.evidence.packet import build_packet, iso
from connector.evidence.render_html import packet_page, render
from connector.store.evidence import ChangeNotFound
from connector.web.admin import rulebook
from connector.web.auth import SESSION_FLAG, check_csrf, csrf_token, require_login, token_matches
from connector.web.errors import error_response
from connector.web.signin_limit import SignInLimit
from connector.web.state import current_connector

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def _page(template: str, status: int = 200, **context: Any) -> Response:
    html = render(template, csrf_token=csrf_token(), logged_in=bool(session.get(SESSION_FLAG)), **context)
    return Response(html, status=status, mimetype="text/html")


def _local(target: str | None) -> str:
    """Only paths of this dashboard are followed after login (no open redirect)."""
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return url_for("dashboard.home")


@bp.get("/login")
def login() -> Response:
    token_matches(None)  # 503 when no token is configured
    return _page("login.html", next=_local(request.args.get("next")), error=None)


@bp.post("/login")
def login_submit() -> Response:
    check_csrf()
    target = _local(request.form.get("next"))
    limit, client, now = SignInLimit(current_connector().database), f"admin@{request.remote_addr}", _now()
    wait = limit.retry_after(client, now)
    if wait is not None:
        response = _page("login.html", status=429, next=target, error=_too_many(wait))
        response.headers["Retry-After"] = str(wait)
        return response
    if not token_matches(request.form.get("token", "")):
        limit.failed(client, now)
        return _page("login.html", status=401, next=target, error="That token is not the admin token.")
    limit.succeeded(client)
    session.clear()
    session[SESSION_FLAG] = True
    csrf_token()
    return redirect(target)


def _now() -> datetime:
    clock = getattr(current_connector(), "clock", None)
    return clock() if clock else datetime.now(UTC)


def _too_many(wait: int) -> str:
    minutes = max(1, round(wait / 60))
    return f"Too many wrong tokens from here: try again in {minutes} minute{'s' if minutes > 1 else ''}."


@bp.post("/logout")
def logout() -> Response:
    check_csrf()
    session.clear()
    return redirect(url_for("dashboard.login"))


@bp.get("")
@require_login
def home() -> Response:
    with current_connector().database.session() as db_session:
        data = overview(db_session, rulebook())
    figures = data["summary"]
    charts = [
        bar_chart(
            "stages", "Open emergency changes by stage", [(s.replace("_", " "), n) for s, n in data["stages"]]
        ),
        bar_chart(
            "rules", "Recorded violations by rule (90 days)", list(figures["violations_by_rule"].items())
        ),
        bar_chart(
            "projects",
            "Emergency changes per project (90 days)",
            list(figures["changes_per_project"].items()),
        ),
        bar_chart("ontime", "Post-mortems on time (90 days)", _on_time(figures), "%"),
    ]
    return _page("dashboard.html", d=data, figures=figures, charts=charts, iso=iso)


def _on_time(figures: dict[str, Any]) -> list[tuple[str, float]]:
    share = figures["share_on_time"]
    return (
        [] if share is None else [("on time", round(share * 100, 1)), ("late", round((1 - share) * 100, 1))]
    )


@bp.get("/changes/<key>/evidence")
@require_login
def evidence(key: str) -> Response | tuple[Response, int]:
    try:
        with current_connector().database.session() as db_session:
            packet = build_packet(db_session, key, rulebook())
    except ChangeNotFound as exc:
        return error_response(404, "not found", str(exc))
    return Response(packet_page(packet), mimetype="text/html")
