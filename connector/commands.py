"""Commands: what the connector is asked to do, tool-independent.

Translators build them from typed inbound events (webhooks and reconciliation alike); the
outbox dispatcher and the jobs build them from what they learn. `services.handle` runs each one
inside a unit of work. `origin` is the delivery id (or job run) that caused the command: it makes
the outbox rows it produces idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.procedure.model import Method, ReviewKind, Role, Stage


@dataclass(frozen=True)
class Command:
    tool: str
    key: str
    actor: str
    at: datetime
    origin: str


@dataclass(frozen=True)
class RegisterChange(Command):
    """Create the change on first sight, or refresh what the tool says of it (category, impact, title)."""

    remote_id: str = ""
    engineer: str = ""
    title: str = ""
    project: str = ""
    url: str | None = None
    category: str | None = None
    impact: str | None = None
    stage: Stage | None = None
    remote_status: str | None = None
    # False when the event does not carry the change's fields (Jira's comment_created): a change first
    # seen so is registered, read again from the tool, and judged and announced once that is done.
    complete: bool = True


@dataclass(frozen=True)
class RecordTransition(Command):
    to_stage: Stage = Stage.IDENTIFIED
    to_status: str = ""
    from_status: str | None = None


@dataclass(frozen=True)
class RecordApproval(Command):
    """Written approval by `actor`, or a verbal one recorded by `actor` naming `approver`."""

    role: Role | None = None
    method: Method = Method.WRITTEN
    approver: str | None = None  # verbal: the approver named in the comment (resolved identity)
    channel: str | None = None
    evidence: str = ""


@dataclass(frozen=True)
class ConfirmApproval(Command):
    evidence: str = ""


@dataclass(frozen=True)
class RecordRejection(Command):
    reason: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class RecordReview(Command):
    kind: ReviewKind = ReviewKind.PEER
    evidence: str = ""


@dataclass(frozen=True)
class RecordLink(Command):
    kind: str = "pr"  # "pr" | "docs" | "close_code"
    url: str = ""


@dataclass(frozen=True)
class RecordPostMortemCreated(Command):
    """The post-mortem task exists in the tool (key is the change's key)."""

    postmortem_key: str = ""


@dataclass(frozen=True)
class UpdatePostMortem(Command):
    """The post-mortem task changed (key is the post-mortem's own key)."""

    done: bool = False
    report_url: str | None = None


@dataclass(frozen=True)
class AnswerCommand(Command):
    """A comment command the connector cannot accept: answer with a comment saying why."""

    reason: str = ""


@dataclass(frozen=True)
class RestoreGate(Command):
    """Someone other than the connector wrote the gate field: set it back to what the rules allow."""

    found: str | None = None  # the value they wrote


@dataclass(frozen=True)
class RequestStep(Command):
    """A person asks the connector to take a guarded step (`/deploy`, `/close`) that only it may take."""

    to_stage: Stage = Stage.DEPLOYED
