"""Outbox actions performed on ServiceNow. Each one looks before it writes where a repeat would show:
work notes carry a reference found again on a retry, the post-mortem task is looked up before it is
created, a revert re-reads the change first.

ServiceNow has no approver or reviewer fields on a change_request, so `update_fields` records those
facts as one work note each; the deploy time goes into `work_start` (actual start). Alerts are
`sysevent`s queued on the change as gs.eventQueue queues them: the installed e-mail notifications send
them to the people in parm1 and the members of the alerted groups in parm2, both as user sys_ids (a
notification reads recipients from an event parm as sys_ids or e-mail addresses, never names). An alert
about no change (drift) is queued on the connector account's `sys_user` record instead.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any

from connector.errors import Rejected
from connector.evidence.seal import ticket_note
from connector.mapping import AlertKind, ServiceNowSection
from connector.mapping.deploys import Bypass
from connector.outbox import (
    Action,
    AddLabel,
    Comment,
    CreatePostMortem,
    Notify,
    OpenBypass,
    RaiseEvent,
    RecordEvidence,
    RequestApprovals,
    Revert,
    SetGate,
    ShowMissing,
    Target,
    Transition,
    UpdateFields,
)
from connector.servicenow.gateway import ServiceNowGateway
from connector.servicenow.translate import CATEGORY_FIELD, IMPACT_FIELD

SN_TIME = "%Y-%m-%d %H:%M:%S"
FIELD_NOTES = {  # logical field -> how the fact reads in a work note
    "lead_approver": "Engineering Lead approval by {}",
    "security_approver": "Security Team approval by {}",
    "peer_reviewer": "peer review by {}",
    "security_reviewer": "security review by {}",
    "pr_url": "pull request {}",
    "docs_url": "change documentation {}",
}
DATE_FIELDS = {"deployed_at": "work_start"}  # logical field -> change_request field
ACCOUNT_TABLE = "sys_user"  # the record an event about no change (drift) is fired on
MISSING_FIELD = "u_ecm_missing"  # the next step and what it still needs, written by the connector alone
Result = dict[str, Any]  # what the outbox row records as done


def reference(idempotency_key: str) -> str:
    """A short marker written into every work note, found again on a retry."""
    return "ecm-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]


def sn_time(moment: datetime | str) -> str:
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.astimezone(UTC).strftime(SN_TIME)


class ServiceNowActions:
    """Performs each outbox action by its type: `perform(action, target, idempotency_key)`."""

    def __init__(
        self, gateway: ServiceNowGateway, section: ServiceNowSection, *, bypass: Bypass | None = None
    ) -> None:
        self.gateway, self.section, self.bypass = gateway, section, bypass

    @singledispatchmethod
    def perform(self, action: Action, target: Target, idempotency_key: str) -> Result:
        raise TypeError(f"ServiceNow has no {type(action).__name__} action")

    def _sys_id(self, change: Target) -> str:
        """The change's sys_id: carried by the outbox row, looked up by number only for older rows."""
        if change.remote_id:
            return change.remote_id
        return self.gateway.get_change(_number(change), table=self.section.table).sys_id

    def _noted(self, sys_id: str, ref: str) -> bool:
        query = f"element_id={sys_id}^element=work_notes^valueLIKE{ref}"
        return self.gateway.find_one("sys_journal_field", query) is not None

    @perform.register
    def revert(self, action: Revert, about: Target, idem: str) -> Result:
        """Move the change back; where the instance's state model refuses the move (it does for every
        account, e.g. Implement → Scheduled), leave it and say so in the work note instead."""
        change = self.gateway.get_change(_number(about), table=self.section.table)
        target, violating, ref = action.to_status, action.from_status, reference(idem)
        note = f"{action.comment or 'Reverted by ECM Connector.'}\n\n— ECM Connector ({ref})"
        # A revert that moves nothing says nothing: its note tells of a move back that did not happen.
        if change.state == target:
            return {"skipped": f"already in state {target}"}
        if violating and change.state != violating:
            return {"skipped": f"moved on to state {change.state} meanwhile"}
        try:
            self.gateway.set_state(change.sys_id, target, work_note=note)
            return {"reverted_to": target, "work_note": ref}
        except Rejected as refused:
            note = self._not_reverted(note, change.state, target, refused)
            result = {"not_reverted": str(refused)}
        if not self._noted(change.sys_id, ref):
            self.gateway.add_work_note(change.sys_id, note, table=self.section.table)
        return result | {"work_note": ref}

    def _not_reverted(self, note: str, state: str, target: str, refused: Rejected) -> str:
        here, there = self._stage_name(state), self._stage_name(target)
        truth = (
            f"The connector could not move it back to {there}: ServiceNow refused the move from {here} "
            f"({refused}). It stays in {here}; the violation is recorded and Engineering Leads and the "
            "Security Team are alerted."
        )
        claim = f"The connector moved it back to {target}."
        return note.replace(claim, truth) if claim in note else f"{truth}\n\n{note}"

    def _stage_name(self, state: str) -> str:
        stage = self.section.states.get(state)
        return f"{stage.value.replace('_', ' ')} (state {state})" if stage else f"state {state}"

    @perform.register
    def comment(self, action: Comment, change: Target, idem: str) -> Result:
        sys_id, ref = self._sys_id(change), reference(idem)
        if self._noted(sys_id, ref):
            return {"work_note": ref, "skipped": "work note exists"}
        self.gateway.add_work_note(
            sys_id, f"{action.body}\n\n— ECM Connector ({ref})", table=self.section.table
        )
        return {"work_note": ref}

    @perform.register
    def record_evidence(self, action: RecordEvidence, change: Target, idem: str) -> Result:
        """The evidence packet's hash and the audit checkpoint, as a work note on the change at close."""
        return self.comment(Comment(ticket_note(_number(change), action.seal or {})), change, idem)

    @perform.register
    def notify(self, action: Notify, change: Target, idem: str) -> Result:
        """A service alert of a kind (created, violation, ...) as the mapped event."""
        name = self.section.events.for_kind(AlertKind(action.kind))
        people = [self.gateway.user_sys_id(user) for user in action.users]
        members = [m for g in action.groups for m in self.gateway.member_sys_ids(g)]
        recipients = ",".join(dict.fromkeys(people))  # recipients: user sys_ids, never names
        others = ",".join(m for m in dict.fromkeys(members) if m not in people)
        return self.event(RaiseEvent(name, recipients, others, at=action.at), change, idem)

    @perform.register
    def event(self, action: RaiseEvent, change: Target, idem: str) -> Result:
        """An event about a change is fired on the change; one about no change (a drift alert, key None)
        on the connector account's own `sys_user` record, since every sysevent names a record."""
        if change.key:
            table, sys_id = self.section.table, self._sys_id(change)
        else:
            table, sys_id = ACCOUNT_TABLE, self.gateway.user_sys_id(self.gateway.user)
        event_id = self.gateway.fire_event(
            action.name, sys_id, table, action.parm1, action.parm2, process_on=action.at
        )
        return {"event": action.name, "sysevent": event_id, "table": table}

    @perform.register
    def create_postmortem(self, action: CreatePostMortem, change: Target, idem: str) -> Result:
        task = self.section.postmortem_task
        sys_id = self._sys_id(change)
        found = self.gateway.find_tasks(
            sys_id, task.short_description_prefix, task.change_task_type, table=task.table
        )
        if found:
            return {"postmortem": found[0].get("number"), "skipped": "post-mortem task exists"}
        summary = action.summary
        if not summary.startswith(task.short_description_prefix):
            summary = f"{task.short_description_prefix}: {summary}"
        people = action.participants
        fields = {
            "short_description": summary[:160],
            "description": action.description + (f"\n\nParticipants: {', '.join(people)}" if people else ""),
            "change_task_type": task.change_task_type,
            "due_date": sn_time(action.due_at),
        }
        if action.assignee:
            fields["assigned_to"] = self.gateway.user_sys_id(action.assignee)
        number = self.gateway.create_task(sys_id, fields, table=task.table)
        return {"postmortem": number}

    @perform.register
    def open_bypass(self, action: OpenBypass, nothing: Target, idem: str) -> Result:
        """An emergency change_request flagged in the installed bypass column, whose `correlation_id`
        names the deploy: a retry finds it there before it creates another. Its `category` and
        `justification` are the critical issue category and the impact (R1), read as the engineer's are
        (connector/servicenow/translate.py)."""
        bypass, marker = self.bypass or Bypass(), "ecm-deploy:" + action.deploy.deploy_id[:80]
        found = self.gateway.find_one(self.section.table, f"correlation_id={marker}")
        if found is not None:
            return {
                "change": found.get("number"),
                "remote_id": found.sys_id,
                "skipped": "bypass change exists",
            }
        fields = {
            "type": self.section.type,
            "short_description": action.summary[:160],
            "description": action.description,
            IMPACT_FIELD: action.description,
            "correlation_id": marker,
            "correlation_display": "ECM Connector bypass",
            "work_start": sn_time(action.deploy.at),
            bypass.field: "true",
        }
        if action.category:
            fields[CATEGORY_FIELD] = action.category
        if action.assignee:
            fields["assigned_to"] = fields["requested_by"] = self.gateway.user_sys_id(action.assignee)
        record = self.gateway.create(self.section.table, fields)
        return {"change": record.get("number"), "remote_id": record.sys_id}

    @perform.register
    def take_step(self, action: Transition, change: Target, idem: str) -> Result:
        """A step the connector takes on the change (a pipeline's production deploy moves it to the deploy
        state): the state is written with the note, unless the change moved on meanwhile."""
        sys_id = self._sys_id(change)
        state = self.gateway.get_change(sys_id, table=self.section.table).state
        if state == action.to_status:
            return {"skipped": f"already in {action.to_status}"}
        if action.from_status and state != action.from_status:
            return {"skipped": f"moved on to {state} meanwhile"}
        self.gateway.set_state(sys_id, action.to_status, work_note=action.comment or "")
        return {"status": action.to_status}

    @perform.register
    def update_fields(self, action: UpdateFields, change: Target, idem: str) -> Result:
        values = action.fields
        dates = {DATE_FIELDS[k]: sn_time(v) for k, v in values.items() if k in DATE_FIELDS}
        notes = [FIELD_NOTES[k].format(v) for k, v in values.items() if k in FIELD_NOTES]
        sys_id = self._sys_id(change)
        if dates:
            self.gateway.update_change(sys_id, dates)
        result: Result = {"updated": sorted(dates)}
        if notes:
            text = "ECM Connector recorded " + "; ".join(notes) + "."
            result |= self.comment(Comment(text), Target(change.key, sys_id), idem)
        return result

    @perform.register
    def set_gate(self, action: SetGate, change: Target, idem: str) -> Result:
        """Write the steps the procedure allows now into the gate field the installed before-rules check
        (only the connector's account may write it), and the note saying what opened or is missing."""
        sys_id, value = self._sys_id(change), ",".join(action.open)
        self.gateway.update_change(sys_id, {action.field: value})
        result: Result = {"gate": value}
        if action.note:
            result |= self.comment(Comment(action.note), Target(change.key, sys_id), idem)
        return result

    @perform.register
    def show_missing(self, action: ShowMissing, change: Target, idem: str) -> Result:
        """The next step and what it still needs, in the change's field only the connector writes (work
        notes cannot be edited, so a note per fact would pile up)."""
        sys_id = self._sys_id(change)
        self.gateway.update_change(sys_id, {MISSING_FIELD: action.text})
        return {"missing": MISSING_FIELD}

    @perform.register
    def add_label(self, action: AddLabel, change: Target, idem: str) -> Result:
        return {"skipped": "ServiceNow changes have no labels"}

    @perform.register
    def request_approvals(self, action: RequestApprovals, change: Target, idem: str) -> Result:
        """Ask each group's members for approval unless the instance did (the gateway skips those asked)."""
        sys_id = self._sys_id(change)
        asked = [a.approver for g in action.groups for a in self.gateway.request_approvals(sys_id, g)]
        return {"requested": asked}


def _number(change: Target) -> str:
    if change.key is None:
        raise LookupError("this ServiceNow action needs the change's number")
    return change.key
