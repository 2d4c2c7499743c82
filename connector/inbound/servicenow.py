"""Parse the connector's own ServiceNow notifications into typed events. No I/O.

The installed business rule posts (see docs/servicenow-notify-contract.md):

    X-ECM-Signature: <Base64 HMAC-SHA256(secret, raw body)>    X-ECM-Event-Id: <32 hex, same on retries>
    {"event_id", "table", "operation": "insert|update", "sys_id", "change_sys_id", "change_number", "actor",
     "sent_at": "YYYY-MM-DD HH:MM:SS" (UTC), "changed": [...], "previous": {...}, "record": {...strings...},
     "journal": {"element": "work_notes|comments", "entry": "<getJournalEntry(1)>"} (a comment or work note)}

    delivery, event = parse_servicenow(headers, body, received_at=now)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from connector.errors import MalformedBody
from connector.inbound.events import (
    ApprovalUpdated,
    CommentAdded,
    Delivery,
    Event,
    FieldChange,
    Ignored,
    IssueCreated,
    IssueUpdated,
)
from connector.inbound.reader import JsonObject, load_object
from connector.inbound.render import render_value
from connector.inbound.signatures import header

TOOL = "servicenow"
EVENT_ID_HEADER = "X-ECM-Event-Id"
EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
OPERATIONS = ("insert", "update")
EMERGENCY = "emergency"
JOURNAL_ELEMENTS = ("comments", "work_notes")
# GlideElement.getJournalEntry(1): "2026-12-01 10:00:00 - Liam Lead (Work notes)\n/approve\n\n"
JOURNAL_ENTRY = re.compile(
    r"^(?P<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) - (?P<name>.*?) \((?P<label>[^()\n]*)\)\n(?P<text>.*)$",
    re.S,
)


def journal_subject(record_sys_id: str, element: str, author: str, text: str) -> str:
    """The same for a journal entry whether it came in a notification or from reconciliation, so the
    command in it is processed once."""
    digest = hashlib.sha256(f"{author}\n{text.strip()}".encode()).hexdigest()[:16]
    return f"journal:{record_sys_id}:{element}:{digest}"


def approval_subject(approval_sys_id: str, state: str) -> str:
    return f"approval:{approval_sys_id}:{state}"


def parse_servicenow(
    headers: Mapping[str, str], body: bytes, *, received_at: datetime
) -> tuple[Delivery, Event | Ignored]:
    doc = load_object(body)
    if not doc.has("table"):  # signed JSON, but not a notification of the contract: recorded, then ignored
        return _unknown_event(headers, body, received_at)
    event_id = _event_id(header(headers, EVENT_ID_HEADER), doc.text("event_id"))
    table, operation = doc.required_text("table"), doc.required_text("operation")
    if operation not in OPERATIONS:
        raise MalformedBody(f"operation: expected one of {', '.join(OPERATIONS)}, not {operation!r}")
    change_number = doc.required_text("change_number")
    delivery = Delivery(
        source=TOOL,
        delivery_id=event_id,
        event_type=f"{table}.{operation}"[:64],
        issue_key=change_number,
        received_at=received_at,
        body=body,
    )
    handler = HANDLERS.get(table)
    if handler is None:
        return delivery, Ignored(f"unknown table {table!r}", key=change_number)
    return delivery, handler(doc, _Context(doc, change_number, received_at))


class _Context:
    """What every record event shares: the record's strings, the change number, the time."""

    def __init__(self, doc: JsonObject, change_number: str, received_at: datetime) -> None:
        self.doc = doc
        self.record = doc.required_obj("record")
        self.fields = {name: render_value(self.record.raw(name)) for name in self.record.names()}
        self.change_number = change_number
        self.operation = doc.required_text("operation")
        self.at = _sent_at(doc.text("sent_at")) or received_at

    def common(self, *, key: str, issue_type: str, actor: str, parent_key: str | None = None) -> dict:
        return {
            "tool": TOOL,
            "key": key,
            "remote_id": self.doc.required_text("sys_id"),
            "issue_type": issue_type,
            "actor": actor,
            "at": self.at,
            "status": self.fields.get("state"),
            "fields": self.fields,
            "parent_key": parent_key,
        }

    def changes(self) -> tuple[FieldChange, ...]:
        previous = self.doc.obj("previous") or JsonObject({}, "previous")
        return tuple(
            FieldChange(
                field=name, name=name, old=render_value(previous.raw(name)), new=self.fields.get(name)
            )
            for name in self.doc.texts("changed")
        )

    def record_event(self, **common: object) -> Event:
        if self.operation == "insert":
            return IssueCreated(**common)
        return IssueUpdated(**common, changes=self.changes())


def _change_request(doc: JsonObject, ctx: _Context) -> Event | Ignored:
    change_type = ctx.fields.get("type")
    if change_type != EMERGENCY:
        return Ignored(
            f"change_request of type {change_type!r}: only emergency changes", key=ctx.change_number
        )
    common = ctx.common(key=ctx.change_number, issue_type="change_request", actor=_actor(doc))
    return _journal_entry(doc, ctx, common) or ctx.record_event(**common)


def _change_task(doc: JsonObject, ctx: _Context) -> Event | Ignored:
    key = ctx.fields.get("number") or doc.required_text("sys_id")
    common = ctx.common(key=key, issue_type="change_task", actor=_actor(doc), parent_key=ctx.change_number)
    return _journal_entry(doc, ctx, common) or ctx.record_event(**common)


def _journal_entry(doc: JsonObject, ctx: _Context, common: dict) -> Event | Ignored | None:
    """A comment or work note sent with its record: the author is the record's writer (`actor`)."""
    journal = doc.obj("journal")
    if journal is None:
        return None
    element = journal.required_text("element")
    if element not in JOURNAL_ELEMENTS:
        return Ignored(f"journal entry on {element!r}: only comments and work notes", key=ctx.change_number)
    found = JOURNAL_ENTRY.match(journal.text("entry") or "")
    if found is None:
        raise MalformedBody("journal.entry: expected 'YYYY-MM-DD HH:MM:SS - Name (Label)\\n<text>'")
    mod_count = ctx.fields.get("sys_mod_count") or "0"
    text = found["text"].rstrip("\n")
    return CommentAdded(
        **common | {"key": ctx.change_number},
        comment_id=f"{common['remote_id']}:{element}:{mod_count}",
        body=text,
        subject_id=journal_subject(common["remote_id"], element, common["actor"], text),
    )


def _approval(doc: JsonObject, ctx: _Context) -> Event | Ignored:
    """`actor` is who wrote the approval record (its `sys_updated_by`); `approver` its approver reference."""
    approver = ctx.fields.get("approver")
    if not approver:
        raise MalformedBody("record.approver: missing")
    return ApprovalUpdated(
        **ctx.common(key=ctx.change_number, issue_type="sysapproval_approver", actor=_actor(doc)),
        approval_id=doc.required_text("sys_id"),
        approver=approver,
        group=ctx.fields.get("group") or None,
        state=ctx.fields.get("state") or "",
        comments=ctx.fields.get("comments") or "",
        subject_id=approval_subject(doc.required_text("sys_id"), ctx.fields.get("state") or ""),
    )


def _journal(doc: JsonObject, ctx: _Context) -> Event | Ignored:
    """A sys_journal_field notification, from a rule an older install put on that table. The entry also
    comes with its record now; both carry the same subject id, so its command is processed once."""
    element = ctx.fields.get("element")
    if element not in JOURNAL_ELEMENTS:
        return Ignored(f"journal entry on {element!r}: only comments and work notes", key=ctx.change_number)
    author = ctx.fields.get("sys_created_by")
    if not author:
        raise MalformedBody("record.sys_created_by: missing")
    text = ctx.fields.get("value") or ""
    return CommentAdded(
        **ctx.common(
            key=ctx.change_number, issue_type=ctx.fields.get("name") or "change_request", actor=author
        ),
        comment_id=doc.required_text("sys_id"),
        body=text,
        subject_id=journal_subject(ctx.fields.get("element_id") or "", element, author, text),
    )


HANDLERS: dict[str, Callable[[JsonObject, _Context], Event | Ignored]] = {
    "change_request": _change_request,
    "change_task": _change_task,
    "sysapproval_approver": _approval,
    "sys_journal_field": _journal,
}


def _unknown_event(
    headers: Mapping[str, str], body: bytes, received_at: datetime
) -> tuple[Delivery, Ignored]:
    event_id = (header(headers, EVENT_ID_HEADER) or "").strip().lower()
    delivery = Delivery(
        source=TOOL,
        delivery_id=event_id if EVENT_ID.match(event_id) else "sha256:" + hashlib.sha256(body).hexdigest(),
        event_type="unknown",
        issue_key=None,
        received_at=received_at,
        body=body,
    )
    return delivery, Ignored("unknown event: the body names no table", key=None)


def _event_id(from_header: str | None, from_body: str | None) -> str:
    event_id = (from_header or from_body or "").strip().lower()
    if not EVENT_ID.match(event_id):
        raise MalformedBody(f"{EVENT_ID_HEADER}: expected 32 hexadecimal characters")
    if from_header and from_body and from_body.strip().lower() != event_id:
        raise MalformedBody(f"event_id does not match the {EVENT_ID_HEADER} header")
    return event_id


def _actor(doc: JsonObject) -> str:
    actor = doc.text("actor")
    if not actor:
        raise MalformedBody("actor: missing (the authenticated user who made the change)")
    return actor


def _sent_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise MalformedBody(f"sent_at: expected YYYY-MM-DD HH:MM:SS, not {value!r}") from None
