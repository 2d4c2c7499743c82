"""A project's statuses per issue type, the caller's permissions, and the workflow scheme switch."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sandbox.jira import switch
from sandbox.jira.errors import JiraApiError, bad_request, not_found
from sandbox.jira.http import V, actor, base, body, ok, require_admin, state
from sandbox.jira.permissions import ADMINS, PERMISSIONS, holds
from sandbox.jira.render import status_json

project_views = Blueprint("project", __name__)


@project_views.get(f"{V}/project/<key>/statuses")
def project_statuses(version: str, key: str) -> Response:
    st = state()
    with st.lock:
        project = st.project(key)
        if project is None:
            raise not_found(f"No project could be found with key '{key}'.")
        found = []
        for type_id in st.project_issue_types(project["id"]):
            issue_type = st.issue_types[type_id]
            workflow = st.workflow_for(project["id"], type_id)
            found.append(
                {
                    "self": f"{base()}/rest/api/{version}/issuetype/{type_id}",
                    "id": type_id,
                    "name": issue_type["name"],
                    "subtask": issue_type["subtask"],
                    "statuses": [status_json(st.statuses[s], base()) for s in workflow.statuses],
                }
            )
        return ok(found)


@project_views.get(f"{V}/mypermissions")
def my_permissions(version: str) -> Response:
    """Cloud requires `permissions` ("Returned if `permissions` is empty, contains an invalid key", 400 of
    GET /rest/api/3/mypermissions in the OpenAPI document); Data Center lists every permission without it."""
    st, user = state(), actor()
    keys = [k for k in (request.args.get("permissions") or "").split(",") if k]
    if not keys:
        if st.flavor == "cloud":
            raise bad_request("The permissions parameter is required.")
        keys = list(PERMISSIONS)
    if unknown := [k for k in keys if k not in PERMISSIONS]:
        raise bad_request(f"Invalid permission keys: {', '.join(unknown)}.")
    project_key = request.args.get("projectKey") or request.args.get("projectId")
    with st.lock:
        if project_key and st.project(project_key) is None:
            raise not_found(f"No project could be found with key '{project_key}'.")
        found = {}
        for key in keys:
            p = PERMISSIONS[key]
            found[key] = {
                "id": p.id,
                "key": p.key,
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "havePermission": holds(st.grants, key, user.groups),
            }
    return ok({"permissions": found})


@project_views.post(f"{V}/workflowscheme/project/switch")
def switch_scheme(version: str) -> Response:
    user, st = require_admin(), state()
    with st.lock:
        task = switch.start_switch(st, user, body())
        response = ok(switch.task_json(task, base()), 303)
    response.headers["Location"] = f"{base()}/rest/api/3/task/{task['id']}"
    return response


@project_views.get(f"{V}/task/<task_id>")
def task(version: str, task_id: str) -> Response:
    st, user = state(), actor()
    with st.lock:
        submitted = st.tasks.get(task_id, {}).get("submittedBy")
        creator = submitted == 10000 + list(st.users).index(user.name)
        if submitted is not None and not creator and not ADMINS & set(user.groups):
            raise JiraApiError(403, ["You do not have permission to view this task."])
        return ok(switch.task_json(switch.poll(st, task_id), base()))
