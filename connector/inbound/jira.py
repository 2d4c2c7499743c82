"""Parse Jira webhook deliveries (Cloud and Server/Data Center) into typed events. No I/O.

    delivery, event = parse_jira(headers, body, received_at=now)

`event` is an `IssueCreated`, `IssueUpdated`, `CommentAdded` or `Ignored(reason)`; a body that is not JSON
or not shaped like a Jira webhook raises `MalformedBody`. Every `webhookEvent` is declared either in
`HANDLERS` or in `IGNORED_EVENTS`; anything else is ignored as unknown.

Cloud names users by `accountId`, Server/Data Center by `name`; Data Center changelog items have no
`fieldId` (the field name is used instead); old servers send no `issue_event_type_name`.

The readers of an issue, a changelog entry, a comment and a user (`issue_facts`, `field_changes`,
`comment_event`, `user_id`) are the one place a Jira issue is read: reconciliation
(`connector/jira/history.py`) builds its events from the REST answers with them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from connector.errors import MalformedBody
from connector.inbound.events import (
    CommentAdded,
    Delivery,
    Event,
    FieldChange,
    Ignored,
    IssueCreated,
    IssueUpdated,
)
from connector.inbound.reader import JsonObject, load_object
from connector.inbound.render import RenderedFields, comment_text
from connector.inbound.signatures import header

TOOL = "jira"
DELIVERY_ID_HEADER = "X-Atlassian-Webhook-Identifier"
RETRY_HEADER = "X-Atlassian-Webhook-Retry"
# Issue fields copied into `event.fields` besides every customfield_*.
SYSTEM_FIELDS = (
    "status",
    "reporter",
    "assignee",
    "issuetype",
    "summary",
    "project",
    "priority",
    "resolution",
    "labels",
    "parent",
)

_SYSTEM_FIELDS = frozenset(SYSTEM_FIELDS)

IGNORED_EVENTS: dict[str, str] = {
    "jira:issue_deleted": "issue deleted: the change's history stays in the connector",
    "comment_updated": "comment edited: only new comments are commands or evidence",
    "comment_deleted": "comment deleted: the evidence stays in the audit log",
    "issuelink_created": "issue links are created by the connector itself (post-mortem links)",
    "issuelink_deleted": "issue link removed: the post-mortem stays tracked by the connector",
    "jira:worklog_updated": "work logs are not part of the procedure",
    "worklog_created": "work logs are not part of the procedure",
    "worklog_updated": "work logs are not part of the procedure",
    "worklog_deleted": "work logs are not part of the procedure",
    "attachment_created": "attachments are not part of the procedure",
    "attachment_deleted": "attachments are not part of the procedure",
    "issue_property_set": "issue properties are not part of the procedure",
    "issue_property_deleted": "issue properties are not part of the procedure",
}
# `issue_event_type_name` of a `jira:issue_updated` that the connector does not act on.
IGNORED_UPDATE_TYPES: dict[str, str] = {
    "issue_comment_edited": "comment edited: only new comments are commands or evidence",
    "issue_comment_deleted": "comment deleted: the evidence stays in the audit log",
    "issue_worklog_updated": "work logs are not part of the procedure",
    "issue_worklog_deleted": "work logs are not part of the procedure",
    "issue_work_logged": "work logs are not part of the procedure",
}


def parse_jira(
    headers: Mapping[str, str], body: bytes, *, received_at: datetime
) -> tuple[Delivery, Event | Ignored]:
    doc = load_object(body)
    event_type = doc.required_text("webhookEvent")
    issue = doc.obj("issue")
    delivery = Delivery(
        source=TOOL,
        delivery_id=header(headers, DELIVERY_ID_HEADER) or "sha256:" + hashlib.sha256(body).hexdigest(),
        event_type=event_type[:64],
        issue_key=issue.text("key") if issue else None,
        received_at=received_at,
        body=body,
        retry=_retry_count(header(headers, RETRY_HEADER)),
    )
    if event_type in IGNORED_EVENTS:
        return delivery, Ignored(f"{event_type}: {IGNORED_EVENTS[event_type]}", key=delivery.issue_key)
    handler = HANDLERS.get(event_type)
    if handler is None:
        return delivery, Ignored(f"unknown event {event_type!r}", key=delivery.issue_key)
    return delivery, handler(doc, received_at)


def _issue_created(doc: JsonObject, received_at: datetime) -> Event | Ignored:
    subject = f"created:{doc.required_obj('issue').required_text('id')}"
    return IssueCreated(**_issue_common(doc, _actor(doc), received_at), subject_id=subject)


def _issue_updated(doc: JsonObject, received_at: datetime) -> Event | Ignored:
    kind = doc.text("issue_event_type_name")
    key = doc.required_obj("issue").text("key")
    comment = doc.obj("comment")
    if kind in IGNORED_UPDATE_TYPES:
        return Ignored(f"jira:issue_updated/{kind}: {IGNORED_UPDATE_TYPES[kind]}", key=key)
    changelog = doc.obj("changelog")
    changes = field_changes(changelog.objs("items") if changelog else [])
    if kind == "issue_commented" and comment is not None:
        return _comment(doc, comment, received_at)
    if kind is None and not changes and comment is not None:  # old servers: tell new from edited
        if comment.text("created") == comment.text("updated"):
            return _comment(doc, comment, received_at)
        return Ignored("jira:issue_updated: comment edited: only new comments count", key=key)
    if not changes:
        return Ignored(f"jira:issue_updated/{kind or 'unnamed'}: no field changed", key=key)
    subject = f"changelog:{changelog.text('id')}" if changelog and changelog.text("id") else None
    return IssueUpdated(**_issue_common(doc, _actor(doc), received_at), changes=changes, subject_id=subject)


def _comment_created(doc: JsonObject, received_at: datetime) -> Event | Ignored:
    comment = doc.required_obj("comment")
    if doc.obj("issue") is None:
        return Ignored(
            "comment_created without the issue (Jira Server): the same comment arrives as "
            "jira:issue_updated/issue_commented"
        )
    return _comment(doc, comment, received_at)


HANDLERS: dict[str, Callable[[JsonObject, datetime], Event | Ignored]] = {
    "jira:issue_created": _issue_created,
    "jira:issue_updated": _issue_updated,
    "comment_created": _comment_created,
}


def _comment(doc: JsonObject, comment: JsonObject, received_at: datetime) -> CommentAdded:
    return comment_event(doc.required_obj("issue"), comment, _timestamp(doc) or received_at)


def _issue_common(doc: JsonObject, actor: str, received_at: datetime) -> dict:
    facts = issue_facts(doc.required_obj("issue"))
    return {**facts, "actor": actor, "at": _timestamp(doc) or received_at}


# --- reading an issue: webhooks and reconciliation ------------------------------------------------------


def issue_facts(issue: JsonObject) -> dict[str, Any]:
    """What every event about `issue` says of it: key, id, type, status, parent, and its fields rendered
    as text (every customfield_* and `SYSTEM_FIELDS`, each rendered when first read)."""
    fields = issue.obj("fields") or JsonObject({}, f"{issue.path}.fields")
    issue_type = fields.obj("issuetype")
    status = fields.obj("status")
    parent = fields.obj("parent")
    return {
        "tool": TOOL,
        "key": issue.required_text("key"),
        "remote_id": issue.required_text("id"),
        "issue_type": (issue_type.text("name") if issue_type else None) or "",
        "status": status.text("name") if status else None,
        "fields": RenderedFields(fields.mapping(), _copied),  # each rendered when the translator reads it
        "parent_key": parent.text("key") if parent else None,
    }


def _copied(name: str, value: Any) -> bool:
    """Which of an issue's fields an event carries: every customfield_*, and `SYSTEM_FIELDS` that are set."""
    return name.startswith("customfield_") or (name in _SYSTEM_FIELDS and value is not None)


def field_changes(items: list[JsonObject]) -> tuple[FieldChange, ...]:
    """A changelog entry's items (Data Center's have no `fieldId`: the field name stands for it)."""
    return tuple(
        FieldChange(
            field=item.text("fieldId") or item.required_text("field"),
            name=item.required_text("field"),
            old=item.text("fromString"),
            new=item.text("toString"),
        )
        for item in items
    )


def comment_event(issue: JsonObject, comment: JsonObject, at: datetime) -> CommentAdded:
    """A new comment on `issue`, by its author (the authenticated actor)."""
    author = user_id(comment.obj("author") or comment.obj("updateAuthor"))
    if author is None:
        raise MalformedBody(f"{comment.path}.author: missing accountId or name")
    return CommentAdded(
        **issue_facts(issue),
        actor=author,
        at=at,
        comment_id=comment.required_text("id"),
        body=comment_text(comment.raw("body")),
        subject_id=f"comment:{comment.required_text('id')}",
    )


def _actor(doc: JsonObject) -> str:
    actor = user_id(doc.obj("user"))
    if actor is None:
        raise MalformedBody("user: missing accountId or name (the authenticated actor)")
    return actor


def user_id(user: JsonObject | None) -> str | None:
    """A user's identity: the accountId on Cloud, the user name (or key) on Server / Data Center."""
    if user is None:
        return None
    return user.text("accountId") or user.text("name") or user.text("key")


def _timestamp(doc: JsonObject) -> datetime | None:
    millis = doc.number("timestamp")
    if millis is None or millis <= 0:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _retry_count(value: str | None) -> int:
    return int(value) if value and value.strip().isdigit() else 0
