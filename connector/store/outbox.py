"""Outbox actions to and from the JSON of an outbox row: the only place that reads or writes it.

A row keeps the action's name in `action` and, in `payload`, the change's `key` and `remote_id` with the
action's fields (a row about no change has `"key": null` and no `remote_id`). Rows written by earlier
versions lack fields added since (a revert's `from_status` and what it judged, a notice's recipients,
a post-mortem's assignee and participants, the change's `remote_id`); they decode with the defaults
those versions meant, so a row queued before an upgrade is still performed after it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from connector.commands import Deploy
from connector.outbox import (
    Action,
    AddLabel,
    AnswerProtectionRule,
    CatchUp,
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

Payload = dict[str, Any]


class UnknownAction(ValueError):
    """An outbox row whose action this version does not know."""


def encode(target: Target, action: Action) -> Payload:
    """The row's payload for `action` about `target`."""
    where: Payload = (
        {"key": target.key} if target.key is None else {"key": target.key, "remote_id": target.remote_id}
    )
    match action:
        case Revert(to_status=to, from_status=violating, comment=comment):
            fields: Payload = {"to_status": to, "from_status": violating, "comment": comment}
            if action.attempted:
                fields |= {
                    "attempted": action.attempted,
                    "actor": action.actor,
                    "at": action.at.isoformat() if action.at else None,
                    "origin": action.origin,
                }
        case Comment(body=body):
            fields = {"body": body}
        case Notify():
            fields = {
                "kind": action.kind,
                "subject": action.subject,
                "body": action.body,
                "users": list(action.users),
                "groups": list(action.groups),
            } | _at(action.at)
        case CreatePostMortem():
            fields = {
                "summary": action.summary,
                "description": action.description,
                "due_at": action.due_at.isoformat(),
                "assignee": action.assignee,
                "participants": list(action.participants),
            }
        case UpdateFields(fields=values):
            fields = {"fields": dict(values)}
        case AddLabel(label=label):
            fields = {"label": label}
        case RaiseEvent():
            fields = {"name": action.name, "parm1": action.parm1, "parm2": action.parm2}
            fields |= {k: v for k, v in (("subject", action.subject), ("body", action.body)) if v}
            fields |= _at(action.at)
        case RequestApprovals(groups=groups):
            fields = {"groups": list(groups)}
        case RecordEvidence():
            fields = {}  # the seal is made when the action is performed, never stored
        case CatchUp():
            fields = {}
        case Transition(to_status=to, from_status=current, comment=comment):
            fields = {"to_status": to, "from_status": current, "comment": comment}
        case SetGate(field=name, open=entries, note=note, engineer=engineer):
            fields = {"field": name, "open": list(entries), "note": note, "engineer": engineer}
        case AnswerProtectionRule():
            fields = {
                "callback_url": action.callback_url,
                "installation_id": action.installation_id,
                "environment": action.environment,
                "state": action.state,
                "comment": action.comment,
            }
        case ShowMissing(text=text):
            fields = {"text": text}
        case OpenBypass():
            fields = {
                "summary": action.summary,
                "description": action.description,
                "deploy": action.deploy.evidence(),
                "assignee": action.assignee,
                "named": action.named,
                "category": action.category,
            }
    return where | fields


def _at(moment: datetime | None) -> Payload:
    """When an alert was raised, kept only when known (rows from earlier versions have none)."""
    return {"at": moment.isoformat()} if moment else {}


def _when(p: Payload) -> datetime | None:
    return datetime.fromisoformat(p["at"]) if p.get("at") else None


def decode(action: str, payload: Payload) -> tuple[Target, Action]:
    """The target and the typed action of a row, whatever version wrote it."""
    read = DECODERS.get(action)
    if read is None:
        raise UnknownAction(f"unknown outbox action {action!r}")
    return target(payload), read(payload)


def target(payload: Payload) -> Target:
    """What a row is about (also for a row whose action cannot be decoded)."""
    return Target(payload.get("key"), payload.get("remote_id"))


def _revert(p: Payload) -> Revert:
    at = datetime.fromisoformat(p["at"]) if p.get("at") else None
    return Revert(
        p["to_status"],
        p.get("from_status"),
        p.get("comment"),
        p.get("attempted"),
        p.get("actor"),
        at,
        p.get("origin"),
    )


def _notify(p: Payload) -> Notify:
    users, groups = tuple(p.get("users") or ()), tuple(p.get("groups") or ())
    return Notify(p.get("kind", "notify"), p.get("subject", ""), p.get("body", ""), users, groups, _when(p))


def _postmortem(p: Payload) -> CreatePostMortem:
    due = datetime.fromisoformat(p["due_at"])
    return CreatePostMortem(
        p["summary"], p["description"], due, p.get("assignee"), tuple(p.get("participants") or ())
    )


def _event(p: Payload) -> RaiseEvent:
    return RaiseEvent(
        p["name"], p.get("parm1", ""), p.get("parm2", ""), p.get("subject", ""), p.get("body", ""), _when(p)
    )


def _bypass(p: Payload) -> OpenBypass:
    return OpenBypass(
        p["summary"],
        p["description"],
        deploy_of(p["deploy"]),
        p.get("assignee"),
        p.get("named"),
        p.get("category"),  # rows from earlier versions have none
    )


def deploy_of(facts: Payload) -> Deploy:
    """The deploy whose `evidence()` these are."""
    return Deploy(
        source=facts["source"],
        deploy_id=facts["deploy_id"],
        environment=facts["environment"],
        at=datetime.fromisoformat(facts["deployed_at"]),
        repository=facts["repository"],
        **{k: facts.get(k) for k in ("sha", "ref", "version", "deployer", "url")},
    )


DECODERS: dict[str, Callable[[Payload], Action]] = {
    Revert.ACTION: _revert,
    Comment.ACTION: lambda p: Comment(p["body"]),
    Notify.ACTION: _notify,
    CreatePostMortem.ACTION: _postmortem,
    UpdateFields.ACTION: lambda p: UpdateFields(dict(p.get("fields") or {})),
    AddLabel.ACTION: lambda p: AddLabel(p["label"]),
    RaiseEvent.ACTION: _event,
    RequestApprovals.ACTION: lambda p: RequestApprovals(tuple(p.get("groups") or ())),
    RecordEvidence.ACTION: lambda p: RecordEvidence(),
    CatchUp.ACTION: lambda p: CatchUp(),
    Transition.ACTION: lambda p: Transition(p["to_status"], p.get("from_status"), p.get("comment")),
    SetGate.ACTION: lambda p: SetGate(
        p["field"], tuple(p.get("open") or ()), p.get("note") or "", p.get("engineer") or ""
    ),
    ShowMissing.ACTION: lambda p: ShowMissing(p.get("text") or ""),
    OpenBypass.ACTION: _bypass,
    AnswerProtectionRule.ACTION: lambda p: AnswerProtectionRule(
        p["callback_url"], p["installation_id"], p["environment"], p["state"], p["comment"]
    ),
}
