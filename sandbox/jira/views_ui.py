"""What a Jira Data Center administrator does in the administration pages, where REST has no call for it.

Data Center's REST API creates neither statuses nor workflows and cannot switch a project's workflow
scheme; an admin does that in the browser. These `/_sandbox/admin/*` endpoints stand for those pages so
that tests can follow the written install steps; they authenticate like the REST API and need
`jira-administrators`:
- `POST /_sandbox/admin/statuses` {name, category TODO|IN_PROGRESS|DONE}: Administration > Issues >
  Statuses > Add status
- `POST /_sandbox/admin/workflows/import` {name, xml, description}: Administration > Issues > Workflows >
  Import > Import from XML (see `xml_import`)
- `POST /_sandbox/admin/workflowschemes` {name, description, defaultWorkflow, issueTypeMappings
  {issue type name or id: workflow}}: Administration > Issues > Workflow schemes > Add workflow scheme
- `PUT /_sandbox/admin/projects/<key>/workflowscheme` {scheme}: Project settings > Workflows > Switch
  scheme (issues move as `workflowscheme/project` moves them)
- `POST /_sandbox/admin/fields/<field name or id>/options` {options: [value, …]}: Administration > Issues >
  Custom fields > the field > Configure > Edit options, Add, once per value (see `options.add_options`)
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from sandbox.jira import config, options, xml_import
from sandbox.jira.errors import bad_request, forbidden, not_found
from sandbox.jira.http import ADMIN_GROUPS, authenticate, base, body, no_content, ok, state
from sandbox.jira.render import status_json
from sandbox.jira.seed import Status

ui = Blueprint("ui", __name__, url_prefix="/_sandbox/admin")
CATEGORIES = ("TODO", "IN_PROGRESS", "DONE")


def _require_admin() -> None:
    user = authenticate(state(), request.headers.get("Authorization", ""))
    if not ADMIN_GROUPS & set(user.groups):
        raise forbidden("You must be a Jira administrator to see this page.")


@ui.post("/statuses")
def add_status() -> Response:
    _require_admin()
    data, st = body(), state()
    name, category = str(data.get("name") or "").strip(), data.get("category", "TODO")
    if not name:
        raise bad_request(name="You must specify a name for this status.")
    if category not in CATEGORIES:
        raise bad_request(category=f"The category must be one of {', '.join(CATEGORIES)}.")
    with st.lock:
        if st.status_by_any(name) is not None:
            raise bad_request(name="A status with that name already exists, please enter a different name.")
        status = Status(st.next_id(), name, category, str(data.get("description") or ""))
        st.statuses[status.id] = status
    return ok(status_json(status, base()), 201)


@ui.post("/workflows/import")
def import_workflow() -> Response:
    _require_admin()
    data, st = body(), state()
    with st.lock:
        workflow = xml_import.import_workflow(
            st, str(data.get("name") or ""), str(data.get("xml") or ""), str(data.get("description") or "")
        )
        return ok(
            {
                "name": workflow.name,
                "statuses": [st.statuses[s].name for s in workflow.statuses],
                "transitions": [t.name for t in workflow.transitions],
                "unknownStatusIds": xml_import.unknown_steps(workflow),
            },
            201,
        )


@ui.post("/workflowschemes")
def add_scheme() -> Response:
    _require_admin()
    data, st = body(), state()
    with st.lock:
        mappings = {}
        for issue_type, workflow in (data.get("issueTypeMappings") or {}).items():
            found = st.issue_type(issue_type)
            if found is None:
                raise bad_request(issueTypeMappings=f"Issue type '{issue_type}' does not exist.")
            mappings[found["id"]] = workflow
        scheme = config.create_scheme(st, {**data, "issueTypeMappings": mappings})
        return ok(config.scheme_json(scheme, base()), 201)


@ui.put("/projects/<key>/workflowscheme")
def switch_scheme(key: str) -> Response:
    _require_admin()
    data, st = body(), state()
    with st.lock:
        project = st.project(key)
        if project is None:
            raise not_found(f"No project could be found with key '{key}'.")
        scheme = next((s for s in st.schemes.values() if s.name == data.get("scheme")), None)
        if scheme is None:
            raise bad_request(scheme=f"Workflow scheme '{data.get('scheme')}' does not exist.")
        config.assign_scheme(st, project["id"], str(scheme.id))
    return no_content()


@ui.post("/fields/<field>/options")
def edit_options(field: str) -> Response:
    _require_admin()
    data, st = body(), state()
    values = data.get("options")
    if not isinstance(values, list):
        raise bad_request(options="Give the options to add as a list of values.")
    with st.lock:
        cf = st.custom_fields.get(field) or next(
            (f for f in st.custom_fields.values() if f.name == field), None
        )
        if cf is None:
            raise not_found(f"No custom field named '{field}'.")
        added = options.add_options(st, cf, values)
        every = cf.options[options.global_context(cf)]
        return ok({"field": cf.id, "added": added, "options": [o["value"] for o in every]}, 201)
