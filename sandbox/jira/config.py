"""Admin configuration: statuses, workflows (`workflows/create`), workflow schemes and their projects."""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import JiraApiError, bad_request, not_found
from sandbox.jira.fields import is_user_field
from sandbox.jira.seed import Status
from sandbox.jira.state import JiraState, Scheme
from sandbox.jira.workflows import DEFAULT_WORKFLOW, Transition, Workflow, rule_problems, transition_rules


def create_statuses(state: JiraState, body: dict[str, Any]) -> list[Status]:
    created = []
    for item in body.get("statuses") or []:
        if state.status_by_any(item["name"]) is not None:
            raise bad_request(f"Status with name '{item['name']}' already exists.")
        status = Status(
            state.next_id(state.statuses), item["name"], item["statusCategory"], item.get("description", "")
        )
        state.statuses[status.id] = status
        created.append(status)
    return created


def validation_errors(state: JiraState, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The ERROR-level problems `workflows/create` would refuse."""
    errors = []
    for workflow in payload.get("workflows") or []:
        if workflow.get("name") in state.workflows:
            errors.append(
                _error("WORKFLOW", "NON_UNIQUE_NAME", f"A workflow named '{workflow['name']}' exists.")
            )
        errors += _workflow_errors(state, payload, workflow)
    return errors


def _workflow_errors(state: JiraState, payload: dict[str, Any], workflow: dict[str, Any]) -> list[dict]:
    """What `workflows/create` and `workflows/update` both refuse in one workflow of a payload: unknown
    status references, unknown screens, undocumented rules, no initial transition, a repeated id."""
    errors = []
    references = {s.get("statusReference") for s in payload.get("statuses") or []}
    layout = {s.get("statusReference") for s in workflow.get("statuses") or []}
    for ref in layout - references:
        errors.append(_error("STATUS", "MISSING_STATUS", f"Status reference '{ref}' is not defined."))
    transitions = workflow.get("transitions") or []
    for transition in transitions:
        targets = [transition.get("toStatusReference")]
        targets += [link.get("fromStatusReference") for link in transition.get("links") or []]
        for ref in targets:
            if ref not in layout:
                errors.append(
                    _error(
                        "TRANSITION",
                        "INVALID_STATUS_REFERENCE",
                        f"Transition '{transition.get('name')}' uses unknown status '{ref}'.",
                    )
                )
    ids = [str(t.get("id")) for t in transitions if t.get("id") is not None]
    for repeated in sorted({i for i in ids if ids.count(i) > 1}):
        errors.append(
            _error("TRANSITION", "NON_UNIQUE_TRANSITION_ID", f"Transition id '{repeated}' is used twice.")
        )
    for transition in transitions:
        rule = transition.get("transitionScreen") or {}
        screen = (rule.get("parameters") or {}).get("screenId")
        if rule and not (str(screen).isdigit() and int(screen) in state.config.screens):
            errors.append(
                _error(
                    "TRANSITION",
                    "INVALID_TRANSITION_SCREEN",
                    f"Transition '{transition.get('name')}' uses unknown screen '{screen}'.",
                )
            )
    group_ids = {g.group_id for g in state.groups.values()}
    company_managed = (payload.get("scope") or {}).get("type") != "PROJECT"
    user_fields = {cf.id for cf in state.custom_fields.values() if is_user_field(cf)}
    for transition in transitions:
        for rule in transition_rules(transition):
            for problem in rule_problems(rule, group_ids, company_managed, user_fields):
                errors.append(
                    _error("RULE", "INVALID_RULE", f"Transition '{transition.get('name')}': {problem}")
                )
    if not any(t.get("type") == "INITIAL" for t in transitions):
        errors.append(
            _error("WORKFLOW", "MISSING_INITIAL_TRANSITION", "The workflow has no initial transition.")
        )
    return errors


def update_validation_errors(state: JiraState, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The ERROR-level problems `workflows/update` would refuse. Besides what create refuses: a workflow
    id that does not exist, Jira's own default workflow (`isEditable` false), a `version` that is not the
    workflow's current one (DocumentVersion, "the current version details": an update made from an older
    read would undo someone's edit; the wording is ours), and a status dropped while issues sit in it with
    no status mapping for them (`statusMappings` / `defaultStatusMappings`)."""
    errors = []
    for spec in payload.get("workflows") or []:
        workflow = _workflow_by_id(state, str(spec.get("id", "")))
        if workflow is None:
            errors.append(
                _error(
                    "WORKFLOW", "WORKFLOW_NOT_FOUND", f"No workflow with the id '{spec.get('id')}' exists."
                )
            )
            continue
        if workflow.name == DEFAULT_WORKFLOW:
            errors.append(_error("WORKFLOW", "NOT_EDITABLE", f"The workflow '{workflow.name}' is read-only."))
        version = (spec.get("version") or {}).get("versionNumber")
        if version != workflow.version:
            errors.append(
                _error(
                    "WORKFLOW",
                    "VERSION_CONFLICT",
                    f"The workflow '{workflow.name}' is at version {workflow.version}, not {version}: it "
                    "changed since it was read. Read it again and repeat the update.",
                )
            )
        errors += _workflow_errors(state, payload, spec)
        by_reference = _statuses_by_reference(state, payload, create=False)
        kept = {by_reference[r].id for r in _layout(spec) if r in by_reference}
        mapped = _mapped_statuses(spec)
        for issue in _issues_on(state, workflow):
            status = issue.fields["status"]
            if status not in kept and status not in mapped:
                errors.append(
                    _error(
                        "STATUS",
                        "STATUS_MIGRATION_MISSING",
                        f"Issues in status '{state.statuses[status].name}' need a status mapping.",
                    )
                )
                break
    return errors


def _layout(spec: dict[str, Any]) -> list[str]:
    return [s.get("statusReference") for s in spec.get("statuses") or []]


def _mapped_statuses(spec: dict[str, Any]) -> dict[str, str]:
    """Old status id -> new status reference, from the update's default and per-project mappings."""
    mapped = {
        m["oldStatusReference"]: m["newStatusReference"] for m in spec.get("defaultStatusMappings") or []
    }
    for group in spec.get("statusMappings") or []:
        for m in group.get("statusMigrations") or []:
            mapped[m["oldStatusReference"]] = m["newStatusReference"]
    return mapped


def _workflow_by_id(state: JiraState, workflow_id: str) -> Workflow | None:
    return next((w for w in state.workflows.values() if w.id == workflow_id), None)


def _issues_on(state: JiraState, workflow: Workflow) -> list[Any]:
    return [
        i
        for i in state.issues.values()
        if state.workflow_for(i.project_id, i.fields["issuetype"]).name == workflow.name
    ]


def _error(kind: str, code: str, message: str) -> dict[str, Any]:
    return {"type": kind, "code": code, "level": "ERROR", "message": message}


def create_workflows(state: JiraState, payload: dict[str, Any]) -> tuple[list[Workflow], dict[str, Status]]:
    errors = validation_errors(state, payload)
    if errors:
        raise bad_request(*[e["message"] for e in errors[:1]])
    by_reference = _statuses_by_reference(state, payload, create=True)
    created = []
    for spec in payload.get("workflows") or []:
        statuses = [by_reference[s["statusReference"]].id for s in spec.get("statuses") or []]
        workflow = Workflow(
            state.next_id(),
            spec["name"],
            spec.get("description", ""),
            statuses,
            _transitions(spec, by_reference),
            state.now_text(),
        )
        state.workflows[workflow.name] = workflow
        created.append(workflow)
    return created, by_reference


def update_workflows(state: JiraState, payload: dict[str, Any]) -> tuple[list[Workflow], dict[str, Status]]:
    """`workflows/update`: each workflow takes the given statuses and transitions (what it had and is not
    given is gone), its version goes up by one, and issues in a dropped status move as mapped."""
    errors = update_validation_errors(state, payload)
    if errors:
        raise bad_request(*[e["message"] for e in errors[:1]])
    by_reference = _statuses_by_reference(state, payload, create=True)
    updated = []
    for spec in payload.get("workflows") or []:
        workflow = _workflow_by_id(state, str(spec["id"]))
        assert workflow is not None  # validated
        mapped = _mapped_statuses(spec)
        for issue in _issues_on(state, workflow):
            if issue.fields["status"] in mapped:
                issue.fields["status"] = by_reference[mapped[issue.fields["status"]]].id
        workflow.statuses = [by_reference[r].id for r in _layout(spec)]
        workflow.transitions = _transitions(spec, by_reference)
        workflow.description = spec.get("description", workflow.description)
        workflow.version += 1
        workflow.updated = state.now_text()
        updated.append(workflow)
    return updated, by_reference


def _statuses_by_reference(state: JiraState, payload: dict[str, Any], *, create: bool) -> dict[str, Status]:
    """The payload's status references resolved to statuses: by id, else by name; created if `create`."""
    by_reference: dict[str, Status] = {}
    for item in payload.get("statuses") or []:
        existing = state.statuses.get(str(item.get("id", ""))) or state.status_by_any(item["name"])
        if existing is None and create:
            existing = Status(
                state.next_id(state.statuses),
                item["name"],
                item["statusCategory"],
                item.get("description", ""),
            )
            state.statuses[existing.id] = existing
        if existing is not None:
            by_reference[item["statusReference"]] = existing
    return by_reference


def _transitions(spec: dict[str, Any], by_reference: dict[str, Status]) -> list[Transition]:
    transitions = []
    for index, t in enumerate(spec.get("transitions") or []):
        froms = tuple(
            by_reference[link["fromStatusReference"]].id
            for link in t.get("links") or []
            if link.get("fromStatusReference")
        )
        transitions.append(
            Transition(
                str(t.get("id") or (1 if t.get("type") == "INITIAL" else 11 + 10 * index)),
                t.get("name", ""),
                by_reference[t["toStatusReference"]].id,
                froms,
                t.get("type", "DIRECTED"),
                t.get("conditions"),
                t.get("validators") or [],
                t.get("description", ""),
                screen_id=_screen_id(t),
            )
        )
    return transitions


def _screen_id(transition: dict[str, Any]) -> int | None:
    """The shared transition screen (`system:transition-screen`, parameter `screenId`), if any."""
    rule = transition.get("transitionScreen") or {}
    if rule.get("ruleKey") != "system:transition-screen":
        return None
    screen_id = str((rule.get("parameters") or {}).get("screenId", ""))
    return int(screen_id) if screen_id.isdigit() else None


def workflow_json(state: JiraState, workflow: Workflow) -> dict[str, Any]:
    def transition_json(t: Transition) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "type": t.type,
            "toStatusReference": t.to_status,
            "validators": t.validators,
            "actions": [],
            "triggers": [],
            "properties": {},
            "links": [{"fromStatusReference": s, "fromPort": 0, "toPort": 0} for s in t.from_statuses],
        }
        if t.conditions:
            body["conditions"] = t.conditions
        if t.screen_id is not None:
            body["transitionScreen"] = {
                "ruleKey": "system:transition-screen",
                "parameters": {"screenId": str(t.screen_id)},
            }
        return body

    return {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "scope": {"type": "GLOBAL"},
        "isEditable": workflow.name != "jira",
        "created": workflow.created,
        "updated": workflow.updated or workflow.created,
        "version": {"id": workflow.id, "versionNumber": workflow.version},
        "statuses": [
            {"statusReference": s, "properties": {}, "deprecated": False} for s in workflow.statuses
        ],
        "transitions": [transition_json(t) for t in workflow.transitions],
    }


def workflow_status_json(status: Status, reference: str | None = None) -> dict[str, Any]:
    return {
        "id": status.id,
        "name": status.name,
        "statusCategory": status.category,
        "statusReference": reference or status.id,
        "description": status.description,
        "scope": {"type": "GLOBAL"},
    }


def create_scheme(state: JiraState, body: dict[str, Any]) -> Scheme:
    name = body.get("name")
    if not name:
        raise bad_request(name="The workflow scheme name must not be empty.")
    mappings = dict(body.get("issueTypeMappings") or {})
    for workflow in [body.get("defaultWorkflow"), *mappings.values()]:
        if workflow and workflow not in state.workflows:
            raise bad_request(f"Workflow '{workflow}' does not exist.")
    scheme = Scheme(
        int(state.next_id(state.schemes)),
        name,
        body.get("description", ""),
        body.get("defaultWorkflow") or "jira",
        mappings,
    )
    state.schemes[scheme.id] = scheme
    return scheme


def scheme_json(scheme: Scheme, base: str) -> dict[str, Any]:
    return {
        "id": scheme.id,
        "name": scheme.name,
        "description": scheme.description,
        "defaultWorkflow": scheme.default_workflow,
        "issueTypeMappings": scheme.mappings,
        "self": f"{base}/rest/api/3/workflowscheme/{scheme.id}",
        "draft": False,
    }


def assign_scheme(state: JiraState, project_id: str, scheme_id: str) -> None:
    """Associate a scheme with a project and migrate its issues to a status their new workflow has."""
    if state.project(project_id) is None:
        raise not_found(f"No project could be found with id '{project_id}'.")
    if not str(scheme_id).isdigit() or int(scheme_id) not in state.schemes:
        raise JiraApiError(404, [f"The workflow scheme with id '{scheme_id}' was not found."])
    if state.flavor == "cloud" and any(i.project_id == project_id for i in state.issues.values()):
        # "This operation is performed only when there are no issues in the project" (PUT
        # /rest/api/3/workflowscheme/project in the OpenAPI document; the wording of the refusal is ours).
        raise bad_request(
            "The workflow scheme cannot be assigned to a project that has issues. Switch the project's "
            "workflow scheme instead (POST /rest/api/3/workflowscheme/project/switch)."
        )
    state.project_scheme[project_id] = int(scheme_id)
    for issue in state.issues.values():
        if issue.project_id != project_id:
            continue
        workflow = state.workflow_for(project_id, issue.fields["issuetype"])
        current = issue.fields["status"]
        if current in workflow.statuses:
            continue
        category = state.statuses[current].category
        same_category = [s for s in workflow.statuses if state.statuses[s].category == category]
        issue.fields["status"] = same_category[0] if same_category else workflow.initial_status
