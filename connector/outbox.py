"""The outbound actions the connector asks of a tool, as values.

The service layer and the SLA and drift use cases decide them; the unit of work's outbox queues one
(`uow.outbox.enqueue`) with its idempotency key (`address`) in the same transaction as the decision; the
store keeps them as JSON (`connector/store/outbox.py`, the only place that reads or writes that JSON);
the dispatcher hands them to the tool's actions (`connector/jira/actions.py`,
`connector/servicenow/actions.py`), which perform each by its type. Every action is about one
`Target`: the change (its key and the tool's id for it), or nothing (a drift alert).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from connector.commands import Deploy

if TYPE_CHECKING:
    from connector.store.tables import ChangeRow


@dataclass(frozen=True)
class Target:
    """What an action is about: the change's key and the tool's id of it, or None for no change."""

    key: str | None
    remote_id: str | None = None


@dataclass(frozen=True)
class Revert:
    """Move the change back to `to_status` unless it moved on from `from_status`, saying why."""

    ACTION: ClassVar[str] = "revert"  # the outbox row's action

    to_status: str
    from_status: str | None = None
    comment: str | None = None
    # What was judged a violation, so that it is judged again when performed (`services.reverts`):
    attempted: str | None = None  # the stage the change was moved to
    actor: str | None = None  # who moved it
    at: datetime | None = None  # when
    origin: str | None = None  # the delivery that told of it


@dataclass(frozen=True)
class Comment:
    ACTION: ClassVar[str] = "comment"  # the outbox row's action

    body: str


@dataclass(frozen=True)
class Notify:
    """An alert of a kind (created, violation, reminder, ...) to people and groups."""

    ACTION: ClassVar[str] = "notify"  # the outbox row's action

    kind: str
    subject: str
    body: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    at: datetime | None = None  # when it was raised (a ServiceNow event's process_on); None: when sent


@dataclass(frozen=True)
class CreatePostMortem:
    ACTION: ClassVar[str] = "create_postmortem"  # the outbox row's action

    summary: str
    description: str
    due_at: datetime
    assignee: str | None = None
    participants: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateFields:
    """Logical field (a mapping's `fields` key) -> value, written to the change."""

    ACTION: ClassVar[str] = "update_fields"  # the outbox row's action

    fields: Mapping[str, str] = field(default_factory=dict)

    def then(self, later: UpdateFields) -> UpdateFields:
        """This update with `later`'s fields laid over it (the last write wins)."""
        return UpdateFields({**self.fields, **later.fields})


@dataclass(frozen=True)
class AddLabel:
    ACTION: ClassVar[str] = "add_label"  # the outbox row's action

    label: str


@dataclass(frozen=True)
class RaiseEvent:
    """A ServiceNow `sysevent` by name; its installed notification mails parm1 / parm2."""

    ACTION: ClassVar[str] = "event"  # the outbox row's action

    name: str
    parm1: str = ""
    parm2: str = ""
    subject: str = ""
    body: str = ""
    at: datetime | None = None  # its process_on: when the alert was raised; None: when it is fired


@dataclass(frozen=True)
class RequestApprovals:
    ACTION: ClassVar[str] = "request_approvals"  # the outbox row's action

    groups: tuple[str, ...]


@dataclass(frozen=True)
class RecordEvidence:
    """The evidence seal on the ticket at close; `seal` is filled by the dispatcher when it is written."""

    ACTION: ClassVar[str] = "record_evidence"  # the outbox row's action

    seal: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CatchUp:
    """Read the change from the tool and replay what its webhooks missed (performed by the dispatcher
    itself, `connector.reconcile.catch_up`): a change first seen from a comment is so completed."""

    ACTION: ClassVar[str] = "catch_up"  # the outbox row's action


@dataclass(frozen=True)
class SetGate:
    """Write the steps the procedure allows now (`approved`, `deployed`, `closed`, `closed?close_code`)
    into the tool's connector-owned gate field, with a note on the ticket when `note` says something.
    `engineer` is the change's engineer, written beside the gate where the tool refuses her the approval
    steps by it (Jira Cloud's *ECM Engineer*); empty where the tool needs none."""

    ACTION: ClassVar[str] = "set_gate"  # the outbox row's action

    field: str
    open: tuple[str, ...] = ()
    note: str = ""
    engineer: str = ""


@dataclass(frozen=True)
class ShowMissing:
    """Show on the ticket, in one place kept current, the next guarded step and what it still needs
    (Jira: one comment of the connector's, edited in place; ServiceNow: a field only it writes)."""

    ACTION: ClassVar[str] = "show_missing"  # the outbox row's action

    text: str


@dataclass(frozen=True)
class Transition:
    """Take a step a person asked for, as the connector (the only account the guarded transition is
    offered to), unless the change moved on from `from_status` meanwhile."""

    ACTION: ClassVar[str] = "transition"  # the outbox row's action

    to_status: str
    from_status: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class OpenBypass:
    """Open the retroactive emergency change of a production deploy that had no approved one, marked as a
    bypass (a Jira label, a ServiceNow flag column), assigned to the deployer where the tool knows them,
    with the critical issue category the mapping gives bypasses (`deploys.bypass.category`, R1) and the
    deploy's facts as its impact. It is about no change yet; its idempotency key names the deploy, so it
    is opened once."""

    ACTION: ClassVar[str] = "open_bypass"  # the outbox row's action

    summary: str
    description: str
    deploy: Deploy
    assignee: str | None = None  # the deployer's identity in the tool, when it could be resolved
    named: str | None = None  # the change the deploy named, when it named one not approved
    category: str | None = None  # the critical issue category it is opened with (one of the mapping's)


@dataclass(frozen=True)
class AnswerProtectionRule:
    """Answer a GitHub custom deployment protection rule at its callback, as the connector's GitHub App."""

    ACTION: ClassVar[str] = "answer_protection_rule"  # the outbox row's action

    callback_url: str
    installation_id: str
    environment: str
    state: str  # "approved" | "rejected"
    comment: str


Action = (
    Revert
    | Comment
    | Notify
    | CreatePostMortem
    | UpdateFields
    | AddLabel
    | RaiseEvent
    | RequestApprovals
    | RecordEvidence
    | CatchUp
    | SetGate
    | ShowMissing
    | Transition
    | OpenBypass
    | AnswerProtectionRule
)


PERSON_REF = re.compile(r"\[\[ecm-person:([^\]\s]{1,128})\]\]")


def person_ref(identity: str) -> str:
    """A person named in an action's text before the connector knows the display name: the dispatcher
    writes the name there when it performs the action (`with_names`), so handling a webhook never waits
    for the tool to tell a name."""
    return f"[[ecm-person:{identity}]]"


def with_names(action: Action, name_of: Callable[[str], str]) -> Action:
    """`action` with every person reference in its texts replaced by that person's display name."""
    changes = {
        f.name: PERSON_REF.sub(lambda found: name_of(found.group(1)), value)
        for f in dataclasses.fields(action)
        if isinstance(value := getattr(action, f.name), str) and "[[ecm-person:" in value
    }
    return dataclasses.replace(action, **changes) if changes else action


def address(tool: str, change: ChangeRow | None, action: Action, tag: str) -> tuple[Target, str, int | None]:
    """(target, idempotency key, change id) of `action` about `change`, queued once under `tag`: the key is
    "<tool>:<change key>:<action>:<tag>", or "<tool>:<tag>" about no change ("servicenow:drift:<marker>").
    The one place the keys are made; the outbox's `enqueue` (`connector/store/repositories.py`) asks it."""
    if change is None:
        return Target(None), f"{tool}:{tag}", None
    return Target(change.key, change.remote_id), f"{tool}:{change.key}:{action.ACTION}:{tag}", change.id
