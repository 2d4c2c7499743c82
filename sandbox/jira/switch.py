"""Switching a project with issues to another workflow scheme: an asynchronous task, as Jira Cloud runs it.

`POST /rest/api/3/workflowscheme/project/switch` answers 303 with the task (TaskProgressBeanObject) and its
location; `GET /rest/api/3/task/{taskId}` reports it ENQUEUED, then RUNNING, then COMPLETE or FAILED (the
sandbox advances one step per poll). "If statuses from the current workflow scheme won't exist in the target
workflow scheme, you must provide `mappingsByIssueTypeOverride`"; "Status mappings are required when the new
workflow for an issue type doesn't contain all statuses that the old workflow has" (OpenAPI document,
WorkflowSchemeProjectSwitchBean / MappingsByIssueTypeOverride). A switch missing one fails its task and
changes nothing.
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import JiraApiError, bad_request, not_found
from sandbox.jira.seed import User
from sandbox.jira.state import JiraState
from sandbox.jira.workflows import DEFAULT_WORKFLOW, Workflow

STEPS = ("ENQUEUED", "RUNNING")
FINISHED = ("COMPLETE", "FAILED", "CANCELLED", "DEAD")


def start_switch(state: JiraState, actor: User, body: dict[str, Any]) -> dict[str, Any]:
    project_id, scheme_id = str(body.get("projectId") or ""), str(body.get("targetSchemeId") or "")
    if state.project(project_id) is None:
        raise bad_request(f"No project could be found with id '{project_id}'.")
    if not scheme_id.isdigit() or int(scheme_id) not in state.schemes:
        raise bad_request(f"The workflow scheme with id '{scheme_id}' was not found.")
    if any(t["status"] not in FINISHED and t["projectId"] == project_id for t in state.tasks.values()):
        raise JiraApiError(409, ["A workflow scheme switch is already running for this project."])
    mappings: dict[str, dict[str, str]] = {}
    for override in body.get("mappingsByIssueTypeOverride") or []:
        pairs = mappings.setdefault(str(override.get("issueTypeId")), {})
        for pair in override.get("statusMappings") or []:
            pairs[str(pair.get("oldStatusId"))] = str(pair.get("newStatusId"))
    now = int(state.now().timestamp() * 1000)
    task = {
        "id": state.next_id(),
        "description": f"Switching the workflow scheme of project {project_id} to {scheme_id}",
        "status": "ENQUEUED",
        "message": "",
        "progress": 0,
        "elapsedRuntime": 0,
        "submitted": now,
        "lastUpdate": now,
        "submittedBy": 10000 + list(state.users).index(actor.name),
        "projectId": project_id,
        "schemeId": int(scheme_id),
        "mappings": mappings,
        "polls": 0,
    }
    state.tasks[task["id"]] = task
    return task


def poll(state: JiraState, task_id: str) -> dict[str, Any]:
    """The task after one more step of work."""
    task = state.tasks.get(task_id)
    if task is None:
        raise not_found(f"Task with id '{task_id}' does not exist.")
    if task["status"] in FINISHED:
        return task
    task["polls"] += 1
    task["lastUpdate"] = int(state.now().timestamp() * 1000)
    if task["polls"] < len(STEPS):
        task.update(status=STEPS[task["polls"]], progress=50, started=task["lastUpdate"])
        return task
    problems = missing_mappings(state, task["projectId"], task["schemeId"], task["mappings"])
    if problems:
        task.update(status="FAILED", message="; ".join(problems), result={"errors": problems})
    else:
        _switch(state, task["projectId"], task["schemeId"], task["mappings"])
        task.update(status="COMPLETE", message="The workflow scheme was switched.", result=None)
    task.update(progress=100, finished=task["lastUpdate"])
    return task


def _workflows(state: JiraState, project_id: str, scheme_id: int, type_id: str) -> tuple[Workflow, Workflow]:
    old = state.workflow_for(project_id, type_id)
    target = state.schemes[scheme_id]
    name = target.mappings.get(type_id, target.default_workflow)
    return old, state.workflows.get(name) or state.workflows[DEFAULT_WORKFLOW]


def missing_mappings(
    state: JiraState, project_id: str, scheme_id: int, mappings: dict[str, dict[str, str]]
) -> list[str]:
    problems = []
    used = {i.fields["issuetype"] for i in state.issues.values() if i.project_id == project_id}
    for type_id in dict.fromkeys([*state.project_issue_types(project_id), *sorted(used)]):
        old, new = _workflows(state, project_id, scheme_id, type_id)
        given = mappings.get(type_id, {})
        for status in old.statuses:
            if status in new.statuses:
                continue
            target = given.get(status)
            name = state.statuses[status].name
            type_name = state.issue_types[type_id]["name"]
            if target is None:
                problems.append(f"No status mapping for status '{name}' of issue type '{type_name}'.")
            elif target not in new.statuses:
                problems.append(
                    f"Status {target} is not in workflow '{new.name}' of issue type '{type_name}'."
                )
    return problems


def _switch(state: JiraState, project_id: str, scheme_id: int, mappings: dict[str, dict[str, str]]) -> None:
    moves = {}
    for issue in state.issues.values():
        if issue.project_id != project_id:
            continue
        _old, new = _workflows(state, project_id, scheme_id, issue.fields["issuetype"])
        current = issue.fields["status"]
        if current not in new.statuses:
            moves[issue.id] = mappings[issue.fields["issuetype"]][current]
    state.project_scheme[project_id] = scheme_id
    for issue_id, status in moves.items():
        state.issues[issue_id].fields["status"] = status


def task_json(task: dict[str, Any], base: str) -> dict[str, Any]:
    shown = {k: v for k, v in task.items() if k not in ("projectId", "schemeId", "mappings", "polls")}
    if shown.get("result") is None:
        shown.pop("result", None)
    return {"self": f"{base}/rest/api/3/task/{task['id']}", **shown}
