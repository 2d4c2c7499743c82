"""Issue type schemes, screens, screen schemes and issue type screen schemes (Administer Jira only).

Shapes and refusals follow the operations of the same paths in
shared/reference/jira/jira-cloud-platform-openapi-v3.json (examples quoted where the message comes from).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sandbox.jira.errors import JiraApiError, bad_request, not_found
from sandbox.jira.fields import STANDARD_FIELDS
from sandbox.jira.http import V, body, int_arg, no_content, ok, require_admin, state
from sandbox.jira.schemes import IssueTypeScheme, Screen, Tab
from sandbox.jira.state import JiraState

schemes = Blueprint("schemes", __name__)
ISSUE_TYPE_SCHEMES_ADMIN = "Only Jira administrators can access issue type schemes."
SCREENS_ADMIN = "Only Jira administrators can manage screens."


def _admin(message: str) -> None:
    try:
        require_admin()
    except JiraApiError as e:
        raise JiraApiError(403, [message]) from e


def _page(values: list[Any], default_size: int = 50) -> dict[str, Any]:
    start = int_arg("startAt", 0)
    size = int_arg("maxResults", default_size)
    return {
        "maxResults": size,
        "startAt": start,
        "total": len(values),
        "isLast": start + size >= len(values),
        "values": values[start : start + size],
    }


def _ids(name: str) -> list[str]:
    return [part for value in request.args.getlist(name) for part in value.split(",") if part]


def _required_project_ids() -> list[str]:
    ids = _ids("projectId")
    if not ids:
        raise bad_request("The projectId parameter is required.")
    return ids


# --- issue type schemes ---------------------------------------------------------------------------


def _scheme_json(scheme: IssueTypeScheme) -> dict[str, Any]:
    found: dict[str, Any] = {"id": scheme.id, "name": scheme.name, "description": scheme.description}
    if scheme.default_issue_type:
        found["defaultIssueTypeId"] = scheme.default_issue_type
    if scheme.is_default:
        found["isDefault"] = True
    return found


@schemes.get(f"{V}/issuetypescheme")
def issue_type_schemes(version: str) -> Response:
    _admin(ISSUE_TYPE_SCHEMES_ADMIN)
    wanted = _ids("id")
    found = [s for s in state().config.issue_type_schemes.values() if not wanted or s.id in wanted]
    return ok(_page([_scheme_json(s) for s in found]))


@schemes.post(f"{V}/issuetypescheme")
def create_issue_type_scheme(version: str) -> Response:
    _admin(ISSUE_TYPE_SCHEMES_ADMIN)
    data, st = body(), state()
    with st.lock:
        config = st.config
        if any(s.name == data.get("name") for s in config.issue_type_schemes.values()):
            raise JiraApiError(409, ["The name is used by another scheme."])
        type_ids = [str(i) for i in data.get("issueTypeIds") or []]
        if unknown := [i for i in type_ids if i not in st.issue_types]:
            raise not_found("These issue types were not found: " + ", ".join(unknown))
        default = data.get("defaultIssueTypeId")
        if default and default not in type_ids:
            raise bad_request("The default issue type ID has to be present in issue type IDs list.")
        scheme = IssueTypeScheme(
            str(config.next_id()), data.get("name", ""), data.get("description") or "", default, type_ids
        )
        config.issue_type_schemes[scheme.id] = scheme
        return ok({"issueTypeSchemeId": scheme.id}, 201)


@schemes.get(f"{V}/issuetypescheme/project")
def issue_type_scheme_projects(version: str) -> Response:
    _admin(ISSUE_TYPE_SCHEMES_ADMIN)
    wanted, config = _required_project_ids(), state().config
    by_scheme: dict[str, list[str]] = {}
    for project_id in wanted:
        if project_id in config.project_issue_type_scheme or state().project(project_id):
            by_scheme.setdefault(config.issue_type_scheme_of(project_id).id, []).append(project_id)
    values = [
        {"issueTypeScheme": _scheme_json(config.issue_type_schemes[s]), "projectIds": ids}
        for s, ids in by_scheme.items()
    ]
    return ok(_page(values))


@schemes.put(f"{V}/issuetypescheme/project")
def assign_issue_type_scheme(version: str) -> Response:
    _admin(ISSUE_TYPE_SCHEMES_ADMIN)
    data, st = body(), state()
    with st.lock:
        project_id = str(data.get("projectId", ""))
        scheme = st.config.issue_type_schemes.get(str(data.get("issueTypeSchemeId", "")))
        if scheme is None or st.project(project_id) is None:
            raise not_found("The issue type scheme was not found.")
        offered = st.config.scheme_types(scheme, list(st.issue_types))
        stranded = [
            i.id
            for i in st.issues.values()
            if i.project_id == project_id and i.fields["issuetype"] not in offered
        ]
        if stranded:
            raise bad_request(
                "This issue type scheme can't be assigned to the project. This is because some issues in "
                "this project use issue types not present in the scheme. Before assigning the scheme to "
                "the project, update the issue types on these issues: " + ", ".join(stranded)
            )
        st.config.project_issue_type_scheme[project_id] = scheme.id
    return no_content()


@schemes.get(f"{V}/issuetypescheme/mapping")
def issue_type_scheme_items(version: str) -> Response:
    _admin(ISSUE_TYPE_SCHEMES_ADMIN)
    st, wanted = state(), _ids("issueTypeSchemeId")
    values = [
        {"issueTypeSchemeId": s.id, "issueTypeId": type_id}
        for s in st.config.issue_type_schemes.values()
        if not wanted or s.id in wanted
        for type_id in st.config.scheme_types(s, list(st.issue_types))
    ]
    return ok(_page(values))


@schemes.put(f"{V}/issuetypescheme/<scheme_id>/issuetype")
def add_issue_types(version: str, scheme_id: str) -> Response:
    _admin(ISSUE_TYPE_SCHEMES_ADMIN)
    data, st = body(), state()
    with st.lock:
        scheme = st.config.issue_type_schemes.get(scheme_id)
        if scheme is None:
            raise not_found("The issue type scheme was not found.")
        wanted = [str(i) for i in data.get("issueTypeIds") or []]
        if unknown := [i for i in wanted if i not in st.issue_types]:
            raise not_found("These issue types were not found: " + ", ".join(unknown))
        present = st.config.scheme_types(scheme, list(st.issue_types))
        if already := [i for i in wanted if i in present]:
            raise bad_request(
                "These issue types were not added because they are already present in the issue type "
                "scheme: " + ", ".join(already)
            )
        scheme.issue_type_ids.extend(wanted)
    return no_content()


# --- issue type screen schemes and screen schemes -------------------------------------------------


@schemes.get(f"{V}/issuetypescreenscheme/project")
def screen_scheme_projects(version: str) -> Response:
    _admin(SCREENS_ADMIN)
    wanted, config = _required_project_ids(), state().config
    by_scheme: dict[str, list[str]] = {}
    for project_id in wanted:
        if state().project(project_id):
            by_scheme.setdefault(config.issue_type_screen_scheme_of(project_id).id, []).append(project_id)
    values = []
    for scheme_id, ids in by_scheme.items():
        scheme = config.issue_type_screen_schemes[scheme_id]
        summary = {"id": scheme.id, "name": scheme.name, "description": scheme.description}
        values.append({"issueTypeScreenScheme": summary, "projectIds": ids})
    return ok(_page(values))


@schemes.get(f"{V}/issuetypescreenscheme/mapping")
def screen_scheme_items(version: str) -> Response:
    _admin(SCREENS_ADMIN)
    wanted = _ids("issueTypeScreenSchemeId")
    values = [
        {"issueTypeId": type_id, "issueTypeScreenSchemeId": s.id, "screenSchemeId": str(screen_scheme)}
        for s in state().config.issue_type_screen_schemes.values()
        if not wanted or s.id in wanted
        for type_id, screen_scheme in s.mappings.items()
    ]
    return ok(_page(values))


@schemes.get(f"{V}/screenscheme")
def screen_schemes(version: str) -> Response:
    _admin(SCREENS_ADMIN)
    wanted = _ids("id")
    values = [
        {"id": s.id, "name": s.name, "description": s.description, "screens": dict(s.screens)}
        for s in state().config.screen_schemes.values()
        if not wanted or str(s.id) in wanted
    ]
    return ok(_page(values, 25))


# --- screens, tabs and their fields ---------------------------------------------------------------


def _screen(screen_id: int) -> Screen:
    screen = state().config.screens.get(screen_id)
    if screen is None:
        raise not_found(f"The screen with id '{screen_id}' does not exist.")
    return screen


def _tab(screen: Screen, tab_id: int) -> Tab:
    tab = next((t for t in screen.tabs if t.id == tab_id), None)
    if tab is None:
        raise not_found(f"The screen tab with id '{tab_id}' does not exist.")
    return tab


def _field_names(st: JiraState) -> dict[str, str]:
    return {f["id"]: f["name"] for f in STANDARD_FIELDS} | {c.id: c.name for c in st.custom_fields.values()}


@schemes.get(f"{V}/screens")
def screens(version: str) -> Response:
    _admin(SCREENS_ADMIN)
    wanted = _ids("id")
    values = [
        {"id": s.id, "name": s.name, "description": s.description}
        for s in state().config.screens.values()
        if not wanted or str(s.id) in wanted
    ]
    return ok({"self": request.url, **_page(values, 100)})


@schemes.post(f"{V}/screens")
def create_screen(version: str) -> Response:
    _admin(SCREENS_ADMIN)
    data, st = body(), state()
    with st.lock:
        config = st.config
        if not data.get("name"):
            raise bad_request(name="The screen name must not be empty.")
        if any(s.name == data["name"] for s in config.screens.values()):
            raise bad_request("The name is used by another screen.")
        screen = Screen(
            config.next_id(),
            data["name"],
            data.get("description") or "",
            [Tab(config.next_tab_id(), "Field Tab")],
        )
        config.screens[screen.id] = screen
        return ok({"id": screen.id, "name": screen.name, "description": screen.description}, 201)


@schemes.get(f"{V}/screens/<int:screen_id>/tabs")
def tabs(version: str, screen_id: int) -> Response:
    _admin(SCREENS_ADMIN)
    return ok([{"id": t.id, "name": t.name} for t in _screen(screen_id).tabs])


@schemes.get(f"{V}/screens/<int:screen_id>/tabs/<int:tab_id>/fields")
def tab_fields(version: str, screen_id: int, tab_id: int) -> Response:
    _admin(SCREENS_ADMIN)
    st = state()
    with st.lock:
        names = _field_names(st)
        tab = _tab(_screen(screen_id), tab_id)
        return ok([{"id": f, "name": names.get(f, f)} for f in tab.fields])


@schemes.post(f"{V}/screens/<int:screen_id>/tabs/<int:tab_id>/fields")
def add_tab_field(version: str, screen_id: int, tab_id: int) -> Response:
    _admin(SCREENS_ADMIN)
    data, st = body(), state()
    with st.lock:
        screen = _screen(screen_id)
        tab = _tab(screen, tab_id)
        field_id = str(data.get("fieldId") or "")
        names = _field_names(st)
        if field_id not in names:
            raise not_found(f"The field with id '{field_id}' does not exist.")
        if field_id in screen.field_ids():
            raise bad_request(f"The field '{field_id}' is already on the screen.")
        tab.fields.append(field_id)
        return ok({"id": field_id, "name": names[field_id]})
