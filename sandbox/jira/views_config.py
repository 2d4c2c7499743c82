"""Statuses, workflows and workflow schemes (the admin REST the installer uses)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sandbox.jira import config
from sandbox.jira.http import V, base, body, int_arg, no_content, ok, require_admin, state
from sandbox.jira.render import status_json

config_views = Blueprint("config", __name__)


@config_views.get(f"{V}/status")
def all_statuses(version: str) -> Response:
    """Every status, as `GET /rest/api/2/status` lists them (Cloud and Data Center alike)."""
    st = state()
    with st.lock:
        return ok([status_json(s, base()) for s in st.statuses.values()])


@config_views.get(f"{V}/statuses/search")
def search_statuses(version: str) -> Response:
    st = state()
    text = (request.args.get("searchString") or "").lower()
    category = request.args.get("statusCategory")
    values = [
        config.workflow_status_json(s)
        for s in st.statuses.values()
        if text in s.name.lower() and category in (None, s.category)
    ]
    for value in values:
        value.pop("statusReference")
    start, size = int_arg("startAt", 0), int_arg("maxResults", 200)
    return ok(
        {
            "self": request.url,
            "startAt": start,
            "maxResults": size,
            "total": len(values),
            "isLast": start + size >= len(values),
            "values": values[start : start + size],
        }
    )


@config_views.post(f"{V}/statuses")
def create_statuses(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        created = config.create_statuses(st, data)
    return ok(
        [
            {
                "id": s.id,
                "name": s.name,
                "statusCategory": s.category,
                "description": s.description,
                "scope": data.get("scope") or {"type": "GLOBAL"},
            }
            for s in created
        ]
    )


@config_views.post(f"{V}/workflows/create/validation")
def validate_workflows(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        return ok({"errors": config.validation_errors(st, data.get("payload") or {})})


@config_views.post(f"{V}/workflows/create")
def create_workflows(version: str) -> Response:
    require_admin()
    st = state()
    with st.lock:
        workflows, references = config.create_workflows(st, body())
        return ok(
            {
                "workflows": [config.workflow_json(st, w) for w in workflows],
                "statuses": [config.workflow_status_json(s) for s in references.values()],
            }
        )


@config_views.post(f"{V}/workflows/update/validation")
def validate_workflow_update(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        return ok({"errors": config.update_validation_errors(st, data.get("payload") or {})})


@config_views.post(f"{V}/workflows/update")
def update_workflows(version: str) -> Response:
    require_admin()
    st = state()
    with st.lock:
        workflows, references = config.update_workflows(st, body())
        return ok(
            {
                "workflows": [config.workflow_json(st, w) for w in workflows],
                "statuses": [config.workflow_status_json(s) for s in references.values()],
                "taskId": None,
            }
        )


@config_views.get(f"{V}/workflows/search")
def search_workflows(version: str) -> Response:
    st = state()
    text = (request.args.get("queryString") or "").lower()
    with st.lock:
        found = [w for w in st.workflows.values() if text in w.name.lower()]
        status_ids = {s for w in found for s in w.statuses}
        start, size = int_arg("startAt", 0), int_arg("maxResults", 50)
        return ok(
            {
                "self": request.url,
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "isLast": start + size >= len(found),
                "values": [config.workflow_json(st, w) for w in found[start : start + size]],
                "statuses": [config.workflow_status_json(st.statuses[s]) for s in sorted(status_ids)],
            }
        )


@config_views.get(f"{V}/workflowscheme")
def list_schemes(version: str) -> Response:
    schemes = list(state().schemes.values())
    return ok(
        {
            "self": request.url,
            "maxResults": 50,
            "startAt": 0,
            "total": len(schemes),
            "isLast": True,
            "values": [config.scheme_json(s, base()) for s in schemes],
        }
    )


@config_views.post(f"{V}/workflowscheme")
def create_scheme(version: str) -> Response:
    require_admin()
    st = state()
    with st.lock:
        return ok(config.scheme_json(config.create_scheme(st, body()), base()), 201)


@config_views.get(f"{V}/workflowscheme/project")
def project_schemes(version: str) -> Response:
    st = state()
    wanted = request.args.getlist("projectId")
    by_scheme: dict[int, list[str]] = {}
    for project_id, scheme_id in st.project_scheme.items():
        if not wanted or project_id in wanted:
            by_scheme.setdefault(scheme_id, []).append(project_id)
    return ok(
        {
            "values": [
                {"projectIds": ids, "workflowScheme": config.scheme_json(st.schemes[s], base())}
                for s, ids in by_scheme.items()
            ]
        }
    )


@config_views.put(f"{V}/workflowscheme/project")
def assign_scheme(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        config.assign_scheme(st, str(data.get("projectId", "")), str(data.get("workflowSchemeId", "")))
    return no_content()
