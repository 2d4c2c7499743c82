"""Issues, transitions, comments, links, notify and search."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sandbox.jira import issues as ops
from sandbox.jira.errors import JiraApiError, bad_request
from sandbox.jira.fields import STANDARD_FIELDS, custom_field_json
from sandbox.jira.http import V, actor, base, body, int_arg, no_content, ok, state
from sandbox.jira.notify import send_notification
from sandbox.jira.render import comment_json, issue_json, link_json, status_json
from sandbox.jira.search import find, reconcile_ids, run_search
from sandbox.jira.state import JiraState
from sandbox.jira.xml_import import unknown_status

issues = Blueprint("issues", __name__)
SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


def _csv_arg(name: str) -> list[str]:
    return [part for value in request.args.getlist(name) for part in value.split(",") if part]


@issues.post(f"{V}/issue")
def create_issue(version: str) -> Response:
    st = state()
    with st.lock:
        issue = ops.create_issue(st, actor(), body())
        return ok(
            {"id": issue.id, "key": issue.key, "self": f"{base()}/rest/api/{version}/issue/{issue.id}"}, 201
        )


@issues.get(f"{V}/issue/<key>")
def get_issue(version: str, key: str) -> Response:
    st = state()
    with st.lock:
        issue = ops.get_issue(st, key)
        return ok(
            issue_json(
                st,
                issue,
                base(),
                version,
                wanted=_csv_arg("fields") or None,
                expand=request.args.get("expand", ""),
            )
        )


@issues.put(f"{V}/issue/<key>")
def edit_issue(version: str, key: str) -> Response:
    st = state()
    with st.lock:
        ops.edit_issue(st, actor(), ops.get_issue(st, key), body())
    return no_content()


@issues.get(f"{V}/issue/<key>/transitions")
def transitions(version: str, key: str) -> Response:
    st = state()
    with_fields = "transitions.fields" in request.args.get("expand", "")
    with st.lock:
        issue = ops.get_issue(st, key)
        listed = []
        for t in ops.usable_transitions(st, actor(), issue):
            entry: dict[str, Any] = {
                "id": t.id,
                "name": t.name,
                "to": status_json(st.statuses.get(t.to_status) or unknown_status(t.to_status), base()),
                "hasScreen": t.screen_id is not None,
                "isGlobal": t.type == "GLOBAL",
                "isInitial": False,
                "isAvailable": True,
                "isConditional": bool(t.conditions),
                "isLooped": False,
            }
            if with_fields:
                entry["fields"] = _screen_fields(st, t.screen_id)
            listed.append(entry)
        return ok({"expand": "transitions", "transitions": listed})


def _screen_fields(st: JiraState, screen_id: int | None) -> dict[str, Any]:
    """The fields of a transition screen, as `expand=transitions.fields` lists them."""
    screen = st.config.screens.get(screen_id) if screen_id is not None else None
    if screen is None:
        return {}
    known = {f["id"]: f for f in STANDARD_FIELDS} | {
        cf.id: custom_field_json(cf) for cf in st.custom_fields.values()
    }
    return {
        fid: {
            "required": False,
            "schema": known[fid]["schema"],
            "name": known[fid]["name"],
            "key": fid,
            "operations": ["set"],
        }
        for fid in sorted(screen.field_ids())
        if fid in known
    }


@issues.post(f"{V}/issue/<key>/transitions")
def transition(version: str, key: str) -> Response:
    st = state()
    with st.lock:
        ops.transition_issue(st, actor(), ops.get_issue(st, key), body())
    return no_content()


# `GET issue/{key}/comment` pages: startAt (default 0), maxResults (default 100), orderBy created /
# -created / +created (OpenAPI document). Jira Cloud never returns more than 100 per page, whatever
# maxResults asks (github.com/pycontribs/jira/issues/1938); Data Center's documented default is 50.
COMMENT_PAGE = {"cloud": (100, 100), "datacenter": (50, None)}  # flavor -> (default, cap)
COMMENT_ORDER = {"created": False, "+created": False, "-created": True}  # -> newest first


@issues.get(f"{V}/issue/<key>/comment")
def comments(version: str, key: str) -> Response:
    st = state()
    default, cap = COMMENT_PAGE[st.flavor]
    start, size = int_arg("startAt", 0), int_arg("maxResults", default)
    size = min(size, cap) if cap else size
    order = request.args.get("orderBy")
    if order is not None and order not in COMMENT_ORDER:
        raise bad_request(f"orderBy '{order}' is not valid: use created, -created or +created.")
    with st.lock:
        issue = ops.get_issue(st, key)
        ordered = issue.comments[::-1] if COMMENT_ORDER.get(order or "created") else issue.comments
        page = ordered[start : start + size]
        return ok(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.comments),
                "comments": [comment_json(st, c, base(), issue, version) for c in page],
            }
        )


@issues.post(f"{V}/issue/<key>/comment")
def add_comment(version: str, key: str) -> Response:
    st = state()
    with st.lock:
        issue = ops.get_issue(st, key)
        comment = ops.add_comment(st, actor(), issue, body().get("body"))
        return ok(comment_json(st, comment, base(), issue, version), 201)


@issues.get(f"{V}/issue/<key>/comment/<comment_id>")
def get_comment(version: str, key: str, comment_id: str) -> Response:
    st = state()
    with st.lock:
        issue = ops.get_issue(st, key)
        comment = next((c for c in issue.comments if c.id == comment_id), None)
        if comment is None:
            raise JiraApiError(404, [f"Can not find a comment for the id: {comment_id}."])
        return ok(comment_json(st, comment, base(), issue, version))


@issues.put(f"{V}/issue/<key>/comment/<comment_id>")
def update_comment(version: str, key: str, comment_id: str) -> Response:
    st = state()
    with st.lock:
        issue = ops.get_issue(st, key)
        comment = ops.update_comment(st, actor(), issue, comment_id, body().get("body"))
        return ok(comment_json(st, comment, base(), issue, version))


@issues.post(f"{V}/issueLink")
def link(version: str) -> Response:
    st = state()
    with st.lock:
        ops.link_issues(st, actor(), body())
    return Response(status=201)


@issues.get(f"{V}/issueLink/<link_id>")
def get_link(version: str, link_id: str) -> Response:
    st = state()
    with st.lock:
        link = st.links.get(link_id)
        if link is None:
            raise JiraApiError(404, [f"No issue link with id '{link_id}' exists."])
        return ok(link_json(st, link, base()))


@issues.post(f"{V}/issue/<key>/notify")
def notify(version: str, key: str) -> Response:
    st = state()
    with st.lock:
        send_notification(st, actor(), ops.get_issue(st, key), body())
    return no_content()


def _search(version: str, params: dict[str, Any]) -> Response:
    st = state()
    fields = params.get("fields")
    wanted = [f for f in (fields.split(",") if isinstance(fields, str) else fields or ["*navigable"]) if f]
    if "id" in wanted and len(wanted) == 1:
        wanted = ["id"]
    try:
        size = int(params["maxResults"]) if params.get("maxResults") is not None else None
    except ValueError as e:
        raise bad_request("maxResults must be a number.") from e
    reconcile = reconcile_ids(params.get("reconcileIssues"))
    with st.lock:
        jql, token = params.get("jql") or "", params.get("nextPageToken")
        page, token = run_search(st, jql, token, size, reconcile, actor())
        found = [
            issue_json(st, i, base(), version, wanted=wanted, expand=params.get("expand") or "") for i in page
        ]
    result: dict[str, Any] = {"issues": found, "isLast": token is None}
    if token:
        result["nextPageToken"] = token
    return ok(result)


@issues.get(f"{V}/search/jql")
def search_get(version: str) -> Response:
    params: dict[str, Any] = {
        k: request.args.get(k) for k in ("jql", "nextPageToken", "maxResults", "expand")
    }
    params["reconcileIssues"] = request.args.getlist("reconcileIssues")
    return _search(version, {**params, "fields": _csv_arg("fields") or None})


@issues.post(f"{V}/search/jql")
def search_post(version: str) -> Response:
    return _search(version, body())


@issues.route(f"{V}/search", methods=["GET", "POST"])
def search_removed(version: str) -> Response:
    st = state()
    if st.flavor == "cloud":
        raise JiraApiError(410, [SEARCH_GONE])
    params = body() if request.method == "POST" else request.args
    start, size = int(params.get("startAt") or 0), int(params.get("maxResults") or 50)
    with st.lock:
        page = find(st, params.get("jql") or "", user=actor())
        found = [issue_json(st, i, base(), version) for i in page[start : start + size]]
        return ok({"startAt": start, "maxResults": size, "total": len(page), "issues": found})
