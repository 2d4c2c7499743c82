"""Server, users, groups, fields (with contexts and options), issue types, link types, projects."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, request

from sandbox.jira.errors import JiraApiError, bad_request, not_found
from sandbox.jira.fields import STANDARD_FIELDS, custom_field_json
from sandbox.jira.http import V, actor, base, body, int_arg, ok, require_admin, state
from sandbox.jira.render import issue_type_json, project_json, user_json
from sandbox.jira.seed import Group
from sandbox.jira.state import CustomField, JiraState

meta = Blueprint("meta", __name__)
DEPLOYMENT_TYPES = {"cloud": "Cloud", "datacenter": "Server"}


@meta.get(f"{V}/serverInfo")
def server_info(version: str) -> Response:
    st = state()
    text, deployment = st.version, DEPLOYMENT_TYPES[st.flavor]
    numbers = [int(part) for part in text.split("-")[0].split(".")]
    return ok(
        {
            "baseUrl": base(),
            "displayUrl": base(),
            "version": text,
            "versionNumbers": numbers,
            "deploymentType": deployment,
            "buildNumber": 100000,
            "buildDate": "2025-12-01T00:00:00.000+0000",
            "serverTime": st.now_text(),
            "scmInfo": "sandbox",
            "serverTitle": "Jira sandbox",
        }
    )


@meta.get(f"{V}/myself")
def myself(version: str) -> Response:
    return ok(user_json(state(), actor(), base()))


@meta.get(f"{V}/user")
def user(version: str) -> Response:
    st = state()
    ident = (
        request.args.get("accountId")
        if st.flavor == "cloud"
        else (request.args.get("username") or request.args.get("key"))
    )
    with st.lock:
        found = st.user_by_any(ident)
    if found is None:
        raise not_found("Specified user does not exist or you do not have required permissions")
    return ok(user_json(st, found, base()))


@meta.get(f"{V}/user/search")
def user_search(version: str) -> Response:
    st = state()
    text = (request.args.get("query") or request.args.get("username") or "").lower()
    hits = [
        u
        for u in st.users.values()
        if text
        and (text in u.name or text in u.display_name.lower() or text in u.email or text == u.account_id)
    ]
    return ok([user_json(st, u, base()) for u in hits])


GROUP_PAGE = 50  # group/member: "number should be between 1 and 50"; group?expand=users: "A maximum of 50"
USERS_RANGE = re.compile(r"users(?:\[(\d+):(\d+)\])?")


def _group_arg() -> Group:
    """The group named by `groupname` or `groupId` ("This parameter cannot be used with" the other)."""
    name, group_id = request.args.get("groupname"), request.args.get("groupId")
    if name and group_id:
        raise bad_request("You must specify either the groupname or the groupId, not both.")
    group = state().group_by_any(name or group_id)
    if group is None:
        raise not_found("Specified group does not exist.")
    return group


@meta.get(f"{V}/group/member")
def group_member(version: str) -> Response:
    """Members a page at a time: `startAt`, `maxResults` (1-50, default 50), `isLast`, `total`."""
    st = state()
    group = _group_arg()
    start = int_arg("startAt", 0)
    size = min(int_arg("maxResults", GROUP_PAGE, lowest=1), GROUP_PAGE)
    with st.lock:
        members = st.members(group.name)
        page = members[start : start + size]
        return ok(
            {
                "self": request.url,
                "maxResults": size,
                "startAt": start,
                "total": len(members),
                "isLast": start + size >= len(members),
                "values": [user_json(st, u, base()) for u in page],
            }
        )


@meta.get(f"{V}/group")
def group(version: str) -> Response:
    """The deprecated `GET group` (Cloud: "use group/member"), which the `jira` library's `group_members()`
    still calls: `expand=users` gives the first 50 members, `expand=users[start:end]` the members from
    `start` to `end` inclusive (at most 50). `size` is the number of members in the group, as the library
    reads it (jira/client.py `group_members`, `while end_index < size - 1`)."""
    st = state()
    group = _group_arg()
    body: dict[str, Any] = {
        "name": group.name,
        "groupId": group.group_id,
        "self": f"{base()}/rest/api/{version}/group?groupId={group.group_id}",
        "expand": "users",
    }
    expand = next((e for e in (request.args.get("expand") or "").split(",") if e.startswith("users")), None)
    with st.lock:
        members = st.members(group.name)
        body["users"] = {"size": len(members), "items": [], "max-results": GROUP_PAGE}
        if expand is not None:
            wanted = USERS_RANGE.fullmatch(expand)
            if wanted is None:
                raise bad_request(f"The expand '{expand}' is not valid.")
            first = int(wanted.group(1) or 0)
            last = min(
                int(wanted.group(2)) if wanted.group(2) else first + GROUP_PAGE - 1, first + GROUP_PAGE - 1
            )
            shown = members[first : last + 1]
            body["users"].update(
                {
                    "items": [user_json(st, u, base()) for u in shown],
                    "start-index": first,
                    "end-index": first + len(shown) - 1 if shown else first,
                }
            )
    return ok(body)


@meta.get(f"{V}/groups/picker")
def groups_picker(version: str) -> Response:
    text = (request.args.get("query") or "").lower()
    groups = [g for g in state().groups.values() if text in g.name]
    return ok(
        {
            "header": f"Showing {len(groups)} of {len(groups)} matching groups",
            "total": len(groups),
            "groups": [{"name": g.name, "html": g.name, "groupId": g.group_id} for g in groups],
        }
    )


@meta.get(f"{V}/field")
def fields(version: str) -> Response:
    st = state()
    with st.lock:
        return ok([*STANDARD_FIELDS, *(custom_field_json(cf) for cf in st.custom_fields.values())])


@meta.post(f"{V}/field")
def create_field(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    if not isinstance(data.get("type", ""), str):
        raise bad_request(type="The custom field type must be a type key string.")
    if not data.get("name") or not data.get("type"):
        raise bad_request(
            **{k: f"The custom field {k} is required." for k in ("name", "type") if not data.get(k)}
        )
    with st.lock:
        cf = CustomField(
            f"customfield_{10020 + len(st.custom_fields)}",
            data["name"],
            data["type"],
            data.get("searcherKey", ""),
            data.get("description", ""),
        )
        context_id = st.next_id()
        cf.contexts[context_id] = {
            "id": context_id,
            "name": f"Default Configuration Scheme for {cf.name}",
            "description": "",
            "isGlobalContext": True,
            "isAnyIssueType": True,
        }
        cf.options[context_id] = []
        st.custom_fields[cf.id] = cf
        return ok(custom_field_json(cf), 201)


def _custom_field(field_id: str) -> CustomField:
    cf = state().custom_fields.get(field_id)
    if cf is None:
        raise not_found("The custom field was not found.")
    return cf


@meta.get(f"{V}/field/<field_id>/context")
def contexts(version: str, field_id: str) -> Response:
    values = list(_custom_field(field_id).contexts.values())
    return ok(
        {
            "self": request.url,
            "maxResults": 50,
            "startAt": 0,
            "total": len(values),
            "isLast": True,
            "values": values,
        }
    )


@meta.post(f"{V}/field/<field_id>/context")
def create_context(version: str, field_id: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        cf = _custom_field(field_id)
        context_id = st.next_id()
        projects, types = data.get("projectIds") or [], data.get("issueTypeIds") or []
        cf.contexts[context_id] = {
            "id": context_id,
            "name": data.get("name") or "",
            "description": data.get("description", ""),
            "isGlobalContext": not projects,
            "isAnyIssueType": not types,
        }
        cf.options[context_id] = []
        cf.scopes[context_id] = (tuple(map(str, projects)), tuple(map(str, types)))
        return ok(
            {
                "id": context_id,
                "name": data.get("name") or "",
                "description": data.get("description", ""),
                "projectIds": projects,
                "issueTypeIds": types,
            },
            201,
        )


def _options(field_id: str, context_id: str) -> list[dict]:
    options = _custom_field(field_id).options.get(context_id)
    if options is None:
        raise not_found(f"The context was not found. Context id: {context_id}")
    return options


@meta.get(f"{V}/field/<field_id>/context/<context_id>/option")
def options(version: str, field_id: str, context_id: str) -> Response:
    values = _options(field_id, context_id)
    return ok(
        {
            "self": request.url,
            "maxResults": 100,
            "startAt": 0,
            "total": len(values),
            "isLast": True,
            "values": values,
        }
    )


@meta.post(f"{V}/field/<field_id>/context/<context_id>/option")
def create_options(version: str, field_id: str, context_id: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        existing = _options(field_id, context_id)
        created = []
        for item in data.get("options") or []:
            if any(o["value"] == item.get("value") for o in existing):
                raise bad_request(f"The option '{item.get('value')}' already exists.")
            option = {"id": st.next_id(), "value": item.get("value"), "disabled": bool(item.get("disabled"))}
            existing.append(option)
            created.append(option)
        return ok({"options": created})


@meta.get(f"{V}/issuetype")
def issue_types(version: str) -> Response:
    return ok([issue_type_json(t, base()) for t in state().issue_types.values()])


@meta.post(f"{V}/issuetype")
def create_issue_type(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    with st.lock:
        if not data.get("name"):
            raise bad_request(name="You must specify a name for this issue type.")
        if st.issue_type(data["name"]) is not None:
            raise JiraApiError(409, ["An issue type with this name already exists."])
        issue_type = {
            "id": st.next_id(st.issue_types),
            "name": data["name"],
            "description": data.get("description", ""),
            "subtask": data.get("type") == "subtask",
            "hierarchyLevel": data.get("hierarchyLevel", 0),
        }
        st.issue_types[issue_type["id"]] = issue_type
        return ok(issue_type_json(issue_type, base()), 201)


@meta.get(f"{V}/issueLinkType")
def link_types(version: str) -> Response:
    items = [
        {**t, "self": f"{base()}/rest/api/{version}/issueLinkType/{t['id']}"}
        for t in state().link_types.values()
    ]
    return ok({"issueLinkTypes": items})


@meta.post(f"{V}/issueLinkType")
def create_link_type(version: str) -> Response:
    require_admin()
    data, st = body(), state()
    missing = {
        k: f"The issue link type {k} is required." for k in ("name", "inward", "outward") if not data.get(k)
    }
    if missing:
        raise bad_request(**missing)
    with st.lock:
        link_type = {
            "id": st.next_id(st.link_types),
            "name": data["name"],
            "inward": data["inward"],
            "outward": data["outward"],
        }
        st.link_types[link_type["id"]] = link_type
        return ok({**link_type, "self": f"{base()}/rest/api/{version}/issueLinkType/{link_type['id']}"}, 201)


@meta.get(f"{V}/project")
def projects(version: str) -> Response:
    return ok([project_json(p, base()) for p in state().projects.values()])


def _offered(st: JiraState, project_id: str) -> list[str]:
    """Cloud lists the types of the project's issue type scheme; Data Center every type."""
    return st.project_issue_types(project_id) if st.flavor == "cloud" else list(st.issue_types)


@meta.get(f"{V}/project/<key>")
def project(version: str, key: str) -> Response:
    st = state()
    found = st.project(key)
    if found is None:
        raise not_found(f"No project could be found with key '{key}'.")
    return ok(
        {
            **project_json(found, base()),
            "issueTypes": [issue_type_json(st.issue_types[t], base()) for t in _offered(st, found["id"])],
            "lead": user_json(st, st.users["admin"], base()),
        }
    )
