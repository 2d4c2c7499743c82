"""Outbox actions performed on Jira. Each one is idempotent: it looks before it writes, so a crash
between the remote call and the commit repeats nothing a person would see."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from connector.errors import NotFound, Rejected, Unavailable
from connector.evidence.seal import ticket_note
from connector.jira.gateway import JiraGateway
from connector.mapping import JiraSection
from connector.mapping.deploys import Bypass
from connector.outbox import (
    Action,
    AddLabel,
    Comment,
    CreatePostMortem,
    Notify,
    OpenBypass,
    RecordEvidence,
    Revert,
    SetGate,
    ShowMissing,
    Target,
    Transition,
    UpdateFields,
)

REVERT_PREFIX = "ECM revert to "
SUMMARY_LIMIT = 255  # Jira refuses a summary of 255 characters or more
Result = dict[str, Any]  # what the outbox row records as done
GATE_TRIES = 3  # a loop refused because the issue moved on is looked up again
GATE_PREFIX = "ECM gate: "  # connector/jira/workflow.py names the gate loops so


def reference(idempotency_key: str) -> str:
    """A short marker written into every comment, found again on a retry."""
    return "ecm-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]


def postmortem_label(change_key: str) -> str:
    return f"ecm-postmortem-{change_key}".lower()


def deploy_label(deploy_id: str) -> str:
    """The label that names the deploy a bypass change was opened for, found again on a retry."""
    return "ecm-deploy-" + hashlib.sha256(deploy_id.encode()).hexdigest()[:12]


class JiraActions:
    """Performs each outbox action by its type: `perform(action, target, idempotency_key)`."""

    def __init__(
        self,
        gateway: JiraGateway,
        section: JiraSection,
        field_ids: Mapping[str, str],
        *,
        bypass: Bypass | None = None,
    ):
        self.gateway, self.section, self.field_ids = gateway, section, field_ids
        self._missing_comments: dict[str, str] = {}  # change key -> the comment saying what is missing
        self._gate_loops: dict[tuple[str, str], str] = {}  # (project, status) -> its gate loop's id
        self.bypass = bypass

    @singledispatchmethod
    def perform(self, action: Action, target: Target, idempotency_key: str) -> Result:
        raise TypeError(f"Jira has no {type(action).__name__} action")

    @perform.register
    def revert(self, action: Revert, change: Target, idem: str) -> Result:
        """The transition carries the comment, so a retry that finds the comment knows the revert was
        done, even if someone has since moved the issue back to the violating status."""
        key, target, text = _key(change), action.to_status, action.comment
        ref = reference(idem)
        if text and any(ref in existing.body for existing in self.gateway.comments(key)):
            return {"skipped": "reverted already", "reverted_to": target}
        issue = self.gateway.get_issue(key, fields=["status"])
        violating = action.from_status
        # A revert that moves nothing says nothing: its comment tells of a move back that did not happen
        # (the issue's next webhook is judged on its own).
        if issue.status.casefold() == target.casefold():
            return {"skipped": f"already in {target}"}
        if violating and issue.status.casefold() != violating.casefold():
            return {"skipped": f"moved on to {issue.status} meanwhile"}
        name = REVERT_PREFIX + target
        options = self.gateway.transitions(key)
        chosen = next((t for t in options if t.name.casefold() == name.casefold()), None) or next(
            (t for t in options if t.to_status.casefold() == target.casefold()), None
        )
        if chosen is None:
            raise LookupError(f"{key}: no transition back to {target} is offered to the connector")
        self.gateway.transition(key, chosen.id, comment=_signed(text, ref) if text else None)
        return {"reverted_to": target, "transition": chosen.name}

    @perform.register
    def comment(self, action: Comment, change: Target, idem: str) -> Result:
        key, ref = _key(change), reference(idem)
        for existing in self.gateway.comments(key):
            if ref in existing.body:
                return {"comment": existing.id, "skipped": "comment exists"}
        return {"comment": self.gateway.add_comment(key, _signed(action.body, ref))}

    @perform.register
    def notify(self, action: Notify, change: Target, idem: str) -> Result:
        self.gateway.notify(
            _key(change), action.subject, action.body, users=action.users, groups=action.groups
        )
        return {"notified": [*action.users, *action.groups]}

    @perform.register
    def create_postmortem(self, action: CreatePostMortem, change: Target, idem: str) -> Result:
        """The post-mortem is created already linked ("<change> has post-mortem <new issue>", one
        request), so a retry after any crash finds it among the change's links, which Jira shows at once
        (search is eventually consistent and may not show a new issue yet)."""
        key, link = _key(change), self.section.link_type
        issue = self.gateway.get_issue(key, fields=["issuelinks", "status"])
        for existing in issue.links:  # the change is the link's from-end: "<change> has post-mortem <pm>"
            if existing.type == link.name and existing.direction == "outward":
                return {"postmortem": existing.key, "skipped": "linked post-mortem exists"}
        label = postmortem_label(key)
        found = self.gateway.search(f'labels = "{label}"', fields=["summary"], max_results=1).issues
        if found:  # created unlinked by an earlier version of this action
            self.gateway.create_link(link.name, key, found[0].key)
            return {"postmortem": found[0].key}
        fields: dict[str, Any] = {"duedate": action.due_at.date().isoformat(), "labels": [label]}
        if action.assignee:
            fields["assignee"] = self.gateway.user_ref(action.assignee)
        description = action.description + _participants(action.participants)
        pm_key = self.gateway.create_issue(
            self.section.project,
            self.section.issue_types.postmortem,
            action.summary[: SUMMARY_LIMIT - 1],
            description,
            fields=fields,
            linked_from=(link.name, key),
        )
        return {"postmortem": pm_key}

    @perform.register
    def open_bypass(self, action: OpenBypass, nothing: Target, idem: str) -> Result:
        """An Emergency Change in the bypass project, labelled as a bypass and with the deploy's own label,
        which a retry searches for before it creates another; its category (a select field: the option
        by its value) and impact are set as the engineer's would be (R1)."""
        bypass = self.bypass or Bypass()
        project, label = bypass.project or self.section.project, deploy_label(action.deploy.deploy_id)
        found = self.gateway.search(f'labels = "{label}"', fields=["summary"], max_results=1).issues
        if found:
            return {"change": found[0].key, "remote_id": found[0].id, "skipped": "bypass change exists"}
        fields: dict[str, Any] = {"labels": [bypass.label, label]}
        if action.assignee:
            fields["assignee"] = self.gateway.user_ref(action.assignee)
        given = (
            ("category", action.category),
            ("impact", action.description),
            ("deployed_at", action.deploy.at.isoformat()),
        )
        for logical, value in given:
            if value is not None and logical in self.field_ids:
                fields[self.field_ids[logical]] = self._value(
                    getattr(self.section.fields, logical).type, value
                )
        summary = action.summary[: SUMMARY_LIMIT - 1]
        key = self.gateway.create_issue(
            project, self.section.issue_types.change, summary, action.description, fields=fields
        )
        return {"change": key}

    @perform.register
    def update_fields(self, action: UpdateFields, change: Target, idem: str) -> Result:
        fields: dict[str, Any] = {}
        for logical, value in action.fields.items():
            field_id = self.field_ids.get(logical)
            if field_id is None:
                continue
            kind = getattr(self.section.fields, logical).type
            fields[field_id] = self._value(kind, value)
        if fields:
            self.gateway.edit_issue(_key(change), fields)
        return {"updated": sorted(fields)}

    @perform.register
    def take_step(self, action: Transition, change: Target, idem: str) -> Result:
        """A step a person asked for, taken as the connector, which alone is offered it (Data Center). The
        transition carries the note, so a retry that finds it knows the step was taken."""
        key, target, ref = _key(change), action.to_status, reference(idem)
        if any(ref in existing.body for existing in self.gateway.comments(key)):
            return {"skipped": "taken already", "status": target}
        status = self.gateway.get_issue(key, fields=["status"]).status
        if status.casefold() == target.casefold():
            return {"skipped": f"already in {target}"}
        if action.from_status and status.casefold() != action.from_status.casefold():
            return self.comment(
                Comment(f"{action.comment} Not taken: the change moved on to {status} meanwhile."),
                change,
                idem,
            ) | {"skipped": f"moved on to {status} meanwhile"}
        options = [t for t in self.gateway.transitions(key) if t.to_status.casefold() == target.casefold()]
        chosen = next((t for t in options if not t.name.startswith((REVERT_PREFIX, GATE_PREFIX))), None)
        if chosen is None:
            raise Unavailable(f"{key}: no transition to {target} is offered to the connector")
        self.gateway.transition(
            key, chosen.id, comment=_signed(action.comment, ref) if action.comment else None
        )
        return {"status": target, "transition": chosen.name}

    @perform.register
    def set_gate(self, action: SetGate, change: Target, idem: str) -> Result:
        """Write the steps the procedure allows now into the gate field, through the connector-only loop
        transition whose screen holds it (the field is on no other screen, so nobody else can set it),
        and comment what opened or is missing. The note goes with the transition (one request: both
        happen, or neither), so a retry that finds the field written finds the note by its reference.
        The loop of each status is remembered by project once listed (the workflow is the project's);
        one refused is listed again."""
        key, value = _key(change), ",".join(action.open)
        field_id = self.field_ids.get(action.field)
        if field_id is None:
            return {"skipped": f"no field {getattr(self.section.fields, action.field).name!r} in Jira"}
        result: Result = {"gate": value}
        engineer_id = self.field_ids.get("engineer") if action.engineer else None
        ref = reference(idem)
        for attempt in range(GATE_TRIES):  # each status has its own loop: a person may move it meanwhile
            status, wanted = self._gate_writes(key, field_id, value, engineer_id, action.engineer)
            if not wanted:
                break
            place = (key.rsplit("-", 1)[0], status.casefold())
            loop = self._gate_loops.get(place) or next(
                (t.id for t in self.gateway.transitions(key) if t.name.startswith(GATE_PREFIX)), None
            )
            if loop is None:  # retried later: the workflow or the connector's group may be being fixed
                raise Unavailable(f"{key}: no gate transition is offered to the connector")
            note = _signed(action.note, ref) if action.note else None
            try:
                self.gateway.transition(key, loop, fields=wanted, comment=note)
                self._gate_loops[place] = loop
                return result | ({"comment": "with the gate"} if note else {})
            except Rejected:
                self._gate_loops.pop(place, None)
                if attempt == GATE_TRIES - 1:
                    raise
        if action.note:  # the field already showed it: the note was written with it, or is written now
            result |= self.comment(Comment(action.note), change, idem)
        return result

    def _gate_writes(
        self, key: str, gate_id: str, value: str, engineer_id: str | None, engineer: str
    ) -> tuple[str, dict[str, Any]]:
        """The issue's status, and the fields of the gate screen whose value differs from what the
        connector wants there."""
        read = [gate_id, *([engineer_id] if engineer_id else [])]
        issue = self.gateway.get_issue(key, fields=read)
        fields = issue.fields
        wanted: dict[str, Any] = {}
        if (fields.get(gate_id) or "") != value:
            wanted[gate_id] = value
        if engineer_id and (fields.get(engineer_id) or "") != engineer:
            wanted[engineer_id] = self.gateway.user_ref(engineer)
        if wanted and gate_id not in wanted:
            wanted[gate_id] = value  # the loop's screen is written as a whole
        return issue.status, wanted

    @perform.register
    def show_missing(self, action: ShowMissing, change: Target, idem: str) -> Result:
        """One comment of the connector's says what the next step still needs; edited in place when that
        changes (found by a marker fixed per change), so the issue shows it current without a new comment
        per fact."""
        key = _key(change)
        marker = reference(f"missing:{key}")
        body = _signed(action.text, marker)
        known = self._missing_comments.get(key)
        if known is not None:  # edited in place without reading the comments again (PUT is idempotent)
            try:
                self.gateway.update_comment(key, known, body)
                return {"comment": known, "updated": True}
            except NotFound:  # deleted meanwhile: looked up again, or written afresh
                self._missing_comments.pop(key, None)
        found = next((c for c in self.gateway.comments(key) if marker in c.body), None)
        if found is None:
            self._missing_comments[key] = comment_id = self.gateway.add_comment(key, body)
            return {"comment": comment_id}
        self._missing_comments[key] = found.id
        if found.body.strip() == body.strip():
            return {"skipped": "shown already", "comment": found.id}
        self.gateway.update_comment(key, found.id, body)
        return {"comment": found.id, "updated": True}

    @perform.register
    def record_evidence(self, action: RecordEvidence, change: Target, idem: str) -> Result:
        """The evidence packet's hash and the audit checkpoint, as a comment on the change at close."""
        return self.comment(Comment(ticket_note(_key(change), action.seal or {})), change, idem)

    @perform.register
    def add_label(self, action: AddLabel, change: Target, idem: str) -> Result:
        self.gateway.add_labels(_key(change), [action.label])
        return {"label": action.label}

    def _value(self, kind: str, value: str) -> Any:
        if kind == "user":
            return self.gateway.user_ref(value)
        if kind == "datetime":
            return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S.000%z")
        if kind == "select":
            return {"value": value}  # an option by its value, as Jira's create and edit take it
        return value


def _signed(body: str, ref: str) -> str:
    return f"{body}\n\n— ECM Connector ({ref})"


def _participants(people: Iterable[str]) -> str:
    people = list(people)
    return ("\n\nParticipants: " + ", ".join(people)) if people else ""


def _key(change: Target) -> str:
    if change.key is None:
        raise LookupError("a Jira action needs the change's issue key")
    return change.key
