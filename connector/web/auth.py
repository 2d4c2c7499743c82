"""Who may read the admin API and the dashboard: whoever holds ECM_ADMIN_TOKEN.

The pipeline gate (`/api/changes/{key}/gate`) also takes ECM_GATE_TOKEN, a narrower token that opens
nothing else, so a CI/CD system never holds the key to the evidence and the dashboard.

The API takes it as `Authorization: Bearer <token>`; the dashboard takes it once through a login form
and then keeps a signed session cookie (HttpOnly, SameSite=Lax; Secure over https and whenever
ECM_PUBLIC_URL is https). Tokens are compared
in constant time. Without a configured token both answer 503 rather than open up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec

from flask import Flask, Response, abort, has_request_context, redirect, request, session, url_for
from flask import Request as FlaskRequest
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue

from connector.web.errors import error_response
from connector.web.state import current_connector

if TYPE_CHECKING:
    from connector.config import Settings

P = ParamSpec("P")  # a view's arguments (the URL's variables)
View = Callable[P, ResponseReturnValue]

SESSION_FLAG = "admin"
WEBHOOKS = "/webhooks/"  # the deliveries' paths (connector/web/webhooks.py): no session
CSRF_KEY = "csrf"


class AdminNotConfigured(Exception):
    """ECM_ADMIN_TOKEN is not set: the admin API and the dashboard stay closed."""


def admin_token() -> str | None:
    return _secret("admin_token")


def gate_token() -> str | None:
    return _secret("gate_token")


def _secret(name: str) -> str | None:
    token = getattr(current_connector().settings, name, None)
    return token.get_secret_value() if token is not None else None


def _same(given: str | None, expected: str | None) -> bool:
    if given is None or expected is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def token_matches(given: str | None) -> bool:
    expected = admin_token()
    if expected is None:
        raise AdminNotConfigured("set ECM_ADMIN_TOKEN to use the admin API and the dashboard")
    return _same(given, expected)


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_token(view: View[P]) -> View[P]:
    """API views: 401 without a valid bearer token."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if not token_matches(_bearer()):
            response, status = error_response(
                401, "unauthorized", "send Authorization: Bearer <ECM_ADMIN_TOKEN>"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="ecm-admin"'
            return response, status
        return view(*args, **kwargs)

    return guarded


def require_gate_token(view: View[P]) -> View[P]:
    """The gate: ECM_ADMIN_TOKEN or ECM_GATE_TOKEN; 503 only when neither is configured."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        admin, gate = admin_token(), gate_token()
        if admin is None and gate is None:
            raise AdminNotConfigured("set ECM_GATE_TOKEN or ECM_ADMIN_TOKEN to use the gate")
        given = _bearer()
        if not (_same(given, gate) or _same(given, admin)):
            response, status = error_response(
                401, "unauthorized", "send Authorization: Bearer <ECM_GATE_TOKEN or ECM_ADMIN_TOKEN>"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="ecm-gate"'
            return response, status
        return view(*args, **kwargs)

    return guarded


def require_login(view: View[P]) -> View[P]:
    """Dashboard views: to the login form without a signed session (a bearer token works as well)."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        token_matches(None)  # 503 when no token is configured
        if not session.get(SESSION_FLAG) and not token_matches(_bearer()):
            return redirect(url_for("dashboard.login", next=request.path))
        return view(*args, **kwargs)

    return guarded


def csrf_token() -> str:
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return session[CSRF_KEY]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), session.get(CSRF_KEY, "").encode()) or not sent:
        abort(400, description="the form is stale or was not sent by this dashboard; reload it")


class HttpsAwareSessions(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the request came over https. A webhook delivery has
    no session: its cookie (if a tool sent one) is not read, and nothing is signed for it."""

    def open_session(self, app: Flask, request: FlaskRequest) -> SessionMixin | None:
        if request.path.startswith(WEBHOOKS):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


def _not_configured(exc: AdminNotConfigured) -> tuple[Response, int]:
    return error_response(503, "admin token not configured", str(exc))


def init_app(app: Flask, settings: Settings) -> None:
    """SECRET_KEY from ECM_SECRET_KEY, else derived from the admin token; cookie flags for the session."""
    secret = os.environ.get("ECM_SECRET_KEY") or app.config.get("SECRET_KEY")
    token = getattr(settings, "admin_token", None)
    if not secret and token is not None:
        material = b"ecm-dashboard-session:" + token.get_secret_value().encode("utf-8")
        secret = hashlib.sha256(material).hexdigest()
    app.config["SECRET_KEY"] = secret or secrets.token_hex(32)  # no token: nobody logs in anyway
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="ecm_session"
    )
    public_url = getattr(settings, "public_url", None) or ""
    if public_url.startswith("https://"):  # behind a TLS-terminating proxy the request itself looks like http
        app.config["SESSION_COOKIE_SECURE"] = True
    app.register_error_handler(AdminNotConfigured, _not_configured)

    app.session_interface = HttpsAwareSessions()
