"""Jira Data Center 10's webhook REST resource, `/rest/jira-webhook/1.0/webhooks` (GET/POST, `/{id}`
GET/PUT/DELETE). It replaced `/rest/webhooks/1.0/webhook`, which Jira 10 no longer serves; older servers
and Cloud answer 404 here. Body: `name`, `url`, `events`, `active`, `configuration` {FILTERS (JQL),
EXCLUDE_BODY, SECRET}, as the jira.js server client (src/server/api/webhooks.ts) and integrations that
register on Jira 10 send it.
"""

from __future__ import annotations

from flask import Blueprint, Response

from sandbox.jira import webhooks
from sandbox.jira.errors import not_found
from sandbox.jira.http import body, no_content, ok, require_admin, state
from sandbox.jira.views_admin import hook_or_404

jira_webhooks = Blueprint("jira_webhooks", __name__, url_prefix="/rest/jira-webhook/1.0/webhooks")


def _served() -> None:
    st = state()
    if st.flavor == "cloud" or st.major_version < 10:
        raise not_found("Not Found")


@jira_webhooks.get("")
def list_hooks() -> Response:
    _served()
    require_admin()
    st = state()
    with st.lock:
        return ok([webhooks.jira_webhook_json(h) for h in st.webhooks.values()])


@jira_webhooks.post("")
def register_hook() -> Response:
    _served()
    user, st = require_admin(), state()
    with st.lock:
        hook = webhooks.register(st, user.name, webhooks.from_jira_webhook_body(body()))
        return ok(webhooks.jira_webhook_json(hook), 201)


@jira_webhooks.get("/<int:hook_id>")
def get_hook(hook_id: int) -> Response:
    _served()
    require_admin()
    return ok(webhooks.jira_webhook_json(hook_or_404(hook_id)))


@jira_webhooks.put("/<int:hook_id>")
def update_hook(hook_id: int) -> Response:
    _served()
    user, st = require_admin(), state()
    with st.lock:
        existing = hook_or_404(hook_id)
        hook = webhooks.register(st, user.name, webhooks.from_jira_webhook_body(body()), existing)
        return ok(webhooks.jira_webhook_json(hook))


@jira_webhooks.delete("/<int:hook_id>")
def delete_hook(hook_id: int) -> Response:
    _served()
    require_admin()
    st = state()
    with st.lock:
        hook_or_404(hook_id)
        del st.webhooks[hook_id]
    return no_content()
