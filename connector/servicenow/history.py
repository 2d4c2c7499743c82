"""ServiceNow's part of reconciliation: what notifications may have missed, read back over the Table API
as the same typed events the notifications carry.

For each emergency change updated since the window: its current state (no history: the instance keeps
none the Table API shows cheaply), every decided approval (`sysapproval_approver`) and every comment and
work note (`sys_journal_field` by `element_id`) of the window. Approvals and journal entries carry the
same subject ids as the notifications do (`approval:<sys_id>:<state>`, `journal:<...>`), so one that
arrived and its replay are processed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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
from connector.inbound.servicenow import approval_subject, journal_subject
from connector.tools import ToolRuntime

if TYPE_CHECKING:
    from connector.servicenow.gateway import ChangeRequest, ServiceNowGateway

PAGE_SIZE = 100
SN_TIME = "%Y-%m-%d %H:%M:%S"
DECIDED = ("approved", "rejected")


def servicenow_deliveries(
    tool: ToolRuntime[ServiceNowGateway], since: datetime, now: datetime
) -> Iterator[tuple[Delivery, Event | Ignored]]:
    """Each emergency change updated since `since`: its state, its decided approvals, its journal."""
    section = tool.mapping.servicenow
    offset: int | None = 0
    while offset is not None:
        page = tool.gateway.changes_updated_since(
            since, offset, PAGE_SIZE, change_type=section.type, table=section.table
        )
        for change in page.records:
            yield servicenow_delivery(change, now, connector=tool.ctx.connector_account)
            yield from _approvals(tool.gateway, change, now)
            yield from _journal(tool.gateway, change, since, now, section.table)
        offset = page.next_offset


def servicenow_one_change(
    tool: ToolRuntime[ServiceNowGateway], key: str, now: datetime
) -> Iterator[tuple[Delivery, Event | Ignored]]:
    """One change request as reconciliation reads it: its state, decided approvals and whole journal."""
    table = tool.mapping.servicenow.table
    change = tool.gateway.get_change(key, table=table)
    yield servicenow_delivery(change, now, connector=tool.ctx.connector_account)
    yield from _approvals(tool.gateway, change, now)
    yield from _journal(tool.gateway, change, datetime(1970, 1, 1, tzinfo=UTC), now, table)


def servicenow_delivery(
    change: ChangeRequest, now: datetime, *, connector: str = ""
) -> tuple[Delivery, Event]:
    """The change's current state. Its mover is unknown; the last writer stands for it unless that is
    the connector itself (its work notes), then the requester: the rules judge facts, not the mover."""
    version = change.fields.get("sys_mod_count") or change.fields.get("sys_updated_on", "")
    subject = f"state:{change.sys_id}:{version}"
    writer = change.fields.get("sys_updated_by") or ""
    common = dict(
        tool="servicenow",
        key=change.number,
        remote_id=change.sys_id,
        issue_type="change_request",
        actor=writer if writer and writer != connector else change.requested_by or writer,
        at=_time(change.fields.get("sys_updated_on")) or now,
        status=change.state,
        fields=dict(change.fields),
        subject_id=subject,
    )
    event: Event = IssueUpdated(**common, changes=(FieldChange("state", "state", None, change.state),))
    if change.fields.get("sys_mod_count") in ("0", ""):
        event = IssueCreated(**common)
    return _delivery(subject, "change_request.reconcile", change.number, now), event


def _approvals(
    gateway: ServiceNowGateway, change: ChangeRequest, now: datetime
) -> Iterator[tuple[Delivery, Event]]:
    query = f"sysapproval={change.sys_id}^stateIN{','.join(DECIDED)}^ORDERBYsys_updated_on"
    for row in gateway.find("sysapproval_approver", query, limit=500):
        subject = approval_subject(row.sys_id, row.get("state"))
        event = ApprovalUpdated(
            tool="servicenow",
            key=change.number,
            remote_id=row.sys_id,
            issue_type="sysapproval_approver",
            actor=row.get("sys_updated_by"),
            at=_time(row.get("sys_updated_on")) or now,
            status=row.get("state"),
            fields=dict(row.fields),
            subject_id=subject,
            approval_id=row.sys_id,
            approver=row.get("approver"),
            group=row.get("group") or None,
            state=row.get("state"),
            comments=row.get("comments"),
        )
        yield _delivery(subject, "sysapproval_approver.reconcile", change.number, now), event


def _journal(
    gateway: ServiceNowGateway, change: ChangeRequest, since: datetime, now: datetime, table: str
) -> Iterator[tuple[Delivery, Event]]:
    stamp = since.astimezone(UTC).strftime(SN_TIME)
    query = (
        f"element_id={change.sys_id}^name={table}^elementINcomments,work_notes"
        f"^sys_created_on>={stamp}^ORDERBYsys_created_on"
    )
    for row in gateway.find("sys_journal_field", query, limit=500):
        author, text = row.get("sys_created_by"), row.get("value")
        subject = journal_subject(change.sys_id, row.get("element"), author, text)
        event = CommentAdded(
            tool="servicenow",
            key=change.number,
            remote_id=change.sys_id,
            issue_type=table,
            actor=author,
            at=_time(row.get("sys_created_on")) or now,
            status=change.state,
            fields=dict(change.fields),
            subject_id=subject,
            comment_id=row.sys_id,
            body=text,
        )
        yield _delivery(subject, "sys_journal_field.reconcile", change.number, now), event


def _delivery(subject: str, event_type: str, key: str, now: datetime) -> Delivery:
    return Delivery(
        source="servicenow",
        delivery_id=f"reconcile:{subject}"[:200],
        event_type=event_type,
        issue_key=key,
        received_at=now,
    )


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text or "", SN_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None
