"""Admin webhooks (`/rest/webhooks/1.0/webhook`) and the sandbox's own `/_sandbox/*` surface."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, Response, request

from sandbox.jira import webhooks
from sandbox.jira.errors import bad_request, not_found
from sandbox.jira.faults import Faults
from sandbox.jira.http import base, body, ctx, no_content, ok, require_admin, state
from sandbox.jira.state import Webhook

admin = Blueprint("admin", __name__)
HOOKS = "/rest/webhooks/1.0/webhook"


def _legacy() -> None:
    """`/rest/webhooks/1.0/webhook` is gone from Jira Data Center 10, which serves
    `/rest/jira-webhook/1.0/webhooks` instead (see `views_jira_webhook`)."""
    st = state()
    if st.flavor != "cloud" and st.major_version >= 10:
        raise not_found("Not Found")


def hook_or_404(hook_id: int) -> Webhook:
    """The registered webhook, or Jira's 404 (shared by the Data Center 10 resource)."""
    hook = state().webhooks.get(hook_id)
    if hook is None:
        raise not_found(f"Webhook with id {hook_id} does not exist.")
    return hook


@admin.get(HOOKS)
def list_hooks() -> Response:
    _legacy()
    require_admin()
    st = state()
    with st.lock:
        return ok([webhooks.webhook_json(st, h, base()) for h in st.webhooks.values()])


@admin.post(HOOKS)
def register_hook() -> Response:
    _legacy()
    user, st = require_admin(), state()
    with st.lock:
        return ok(webhooks.webhook_json(st, webhooks.register(st, user.name, body()), base()), 201)


@admin.get(f"{HOOKS}/<int:hook_id>")
def get_hook(hook_id: int) -> Response:
    _legacy()
    require_admin()
    return ok(webhooks.webhook_json(state(), hook_or_404(hook_id), base()))


@admin.put(f"{HOOKS}/<int:hook_id>")
def update_hook(hook_id: int) -> Response:
    _legacy()
    user, st = require_admin(), state()
    with st.lock:
        existing = hook_or_404(hook_id)
        merged = {
            "name": existing.name,
            "url": existing.url,
            "events": existing.events,
            "filters": existing.filters,
            "excludeBody": existing.exclude_body,
            "enabled": existing.enabled,
            **body(),
        }
        return ok(webhooks.webhook_json(st, webhooks.register(st, user.name, merged, existing), base()))


@admin.delete(f"{HOOKS}/<int:hook_id>")
def delete_hook(hook_id: int) -> Response:
    _legacy()
    require_admin()
    st = state()
    with st.lock:
        hook_or_404(hook_id)
        del st.webhooks[hook_id]
    return no_content()


@admin.get("/_sandbox/state")
def sandbox_state() -> Response:
    """What the sandbox did; `?only=mails,requestCounts` answers those parts alone (the deliveries, with
    every body, grow large in a long run)."""
    st = state()
    only = {part for part in (request.args.get("only") or "").split(",") if part}
    with st.lock:
        parts = {
            "flavor": lambda: st.flavor,
            "issues": lambda: len(st.issues),
            "mails": lambda: st.mails,
            "deliveries": lambda: st.deliveries,
            "requestCounts": lambda: dict(st.request_counts),
            "requestCountsByUser": lambda: _by_user(st.caller_counts),
            "webhooks": lambda: [webhooks.webhook_json(st, h, base()) for h in st.webhooks.values()],
            "faults": lambda: ctx().faults.describe(),
        }
        unknown = only - set(parts)
        if unknown:
            raise bad_request(f"Unknown state parts: {sorted(unknown)}; known: {sorted(parts)}")
        return ok({name: part() for name, part in parts.items() if not only or name in only})


def _by_user(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Authenticated requests by user name, then by "METHOD rule" (requests a fault answered, and
    anonymous ones, are in `requestCounts` only)."""
    users: dict[str, dict[str, int]] = {}
    for (user, endpoint), n in counts.items():
        users.setdefault(user, {})[endpoint] = n
    return users


@admin.post("/_sandbox/faults")
def set_faults() -> Response:
    data = body()
    try:
        ctx().faults.replace(Faults.from_dict(data))
    except (TypeError, ValueError) as e:
        raise bad_request(f"Invalid faults: {e}") from e
    return ok(ctx().faults.describe())


@admin.post("/_sandbox/deliver")
def deliver() -> Response:
    return ok({"idle": ctx().dispatcher.wait_idle()})
