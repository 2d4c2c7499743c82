"""What happens after a write: group approvals, approval roll-up, task SLAs, event emails."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.servicenow.rules import AUTHORIZE, CAB, CANCELED, CLOSED, Write
from sandbox.servicenow.store import Record

if TYPE_CHECKING:
    from sandbox.servicenow.engine import Instance

_FINAL_TASK_STATES = {"3": "completed", "4": "cancelled"}
LOW_RISK = "4"  # change_request.risk: 1 very high, 2 high, 3 moderate, 4 low


def adjust(write: Write, now: str) -> Record:
    """Fields the instance sets itself alongside an update (approval on Authorize, closure stamps)."""
    after, extra = write.after, {}
    if write.table == "change_request" and write.changed("state"):
        if after.get("state") == AUTHORIZE and after.get("type") == "emergency":
            extra["approval"] = "requested"
        if after.get("state") in (CLOSED, CANCELED):
            extra.update(active="false", closed_at=now, closed_by=write.actor["sys_id"])
    if write.table == "change_task" and write.changed("state") and after.get("state") in _FINAL_TASK_STATES:
        extra.update(active="false", closed_at=now, closed_by=write.actor["sys_id"])
    return extra


def after(
    instance: Instance, table: str, operation: str, before: Record, record: Record, actor: Record
) -> None:
    for handler in AFTER_EFFECTS.get(table, ()):
        handler(instance, operation, before, record, actor)


def _request_approvals(
    instance: Instance, operation: str, before: Record, record: Record, actor: Record
) -> None:
    """An emergency change entering Authorize gets the approvals of its change model: one group approval
    (sysapproval_group) per approver group, and a requested sysapproval_approver per member, whose
    `group` is that group approval. The model's default approvers are by risk (low: members of the
    assignment group; moderate, high: CAB member), unless an admin chose other groups
    (reference/servicenow/configure-emergency-change-model-scm.md, "Authorize")."""
    if not (
        record.get("type") == "emergency"
        and record.get("state") == AUTHORIZE
        and before.get("state") != AUTHORIZE
    ):
        return
    for group in _approver_groups(instance, record):
        if instance.store.find(
            "sysapproval_group", parent=record["sys_id"], assignment_group=group["sys_id"]
        ):
            continue
        approval = instance.write_insert(
            "sysapproval_group",
            {"parent": record["sys_id"], "assignment_group": group["sys_id"], "approval": "requested"},
            actor,
        )
        for member in instance.store.find("sys_user_grmember", group=group["sys_id"]):
            instance.write_insert(
                "sysapproval_approver",
                {
                    "approver": member["user"],
                    "sysapproval": record["sys_id"],
                    "document_id": record["sys_id"],
                    "group": approval["sys_id"],
                    "state": "requested",
                    "source_table": "change_request",
                },
                actor,
            )


def _approver_groups(instance: Instance, change: Record) -> list[Record]:
    groups = {g["name"]: g for g in instance.store.rows("sys_user_group")}
    if instance.emergency_approvers:
        return [groups[name] for name in instance.emergency_approvers if name in groups]
    if change.get("risk") == LOW_RISK:
        assigned = instance.store.get("sys_user_group", change.get("assignment_group", ""))
        return [assigned] if assigned else []
    return [groups[CAB]] if CAB in groups else []


def _cancel_approvals(
    instance: Instance, operation: str, before: Record, record: Record, actor: Record
) -> None:
    if record.get("state") == CANCELED and before.get("state") != CANCELED:
        for row in instance.store.find(
            "sysapproval_approver", sysapproval=record["sys_id"], state="requested"
        ):
            instance.write_update("sysapproval_approver", row["sys_id"], {"state": "cancelled"}, actor)


def _roll_up_approval(
    instance: Instance, operation: str, before: Record, record: Record, actor: Record
) -> None:
    """One member's decision settles the group approval; every group approval approved → the change is
    approved, any rejection → rejected. A `group` that is no group approval (e.g. a sys_user_group
    sys_id: the Table API stores what it is given) belongs to no group and settles nothing."""
    if record.get("state") == before.get("state") or not record.get("sysapproval"):
        return
    change_id = record["sysapproval"]
    group = instance.store.get("sysapproval_group", record.get("group", ""))
    if group is not None and record["state"] in ("approved", "rejected"):
        for row in instance.store.find(
            "sysapproval_approver", sysapproval=change_id, group=group["sys_id"], state="requested"
        ):
            instance.write_update("sysapproval_approver", row["sys_id"], {"state": "not_required"}, actor)
        instance.write_update("sysapproval_group", group["sys_id"], {"approval": record["state"]}, actor)
    change = instance.store.get("change_request", change_id)
    if change is None:
        return
    groups = instance.store.find("sysapproval_group", parent=change_id)
    loose = [
        row
        for row in instance.store.find("sysapproval_approver", sysapproval=change_id)
        if instance.store.get("sysapproval_group", row.get("group", "")) is None
    ]
    decisions = [g["approval"] for g in groups] + [row["state"] for row in loose]
    if "rejected" in decisions:
        verdict = "rejected"
    elif decisions and all(d in ("approved", "not_required") for d in decisions):
        verdict = "approved"
    else:
        verdict = "requested"
    if change["approval"] != verdict and change["state"] == AUTHORIZE:
        instance.write_update("change_request", change_id, {"approval": verdict}, actor)


def _attach_task_sla(
    instance: Instance, operation: str, before: Record, record: Record, actor: Record
) -> None:
    if operation == "insert":
        for sla in instance.store.find("contract_sla", collection="change_task"):
            if sla.get("active", "true") == "true":
                instance.write_insert(
                    "task_sla",
                    {
                        "task": record["sys_id"],
                        "sla": sla["sys_id"],
                        "schedule": sla.get("schedule", ""),
                        "start_time": record["sys_created_on"],
                        "planned_end_time": record.get("due_date", ""),
                    },
                    actor,
                )
        return
    stage = _FINAL_TASK_STATES.get(record.get("state", ""))
    if stage and before.get("state") != record.get("state"):
        for row in instance.store.find("task_sla", task=record["sys_id"], active="true"):
            instance.write_update(
                "task_sla",
                row["sys_id"],
                {"stage": stage, "active": "false", "end_time": record["sys_updated_on"]},
                actor,
            )


def _send_event_emails(
    instance: Instance, operation: str, before: Record, event: Record, actor: Record
) -> None:
    """The event processor: a ready event whose process_on has come (gs.eventQueue sets it; a bare
    sysevent insert without it is never picked up) is sent by every active notification for it."""
    if operation != "insert" or event.get("state") != "ready":
        return
    if not event.get("process_on") or event["process_on"] > instance.store.now():
        return
    for action in instance.store.find("sysevent_email_action", event_name=event.get("name", "")):
        if action.get("active", "true") != "true":
            continue
        # A notification belongs to a table ("the table to which the notification applies") and is
        # sent for the events fired on records of that table only.
        # https://www.servicenow.com/docs/r/australia/application-development/servicenow-sdk/fluent-email-notification-api.html
        if action.get("collection", "") != event.get("table", ""):
            continue
        target = instance.store.get(event.get("table", ""), event.get("instance", "")) or {}
        fill = _template(target, event)
        instance.write_insert(
            "sys_email",
            {
                "subject": fill(action.get("subject", "") or event["name"]),
                "body": fill(
                    action.get("message_html", "")
                    or action.get("message", "")
                    or action.get("message_text", "")
                ),
                "recipients": ",".join(_recipients(instance, action, event)),
                "instance": event.get("instance", ""),
                "target_table": event.get("table", ""),
                "headers": f"X-ServiceNow-Source:Notification-{action['sys_id']}",
            },
            actor,
        )
    instance.write_update(
        "sysevent", event["sys_id"], {"state": "processed", "processed": event["sys_created_on"]}, actor
    )


def _template(target: Record, event: Record) -> Callable[[str], str]:
    values = {**target, "event.parm1": event.get("parm1", ""), "event.parm2": event.get("parm2", "")}
    return lambda text: re.sub(r"\$\{([a-z0-9_.]+)\}", lambda m: values.get(m[1], ""), text)


def _recipients(instance: Instance, action: Record, event: Record) -> list[str]:
    """Who a notification e-mails: the event parms it is told contain recipients ("Event parm 1/2
    contains recipient", off unless set), each a comma list of user sys_ids or e-mail addresses, plus
    its users (sys_ids) and groups (sys_ids, every member). A user or group *name* is nobody.
    https://www.servicenow.com/docs/bundle/xanadu-platform-administration/page/administer/notification/reference/r_EmailNotificationWhoWillReceive.html"""
    wanted: list[str] = []
    for parm in ("parm1", "parm2"):
        if action.get(f"event_parm_{parm[-1]}", "false") == "true":
            wanted += [n.strip() for n in event.get(parm, "").split(",") if n.strip()]
    wanted += [n for n in action.get("recipient_users", "").split(",") if n]
    for group in [g for g in action.get("recipient_groups", "").split(",") if g]:
        wanted += [m["user"] for m in instance.store.find("sys_user_grmember", group=group)]
    emails: list[str] = []
    for value in wanted:
        user = instance.store.get("sys_user", value)
        address = value if "@" in value else (user or {}).get("email", "")
        if address and address not in emails:
            emails.append(address)
    return emails


Effect = Callable[["Instance", str, Record, Record, Record], None]
AFTER_EFFECTS: dict[str, tuple[Effect, ...]] = {
    "change_request": (_request_approvals, _cancel_approvals),
    "sysapproval_approver": (_roll_up_approval,),
    "change_task": (_attach_task_sla,),
    "sysevent": (_send_event_emails,),
}
