"""Outbox actions performed on Jira. Each one is idempotent: it looks before it writes, so a crash
between the remote call and the commit repeats nothing a person would see."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connector.evidence.seal import ticket_note
from connector.jira.gateway import JiraGateway
from connector.mapping import JiraSection

REVERT_PREFIX = "ECM revert to "


def reference(idempotency_key: str) -> str:
    """A short marker written into every comment, found again on a retry."""
    return "ecm-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]


def postmortem_label(change_key: str) -> str:
    return f"ecm-postmortem-{change_key}".lower()


class JiraActions:
    def __init__(self, gateway: JiraGateway, section: JiraSection, field_ids: Mapping[str, str]):
        self.gateway, self.section, self.field_ids = gateway, section, field_ids
        self.table: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "revert": self.revert,
            "comment": self.comment,
            "notify": self.notify,
            "create_postmortem": self.create_postmortem,
            "update_fields": self.update_fields,
            "add_label": self.add_label,
            "record_evidence": self.record_evidence,
        }

    def perform(self, action: str, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self.table[action](payload, idempotency_key)

    def revert(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        """The transition carries the comment, so a retry that finds the comment knows the revert was
        done, even if someone has since moved the issue back to the violating status."""
        key, target, text = payload["key"], payload["to_status"], payload.get("comment")
        ref = reference(idem)
        if text and any(ref in existing.body for existing in self.gateway.comments(key)):
            return {"skipped": "reverted already", "reverted_to": target}
        issue = self.gateway.get_issue(key, fields=["status"])
        violating = payload.get("from_status")
        if issue.status.casefold() == target.casefold():
            result: dict[str, Any] = {"skipped": f"already in {target}"}
        elif violating and issue.status.casefold() != violating.casefold():
            result = {"skipped": f"moved on to {issue.status} meanwhile"}
        else:
            name = REVERT_PREFIX + target
            options = self.gateway.transitions(key)
            chosen = next((t for t in options if t.name.casefold() == name.casefold()), None) or next(
                (t for t in options if t.to_status.casefold() == target.casefold()), None
            )
            if chosen is None:
                raise LookupError(f"{key}: no transition back to {target} is offered to the connector")
            self.gateway.transition(key, chosen.id, comment=_signed(text, ref) if text else None)
            return {"reverted_to": target, "transition": chosen.name}
        if text:
            result |= self.comment({"key": key, "body": text}, idem)
        return result

    def comment(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        key, ref = payload["key"], reference(idem)
        for existing in self.gateway.comments(key):
            if ref in existing.body:
                return {"comment": existing.id, "skipped": "comment exists"}
        return {"comment": self.gateway.add_comment(key, _signed(payload["body"], ref))}

    def notify(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        self.gateway.notify(
            payload["key"],
            payload["subject"],
            payload["body"],
            users=payload.get("users", ()),
            groups=payload.get("groups", ()),
        )
        return {"notified": [*payload.get("users", ()), *payload.get("groups", ())]}

    def create_postmortem(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        """The post-mortem is created already linked ("<change> has post-mortem <new issue>", one
        request), so a retry after any crash finds it among the change's links, which Jira shows at once
        (search is eventually consistent and may not show a new issue yet)."""
        key, link = payload["key"], self.section.link_type
        change = self.gateway.get_issue(key, fields=["issuelinks", "status"])
        for existing in change.links:  # the change is the link's from-end: "<change> has post-mortem <pm>"
            if existing.type == link.name and existing.direction == "outward":
                return {"postmortem": existing.key, "skipped": "linked post-mortem exists"}
        label = postmortem_label(key)
        found = self.gateway.search(f'labels = "{label}"', fields=["summary"], max_results=1).issues
        if found:  # created unlinked by an earlier version of this action
            self.gateway.create_link(link.name, key, found[0].key)
            return {"postmortem": found[0].key}
        due = datetime.fromisoformat(payload["due_at"]).date().isoformat()
        fields: dict[str, Any] = {"duedate": due, "labels": [label]}
        if payload.get("assignee"):
            fields["assignee"] = self.gateway.user_ref(payload["assignee"])
        description = payload["description"] + _participants(payload.get("participants", ()))
        pm_key = self.gateway.create_issue(
            self.section.project,
            self.section.issue_types.postmortem,
            payload["summary"],
            description,
            fields=fields,
            linked_from=(link.name, key),
        )
        return {"postmortem": pm_key}

    def update_fields(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for logical, value in payload["fields"].items():
            field_id = self.field_ids.get(logical)
            if field_id is None:
                continue
            kind = getattr(self.section.fields, logical).type
            fields[field_id] = self._value(kind, value)
        if fields:
            self.gateway.edit_issue(payload["key"], fields)
        return {"updated": sorted(fields)}

    def record_evidence(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        """The evidence packet's hash and the audit checkpoint, as a comment on the change at close."""
        return self.comment({"key": payload["key"], "body": ticket_note(payload)}, idem)

    def add_label(self, payload: dict[str, Any], idem: str) -> dict[str, Any]:
        self.gateway.add_labels(payload["key"], [payload["label"]])
        return {"label": payload["label"]}

    def _value(self, kind: str, value: str) -> Any:
        if kind == "user":
            return self.gateway.user_ref(value)
        if kind == "datetime":
            return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S.000%z")
        return value


def _signed(body: str, ref: str) -> str:
    return f"{body}\n\n— ECM Connector ({ref})"


def _participants(people: Any) -> str:
    return ("\n\nParticipants: " + ", ".join(people)) if people else ""
