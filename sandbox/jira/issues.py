"""Issue operations: create, edit (fields + update), transition, comment, link — with changelog and events."""

from __future__ import annotations

from typing import Any

from sandbox.jira.adf import to_text
from sandbox.jira.errors import ISSUE_NOT_FOUND, JiraApiError, bad_request, not_found
from sandbox.jira.fields import is_user_field
from sandbox.jira.options import chosen_option, is_option_field
from sandbox.jira.render import PRIORITIES
from sandbox.jira.schemes import fields_in, not_on_screen
from sandbox.jira.seed import ADMIN_GROUP, User
from sandbox.jira.state import Comment, Issue, JiraState, Link
from sandbox.jira.workflows import RuleContext, conditions_pass, validator_errors

SETTABLE = {
    "summary",
    "description",
    "issuetype",
    "project",
    "reporter",
    "assignee",
    "labels",
    "duedate",
    "priority",
    "environment",
}
LIST_FIELDS = {"labels"}
# Jira refuses a summary of 255 characters or more on create and edit ("Summary must be less than 255
# characters."): integrations truncate to 254 for it (release-engineering/Sync2Jira#119,
# gravitational/teleport#42825 "JIRA plugin: ensure Summary is less than 255 chars").
SUMMARY_LIMIT = 255


def get_issue(state: JiraState, id_or_key: str) -> Issue:
    issue = state.issue(id_or_key)
    if issue is None:
        raise not_found(ISSUE_NOT_FOUND)
    return issue


def _user_name(state: JiraState, field_id: str, ref: Any) -> str | None:
    if ref is None or ref == {}:
        return None
    user = state.user_from_ref(ref)
    if user is None:
        raise bad_request(**{field_id: f"User '{ref}' does not exist."})
    return user.name


def _normalise(state: JiraState, field_id: str, value: Any) -> Any:
    """The stored form of one field value from a request."""
    if field_id in ("reporter", "assignee"):
        return _user_name(state, field_id, value)
    if field_id == "priority":
        ident = value.get("id") or value.get("name") if isinstance(value, dict) else value
        for pid, name in PRIORITIES.items():
            if ident in (pid, name):
                return pid
        raise bad_request(priority="Specify the Priority (id or name) in the string format")
    if field_id == "issuetype":
        issue_type = state.issue_type(value)
        if issue_type is None:
            raise bad_request(issuetype="Specify a valid issue type")
        return issue_type["id"]
    if field_id == "summary" and isinstance(value, str) and len(value) >= SUMMARY_LIMIT:
        raise bad_request(summary=f"Summary must be less than {SUMMARY_LIMIT} characters.")
    if field_id == "labels":
        if not isinstance(value, list) or any(" " in str(v) for v in value):
            raise bad_request(labels="The label must not contain spaces.")
        return [str(v) for v in value]
    cf = state.custom_fields.get(field_id)
    if cf is not None and is_user_field(cf) and value is not None:
        if isinstance(value, list):
            return [_user_name(state, field_id, v) for v in value]
        return _user_name(state, field_id, value)
    if field_id in SETTABLE or cf is not None:
        return value
    raise bad_request(
        **{field_id: f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."}
    )


def _display(state: JiraState, field_id: str, stored: Any) -> tuple[Any, Any]:
    """(id form, string form) of a stored value for changelog items."""
    if stored is None or stored == []:
        return None, None
    if field_id in ("reporter", "assignee") or (
        field_id in state.custom_fields and is_user_field(state.custom_fields[field_id])
    ):
        names = stored if isinstance(stored, list) else [stored]
        users = [state.users[n] for n in names]
        ident = ",".join(u.account_id if state.flavor == "cloud" else u.name for u in users)
        return ident, ", ".join(u.display_name for u in users)
    if field_id == "status":
        return stored, state.statuses[stored].name
    if field_id == "priority":
        return stored, PRIORITIES[stored]
    if field_id == "issuetype":
        return stored, state.issue_types[stored]["name"]
    if field_id in LIST_FIELDS:
        return None, " ".join(stored)
    if isinstance(stored, dict) and "value" in stored:
        return stored.get("id"), stored["value"]
    return None, str(to_text(stored))


def _item(state: JiraState, field_id: str, before: Any, after: Any) -> dict[str, Any]:
    cf = state.custom_fields.get(field_id)
    from_id, from_text = _display(state, field_id, before)
    to_id, to_text_ = _display(state, field_id, after)
    return {
        "field": cf.name if cf else ("Link" if field_id == "issuelinks" else field_id),
        "fieldtype": "custom" if cf else "jira",
        "fieldId": field_id,
        "from": from_id,
        "fromString": from_text,
        "to": to_id,
        "toString": to_text_,
    }


def _apply(state: JiraState, issue: Issue, fields: dict[str, Any], update: dict[str, Any]) -> list[dict]:
    """Apply `fields` (set) and `update` (set/add/remove) to the issue; return the changelog items."""
    changes: dict[str, Any] = {fid: _normalise(state, fid, value) for fid, value in (fields or {}).items()}
    for fid, operations in (update or {}).items():
        if fid in ("comment", "issuelinks"):  # applied once the issue's own fields are in place
            continue
        current = list(changes.get(fid, issue.fields.get(fid)) or [])
        for operation in operations:
            for verb, value in operation.items():
                if verb == "set":
                    current = _normalise(state, fid, value)
                elif verb == "add" and value not in current:
                    current = [*current, value]
                elif verb == "remove":
                    current = [v for v in current if v != value]
        changes[fid] = _normalise(state, fid, current) if fid in LIST_FIELDS else current
    issue_type = changes.get("issuetype", issue.fields.get("issuetype"))
    for fid, value in changes.items():  # Cloud and Data Center alike (sandbox/jira/options.py)
        cf = state.custom_fields.get(fid)
        if cf is not None and is_option_field(cf):
            changes[fid] = chosen_option(cf, value, issue.project_id, issue_type)
    items = []
    for fid, value in changes.items():
        before = issue.fields.get(fid)
        if before != value:
            items.append(_item(state, fid, before, value))
            issue.fields[fid] = value
    return items


def _record(state: JiraState, issue: Issue, actor: User, items: list[dict]) -> dict[str, Any] | None:
    if not items:
        return None
    history = {"id": state.next_id(), "author": actor.name, "created": state.now(), "items": items}
    issue.history.append(history)
    issue.updated = history["created"]
    return history


def create_issue(state: JiraState, actor: User, body: dict[str, Any]) -> Issue:
    fields = dict(body.get("fields") or {})
    project_ref = fields.pop("project", None) or {}
    project = state.project(project_ref.get("key") or project_ref.get("id"))
    errors = {}
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
    if not fields.get("issuetype"):
        errors["issuetype"] = "Specify an issue type"
    if not str(fields.get("summary") or "").strip():
        errors["summary"] = "You must specify a summary of the issue."
    if errors:
        raise JiraApiError(400, [], errors)
    assert project is not None
    _check_type_and_screen(state, project["id"], fields["issuetype"], "create", body)
    number = state.project_counters[project["id"]] = state.project_counters[project["id"]] + 1
    now = state.now()
    issue = Issue(
        state.next_id(),
        f"{project['key']}-{number}",
        project["id"],
        {"priority": "3", "labels": [], "reporter": actor.name, "creator": actor.name},
        now,
        now,
    )
    links = check_link_updates(state, (body.get("update") or {}).get("issuelinks", []))
    _apply(state, issue, fields, body.get("update") or {})
    workflow = state.workflow_for(project["id"], issue.fields["issuetype"])
    initial = workflow.initial_transition
    if workflow.initial_status not in state.statuses:  # an imported workflow's "?" step
        raise bad_request(f"The initial step of workflow '{workflow.name}' has no status.")
    issue.fields["status"] = workflow.initial_status
    issue.watchers.add(issue.fields["reporter"])
    state.issues[issue.id] = issue
    state.issue_keys[issue.key] = issue.id
    event, type_name = initial.fired_event() if initial else ("jira:issue_created", "issue_created")
    state.emit(
        {
            "event": event,
            "type_name": type_name,
            "actor": actor.name,
            "issue_id": issue.id,
            "changelog": None,
        }
    )
    apply_link_updates(state, actor, issue, links)
    return issue


def _check_type_and_screen(
    state: JiraState, project_id: str, type_ref: Any, operation: str, body: dict[str, Any]
) -> None:
    """Jira Cloud refuses an issue type outside the project's issue type scheme on create ("Specify a
    valid issue type", as for an unknown one) and every field that is not on the operation's screen."""
    if state.flavor != "cloud":
        return
    issue_type = state.issue_type(type_ref)
    if issue_type is None or (
        operation == "create" and issue_type["id"] not in state.project_issue_types(project_id)
    ):
        raise bad_request(issuetype="Specify a valid issue type")
    screen = state.config.screen_for(project_id, issue_type["id"], operation)
    if errors := not_on_screen(screen, fields_in(body)):
        raise JiraApiError(400, [], errors)


def edit_issue(state: JiraState, actor: User, issue: Issue, body: dict[str, Any]) -> None:
    links = check_link_updates(state, (body.get("update") or {}).get("issuelinks", []))
    _check_type_and_screen(state, issue.project_id, issue.fields["issuetype"], "edit", body)
    items = _apply(state, issue, body.get("fields") or {}, body.get("update") or {})
    history = _record(state, issue, actor, items)
    if history:
        state.emit(
            {
                "event": "jira:issue_updated",
                "type_name": "issue_updated",
                "actor": actor.name,
                "issue_id": issue.id,
                "changelog": history,
            }
        )
    apply_link_updates(state, actor, issue, links)
    for operation in (body.get("update") or {}).get("comment", []):
        if "add" in operation:
            add_comment(state, actor, issue, operation["add"].get("body"))


def rule_context(state: JiraState, actor: User, issue: Issue) -> RuleContext:
    return RuleContext(
        actor,
        issue.fields.get("reporter"),
        issue.fields.get("assignee"),
        {g.group_id: g.name for g in state.groups.values()},
        issue.fields,
    )


def usable_transitions(state: JiraState, actor: User, issue: Issue) -> list:
    workflow = state.workflow_for(issue.project_id, issue.fields["issuetype"])
    ctx = rule_context(state, actor, issue)
    return [t for t in workflow.available_from(issue.fields["status"]) if conditions_pass(t.conditions, ctx)]


def transition_issue(state: JiraState, actor: User, issue: Issue, body: dict[str, Any]) -> None:
    wanted = str((body.get("transition") or {}).get("id", ""))
    transition = next((t for t in usable_transitions(state, actor, issue) if t.id == wanted), None)
    if transition is None:
        raise bad_request(f"Transition id '{wanted}' is not valid for this issue.")
    if transition.to_status not in state.statuses:  # into an imported workflow's "?" step
        raise bad_request(
            f"It seems that you have tried to perform a workflow operation ({transition.name}) that is not"
            f" valid for the current state of this issue ({issue.key}). The likely cause is that somebody"
            " has changed the issue recently, please look at the issue history for details."
        )
    if state.flavor == "cloud":
        screen = state.config.screens.get(transition.screen_id) if transition.screen_id else None
        if errors := not_on_screen(screen, fields_in(body)):
            raise JiraApiError(400, [], errors)
    before = dict(issue.fields)
    items = _apply(state, issue, body.get("fields") or {}, body.get("update") or {})
    errors = validator_errors(transition.validators, issue.fields, state.field_names())
    if errors:
        issue.fields.clear()
        issue.fields.update(before)
        raise JiraApiError(400, [], errors)
    if transition.to_status != issue.fields["status"]:
        items.insert(0, _item(state, "status", issue.fields["status"], transition.to_status))
        issue.fields["status"] = transition.to_status
    history = _record(state, issue, actor, items)
    event, type_name = transition.fired_event()
    state.emit(
        {
            "event": event,
            "type_name": type_name,
            "actor": actor.name,
            "issue_id": issue.id,
            "changelog": history,
        }
    )
    for operation in (body.get("update") or {}).get("comment", []):
        if "add" in operation:
            add_comment(state, actor, issue, operation["add"].get("body"))


def update_comment(state: JiraState, actor: User, issue: Issue, comment_id: str, body: Any) -> Comment:
    """Edit a comment: its author may ("Edit own comments"), and Jira's administrators ("Edit all
    comments", OpenAPI document); anyone else is refused with 400, as the document says for a user without
    the permission. Nothing is delivered to the connector's webhook, which does not subscribe to
    `comment_updated`."""
    comment = next((c for c in issue.comments if c.id == str(comment_id)), None)
    if comment is None:
        raise not_found(f"Can not find a comment for the id: {comment_id}.")
    if comment.author != actor.name and ADMIN_GROUP not in actor.groups:
        raise bad_request("You do not have the permission to edit this comment.")
    if not str(to_text(body) or "").strip():
        raise bad_request(comment="Comment body can not be empty!")
    comment.body, comment.updated = body, state.now()
    issue.updated = comment.updated
    return comment


def add_comment(state: JiraState, actor: User, issue: Issue, body: Any) -> Comment:
    if not str(to_text(body) or "").strip():
        raise bad_request(comment="Comment body can not be empty!")
    comment = Comment(state.next_id(), actor.name, body, state.now())
    issue.comments.append(comment)
    issue.updated = comment.created
    event = {"actor": actor.name, "issue_id": issue.id, "changelog": None, "comment": comment}
    state.emit({**event, "event": "jira:issue_updated", "type_name": "issue_commented"})
    state.emit({**event, "event": "comment_created"})
    return comment


def _link_type(state: JiraState, ref: Any) -> dict[str, str] | None:
    ref = ref if isinstance(ref, dict) else {}
    name = str(ref.get("name", "")).lower()
    return next(
        (t for t in state.link_types.values() if ref.get("id") == t["id"] or name == t["name"].lower()),
        None,
    )


def _add_link(state: JiraState, actor: User, type_id: str, source: Issue, destination: Issue) -> Link:
    """`source` <outward> `destination`. Jira keeps one link per (type, source, destination): a repeated
    request "indicates that the issue link was created" and changes nothing (OpenAPI, POST issueLink)."""
    for link in state.links.values():
        if (link.type_id, link.source, link.destination) == (type_id, source.id, destination.id):
            return link
    link = Link(state.next_id(), type_id, source.id, destination.id)
    state.links[link.id] = link
    for issue in (source, destination):
        issue.updated = state.now()
    state.emit({"event": "issuelink_created", "actor": actor.name, "issue_id": source.id, "link": link})
    return link


def link_issues(state: JiraState, actor: User, body: dict[str, Any]) -> Link:
    """`POST issueLink`: `inwardIssue` is the source, `outwardIssue` the destination (see `Link`)."""
    ref = body.get("type") or {}
    link_type = _link_type(state, ref)
    if link_type is None:
        raise JiraApiError(404, [f"No issue link type with name '{ref.get('name', ref.get('id'))}' found."])
    ends = []
    for side in ("inwardIssue", "outwardIssue"):
        end = body.get(side) or {}
        issue = state.issue(str(end.get("key") or end.get("id") or ""))
        if issue is None:
            raise not_found(f"Cannot find issue {end.get('key') or end.get('id')}.")
        ends.append(issue)
    link = _add_link(state, actor, link_type["id"], ends[0], ends[1])
    if body.get("comment"):
        add_comment(state, actor, ends[0], body["comment"].get("body"))
    return link


def check_link_updates(state: JiraState, operations: Any) -> list[tuple[str, str, Issue]]:
    """The `update.issuelinks` operations of a create or edit, checked before anything is written:
    (link type id, side, other issue). Only `add` exists for this field; `outwardIssue: X` on issue I
    makes I <outward> X, `inwardIssue: X` makes X <outward> I (the issue view's reading)."""
    checked = []
    for operation in operations if isinstance(operations, list) else [operations]:
        verbs = set(operation) if isinstance(operation, dict) else {"?"}
        if verbs != {"add"} or not isinstance(operation["add"], dict):
            raise bad_request(issuelinks="The operation is not supported for the 'issuelinks' field.")
        add = operation["add"]
        link_type = _link_type(state, add.get("type"))
        if link_type is None:
            raise bad_request(issuelinks="Issue link type is not valid.")
        sides = [side for side in ("outwardIssue", "inwardIssue") if add.get(side)]
        if len(sides) != 1:
            raise bad_request(issuelinks="Specify exactly one of 'inwardIssue' or 'outwardIssue'.")
        end = add[sides[0]] if isinstance(add[sides[0]], dict) else {}
        other = state.issue(str(end.get("key") or end.get("id") or ""))
        if other is None:
            raise bad_request(issuelinks=f"Issue '{end.get('key') or end.get('id')}' does not exist.")
        checked.append((link_type["id"], sides[0], other))
    return checked


def apply_link_updates(
    state: JiraState, actor: User, issue: Issue, checked: list[tuple[str, str, Issue]]
) -> None:
    for type_id, side, other in checked:
        source, destination = (issue, other) if side == "outwardIssue" else (other, issue)
        _add_link(state, actor, type_id, source, destination)
