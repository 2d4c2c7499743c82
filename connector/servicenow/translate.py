"""ServiceNow events into commands, through the mapping (change type, states, the post-mortem task).

Which fields say what (R1): `category` holds the critical issue category (one of the policy's
categories, e.g. "Service outage") and `justification` describes the impact. ServiceNow closes a change
with `close_code` / `close_notes`; the close code is the change's documentation (R8). References come
as sys_ids: people are resolved to their `user_name` (the connector's identity of a person) and
approval groups to their names through the lookups the runtime passes in (the gateway, cached).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from connector import commands as c
from connector.inbound.events import ApprovalUpdated, CommentAdded, Event, Ignored, IssueCreated, IssueUpdated
from connector.mapping import ServiceNowSection
from connector.procedure.model import Role
from connector.services.comments import comment_command
from connector.tools import ToolContext

log = logging.getLogger("connector.servicenow")

CATEGORY_FIELD, IMPACT_FIELD = "category", "justification"  # R1 on a change_request
TASK_CLOSED = "3"  # change_task state Closed (Complete)
DECISIONS = ("approved", "rejected")
URL = re.compile(r"https?://[^\s<>\"')\]]+")

Lookup = Callable[[str], str | None]  # sys_id -> user_name / group name


def first_url(text: str | None) -> str | None:
    """The first http(s) link in free text (a task's close notes), without trailing punctuation."""
    found = URL.search(text or "")
    return found.group(0).rstrip(".,;:") if found else None


class ServiceNowTranslator:
    def __init__(
        self,
        ctx: ToolContext,
        section: ServiceNowSection,
        user_name: Lookup,
        group_name: Lookup,
        base_url: str,
    ) -> None:
        self.ctx, self.section, self.base_url = ctx, section, base_url.rstrip("/")
        self.user_name, self.group_name = user_name, group_name
        self.roles = {ctx.group_names["leads"]: Role.LEAD, ctx.group_names["security"]: Role.SECURITY}

    def __call__(self, event: Event, origin: str) -> list[c.Command] | Ignored:
        if isinstance(event, ApprovalUpdated):
            return self._approval(event, origin)
        if isinstance(event, CommentAdded):
            if event.issue_type != self.section.table:
                return Ignored(f"a journal entry on {event.issue_type} is not a command", event.key)
            command = comment_command(event, event.key, origin, self.ctx)
            return command if isinstance(command, Ignored) else [command]
        if event.actor == self.ctx.connector_account:
            return Ignored("the connector's own update", event.key)
        if event.issue_type == self.section.postmortem_task.table:
            return self._task(event, origin)
        if event.issue_type != self.section.table:
            return Ignored(f"table {event.issue_type!r} is not the change table", event.key)
        return self._change(event, origin)

    def _base(self, event: Event, origin: str) -> dict:
        return {
            "tool": "servicenow",
            "key": event.key,
            "actor": event.actor,
            "at": event.at,
            "origin": origin,
        }

    def _change(self, event: IssueCreated | IssueUpdated, origin: str) -> list[c.Command] | Ignored:
        fields, base = event.fields, self._base(event, origin)
        state = event.status or ""
        stage = self.ctx.stage_of(state) if state else None
        moved = event.status_change() if isinstance(event, IssueUpdated) else None
        if state and stage is None and (moved is not None or isinstance(event, IssueCreated)):
            log.warning(
                "servicenow-state-unmapped",
                extra={"issue_key": event.key, "state": state, "delivery_id": origin},
            )
            return Ignored(f"state {state!r} is not mapped to a stage of the procedure", event.key)
        requested_by = fields.get("requested_by") or ""
        commands: list[c.Command] = [
            c.RegisterChange(
                **base,
                remote_id=event.remote_id,
                engineer=(self.user_name(requested_by) if requested_by else None) or event.actor,
                title=fields.get("short_description") or "",
                project=self.section.table,
                url=f"{self.base_url}/nav_to.do?uri={self.section.table}.do?sys_id={event.remote_id}",
                category=fields.get(CATEGORY_FIELD) or None,
                impact=fields.get(IMPACT_FIELD) or None,
                stage=stage if isinstance(event, IssueCreated) else None,
                remote_status=state or None,
            )
        ]
        if close_code := (fields.get("close_code") or "").strip():
            commands.append(c.RecordLink(**base, kind="close_code", url=close_code))
        if moved is not None and moved.new and stage is not None:
            commands.append(
                c.RecordTransition(**base, to_stage=stage, to_status=state, from_status=moved.old)
            )
        forged = next((f for f in getattr(event, "changes", ()) if f.field == self.ctx.gate_field), None)
        if forged is not None:  # the connector's own writes were left out above; this one is someone else's
            commands.append(c.RestoreGate(**base, found=forged.new))
        return commands

    def _task(self, event: IssueCreated | IssueUpdated, origin: str) -> list[c.Command] | Ignored:
        task = self.section.postmortem_task
        fields = event.fields
        is_postmortem = fields.get("change_task_type") == task.change_task_type and (
            fields.get("short_description") or ""
        ).startswith(task.short_description_prefix)
        if not is_postmortem:
            return Ignored("a change task that is not the post-mortem", event.key)
        return [
            c.UpdatePostMortem(
                **self._base(event, origin),
                done=event.status == TASK_CLOSED,
                report_url=first_url(fields.get("close_notes")),
            )
        ]

    def _approval(self, event: ApprovalUpdated, origin: str) -> list[c.Command] | Ignored:
        if event.state not in DECISIONS:
            return Ignored(f"approval record {event.state or 'without state'}: not a decision", event.key)
        approver = self.user_name(event.approver)
        if approver is None:
            return Ignored(f"approver {event.approver} is not a known user", event.key)
        if approver != event.actor:
            return Ignored(
                f"{event.actor} wrote the approval of {approver}: only the approver's own decision counts",
                event.key,
            )
        base, evidence = self._base(event, origin), f"sysapproval_approver:{event.approval_id}"
        if event.state == "rejected":
            return [c.RecordRejection(**base, reason=event.comments, evidence=evidence)]
        group = self.group_name(event.group) if event.group else None
        return [c.RecordApproval(**base, role=self.roles.get(group or ""), evidence=evidence)]
