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


@dataclass(frozen=True)
class Deploy:
    """A production deploy a pipeline reported: what went out where, when, by whom, shown where."""

    source: str  # "github" | "pipeline"
    deploy_id: str  # the same for every report of one deploy: GitHub "<repo>#<deployment id>"
    environment: str
    at: datetime  # the pipeline's deploy time
    repository: str  # repository, or the service the pipeline names
    sha: str | None = None
    ref: str | None = None
    version: str | None = None
    deployer: str | None = None  # the pipeline's login of who deployed
    url: str | None = None

    def evidence(self) -> dict[str, str]:
        """The deploy's facts as the audit entry, the ticket and the packet show them."""
        fields = {
            "source": self.source,
            "deploy_id": self.deploy_id,
            "environment": self.environment,
            "deployed_at": self.at.isoformat(),
            "repository": self.repository,
            "sha": self.sha,
            "ref": self.ref,
            "version": self.version,
            "deployer": self.deployer,
            "url": self.url,
        }
        return {k: v for k, v in fields.items() if v}


@dataclass(frozen=True)
class ReportDeploy:
    """A production deploy to match to its emergency change: the (tool, key) pairs named, in the order the
    mapping looks for them; none when it names no change."""

    deploy: Deploy
    candidates: tuple[tuple[str, str], ...]
    origin: str
    received_at: datetime | None = None  # when the report came in (the deploy's own time is `deploy.at`)


@dataclass(frozen=True)
class RecordDeploy(Command):
    """The pipeline deployed the change (`key`) at `at`: judged and recorded like the ticket's Deploy."""

    deploy: Deploy | None = None


@dataclass(frozen=True)
class RegisterBypass(Command):
    """The tool created the retroactive change (`key`) of a production deploy without an approved one."""

    deploy: Deploy | None = None
    remote_id: str = ""
    url: str | None = None
    title: str = ""
    engineer: str = ""  # the deployer as the tool knows them, else the connector's account
    named: str | None = None  # the change the deploy named, when it named one that was not approved
    category: str | None = None  # the critical issue category the tool's change was opened with


@dataclass(frozen=True)
class ReviewDeployment:
    """GitHub asks whether a deployment may proceed (a custom deployment protection rule): the gate is
    asked for the change it names, and the answer goes to `callback_url`."""

    deploy_id: str
    environment: str
    repository: str
    callback_url: str
    installation_id: str
    candidates: tuple[tuple[str, str], ...]
    at: datetime
    origin: str
