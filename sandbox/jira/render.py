"""JSON shapes of users, statuses, issues and comments, as Jira Cloud (v2/v3) or Data Center sends them."""

from __future__ import annotations

from typing import Any

from sandbox.jira.adf import jira_time, to_adf, to_text
from sandbox.jira.fields import is_rich_text, is_user_field
from sandbox.jira.seed import SEED_PRIORITIES, Status, User
from sandbox.jira.state import Comment, Issue, JiraState, Link

CATEGORIES = {
    "TODO": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "IN_PROGRESS": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "DONE": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
PRIORITIES = dict(SEED_PRIORITIES)
EMBEDDED_COMMENTS = 100
# Keys every real issue carries in `fields` (webhook bodies and GET issue), empty in the sandbox.
EMPTY_SYSTEM_FIELDS: dict[str, Any] = {
    "aggregateprogress": {"progress": 0, "total": 0},
    "aggregatetimeestimate": None,
    "aggregatetimeoriginalestimate": None,
    "aggregatetimespent": None,
    "attachment": [],
    "components": [],
    "environment": None,
    "fixVersions": [],
    "lastViewed": None,
    "progress": {"progress": 0, "total": 0},
    "resolution": None,
    "resolutiondate": None,
    "security": None,
    "subtasks": [],
    "timeestimate": None,
    "timeoriginalestimate": None,
    "timespent": None,
    "timetracking": {},
    "versions": [],
    "votes": {"votes": 0, "hasVoted": False},
    "workratio": -1,
    "worklog": {"worklogs": [], "total": 0},
}


def avatar_urls(base: str, name: str) -> dict[str, str]:
    return {
        size: f"{base}/secure/useravatar?size={size}&owner={name}"
        for size in ("48x48", "24x24", "16x16", "32x32")
    }


def user_json(state: JiraState, user: User | None, base: str) -> dict[str, Any] | None:
    if user is None:
        return None
    common = {
        "emailAddress": user.email,
        "avatarUrls": avatar_urls(base, user.name),
        "displayName": user.display_name,
        "active": True,
        "timeZone": user.time_zone,
    }
    if state.flavor == "cloud":
        return {
            "self": f"{base}/rest/api/2/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "accountType": "atlassian",
            **common,
        }
    return {
        "self": f"{base}/rest/api/2/user?username={user.name}",
        "name": user.name,
        "key": user.key,
        **common,
    }


def status_json(status: Status, base: str) -> dict[str, Any]:
    category = CATEGORIES[status.category]
    return {
        "self": f"{base}/rest/api/2/status/{status.id}",
        "description": status.description,
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": status.name,
        "id": status.id,
        "statusCategory": {"self": f"{base}/rest/api/2/statuscategory/{category['id']}", **category},
    }


def issue_type_json(issue_type: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/2/issuetype/{issue_type['id']}",
        "iconUrl": f"{base}/images/icons/issuetypes/task.svg",
        "avatarId": 10318,
        **issue_type,
    }


def priority_json(priority_id: str, base: str) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/2/priority/{priority_id}",
        "id": priority_id,
        "name": PRIORITIES[priority_id],
        "iconUrl": f"{base}/images/icons/priorities/medium.svg",
    }


def project_json(project: dict[str, str], base: str) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/2/project/{project['id']}",
        **project,
        "projectTypeKey": "software",
        "simplified": False,
        "avatarUrls": avatar_urls(base, project["key"]),
    }


def comment_json(state: JiraState, comment: Comment, base: str, issue: Issue, version: str) -> dict[str, Any]:
    author = user_json(state, state.users.get(comment.author), base)
    body = to_adf(comment.body) if version == "3" else to_text(comment.body)
    return {
        "self": f"{base}/rest/api/{version}/issue/{issue.id}/comment/{comment.id}",
        "id": comment.id,
        "author": author,
        "body": body,
        "updateAuthor": author,
        "created": jira_time(comment.created),
        "updated": jira_time(comment.updated or comment.created),
        "jsdPublic": True,
    }


def linked_issue_json(state: JiraState, issue: Issue, base: str) -> dict[str, Any]:
    """The far end of a link, with the four fields Jira embeds (reference/jira/api/issuelink.json)."""
    return {
        "id": issue.id,
        "key": issue.key,
        "self": f"{base}/rest/api/2/issue/{issue.id}",
        "fields": {
            "summary": issue.fields.get("summary"),
            "status": status_json(state.statuses[issue.fields["status"]], base),
            "priority": priority_json(issue.fields["priority"], base),
            "issuetype": issue_type_json(state.issue_types[issue.fields["issuetype"]], base),
        },
    }


def link_json(state: JiraState, link: Link, base: str) -> dict[str, Any]:
    """`GET issueLink/{id}`: the source as `inwardIssue`, the destination as `outwardIssue`."""
    return {
        "id": link.id,
        "self": f"{base}/rest/api/2/issueLink/{link.id}",
        "type": {**state.link_types[link.type_id], "self": f"{base}/rest/api/2/issueLinkType/{link.type_id}"},
        "inwardIssue": linked_issue_json(state, state.issues[link.source], base),
        "outwardIssue": linked_issue_json(state, state.issues[link.destination], base),
    }


def _link_json(state: JiraState, issue: Issue, base: str) -> list[dict[str, Any]]:
    """The `issuelinks` field: on the source the other end is `outwardIssue` (read "this <outward> other"),
    on the destination it is `inwardIssue` ("this <inward> other")."""
    result = []
    for link in state.links.values():
        if issue.id == link.source:
            other, side = link.destination, "outwardIssue"
        elif issue.id == link.destination:
            other, side = link.source, "inwardIssue"
        else:
            continue
        result.append(
            {
                "id": link.id,
                "self": f"{base}/rest/api/2/issueLink/{link.id}",
                "type": {
                    **state.link_types[link.type_id],
                    "self": f"{base}/rest/api/2/issueLinkType/{link.type_id}",
                },
                side: linked_issue_json(state, state.issues[other], base),
            }
        )
    return result


def embedded_comments(state: JiraState, issue: Issue, base: str, version: str) -> dict[str, Any]:
    """The `comment` field of an issue (GET issue, search, webhooks). Jira Cloud embeds at most the latest
    100 comments, `total` still counting all, so a client can tell it got a part (an issue with 120
    comments shows comments 21-120: github.com/atlassian/atlassian-mcp-server/issues/230); the rest is
    read from `issue/{key}/comment`. Data Center embeds every comment."""
    shown = issue.comments[-EMBEDDED_COMMENTS:] if state.flavor == "cloud" else issue.comments
    return {
        "comments": [comment_json(state, c, base, issue, version) for c in shown],
        "maxResults": len(shown),
        "total": len(issue.comments),
        "startAt": len(issue.comments) - len(shown),
    }


def _custom_value(state: JiraState, field_id: str, value: Any, base: str, version: str) -> Any:
    cf = state.custom_fields[field_id]
    if is_user_field(cf):
        if isinstance(value, list):
            return [user_json(state, state.user_by_any(v), base) for v in value]
        return user_json(state, state.user_by_any(value), base)
    if is_rich_text(cf):
        return to_adf(value) if version == "3" else to_text(value)
    return value


def issue_fields(state: JiraState, issue: Issue, base: str, version: str) -> dict[str, Any]:
    values = issue.fields
    user = state.users.get
    fields: dict[str, Any] = {
        **EMPTY_SYSTEM_FIELDS,
        "summary": values.get("summary"),
        "description": to_adf(values.get("description"))
        if version == "3"
        else to_text(values.get("description")),
        "issuetype": issue_type_json(state.issue_types[values["issuetype"]], base),
        "project": project_json(state.projects[issue.project_id], base),
        "reporter": user_json(state, user(values.get("reporter") or ""), base),
        "creator": user_json(state, user(values.get("creator") or ""), base),
        "assignee": user_json(state, user(values.get("assignee") or ""), base),
        "status": status_json(state.statuses[values["status"]], base),
        "labels": list(values.get("labels") or []),
        "duedate": values.get("duedate"),
        "created": jira_time(issue.created),
        "updated": jira_time(issue.updated),
        "priority": priority_json(values["priority"], base),
        "issuelinks": _link_json(state, issue, base),
        "watches": {
            "self": f"{base}/rest/api/2/issue/{issue.key}/watchers",
            "watchCount": len(issue.watchers),
            "isWatching": False,
        },
        "comment": embedded_comments(state, issue, base, version),
    }
    for field_id in state.custom_fields:
        fields[field_id] = _custom_value(state, field_id, values.get(field_id), base, version)
    return fields


def issue_json(
    state: JiraState,
    issue: Issue,
    base: str,
    version: str,
    *,
    wanted: list[str] | None = None,
    expand: str = "",
) -> dict[str, Any]:
    fields = issue_fields(state, issue, base, version)
    if wanted and not {"*all", "*navigable"} & set(wanted):
        fields = {k: v for k, v in fields.items() if k in wanted}
    body: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": issue.id,
        "self": f"{base}/rest/api/{version}/issue/{issue.id}",
        "key": issue.key,
        "fields": fields,
    }
    if "changelog" in expand.split(","):
        histories = [history_json(state, h, base) for h in issue.history]
        body["changelog"] = {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }
    return body


def history_json(state: JiraState, history: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "id": history["id"],
        "author": user_json(state, state.users.get(history["author"]), base),
        "created": jira_time(history["created"]),
        "items": changelog_items(state, history["items"]),
    }


def changelog_items(state: JiraState, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if state.flavor == "cloud":
        return [dict(item) for item in items]
    return [{k: v for k, v in item.items() if k != "fieldId"} for item in items]
