"""Typed events parsed from webhook deliveries (and built by reconciliation from queries).

Parsers know the tool's wire format but not the mapping: they report issue types, status names,
field ids and comment bodies as the tool sent them. The tool's translator (`connector/jira/translate.py`,
`connector/servicenow/translate.py`) turns them into commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Delivery:
    """One received webhook delivery, before any processing."""

    source: str  # "jira" | "servicenow" | "reconcile"
    delivery_id: str  # X-Atlassian-Webhook-Identifier, X-ECM-Event-Id, or a reconcile id
    event_type: str  # webhookEvent / "<table>.<operation>"
    issue_key: str | None
    received_at: datetime
    body: bytes = field(repr=False, default=b"")
    retry: int = 0


@dataclass(frozen=True)
class FieldChange:
    field: str  # field id where the tool gives one (customfield_10010, state), else the field name
    name: str  # display name ("Pull Request", "status")
    old: str | None
    new: str | None


@dataclass(frozen=True)
class IssueEvent:
    """Common part of every event about an issue / record."""

    tool: str
    key: str  # Jira issue key / ServiceNow number (CHG..., CTASK...)
    remote_id: str  # Jira issue id / ServiceNow sys_id
    issue_type: str  # Jira issue type name / ServiceNow table ("change_request", "change_task", ...)
    actor: str  # authenticated actor: Jira accountId (Cloud) or user name (DC); ServiceNow user_name
    at: datetime
    status: str | None = None  # status name / state value now
    fields: Mapping[str, str | None] = field(default_factory=dict, compare=False, hash=False)
    parent_key: str | None = None  # Post-Mortem's change (Jira link) / change_task's change_request
    # What happened, named stably across webhook and reconciliation ("comment:10042", "changelog:10234"):
    # the same subject arriving twice, by whatever route, is processed once.
    subject_id: str | None = None


@dataclass(frozen=True)
class IssueCreated(IssueEvent):
    pass


@dataclass(frozen=True)
class IssueUpdated(IssueEvent):
    changes: tuple[FieldChange, ...] = ()

    def status_change(self) -> FieldChange | None:
        return next((c for c in self.changes if c.name.lower() in ("status", "state")), None)


@dataclass(frozen=True)
class CommentAdded(IssueEvent):
    comment_id: str = ""
    body: str = ""


@dataclass(frozen=True)
class ApprovalUpdated(IssueEvent):
    """ServiceNow `sysapproval_approver` record changed; `actor` is the approver's own account."""

    approval_id: str = ""
    approver: str = ""
    group: str | None = None
    state: str = ""  # requested | approved | rejected | cancelled | not_required
    comments: str = ""


@dataclass(frozen=True)
class Ignored:
    """A valid delivery the connector does not act on, with the reason (recorded, answered 2xx)."""

    reason: str
    key: str | None = None


@dataclass(frozen=True)
class DeployReported:
    """A pipeline reports a deploy (a GitHub deployment or its status, the generic deploy hook). Which
    change it belongs to is decided later, from `texts` and the mappings' `deploys:` sections."""

    source: str  # "github" | "pipeline"
    deploy_id: str  # the same for a deployment, each of its statuses and every retry: "<repo>#<id>"
    state: str  # GitHub's deployment status state ("success", ...); "created" for a new deployment
    environment: str
    at: datetime  # when it was deployed: the status's created_at / the hook's deployed_at
    repository: str  # repository full name, or the service the hook names
    sha: str | None = None
    ref: str | None = None
    version: str | None = None
    deployer: str | None = None  # the pipeline's login of who deployed (not a tool identity)
    url: str | None = None  # where the deploy is shown (status target or log URL, deployment URL)
    texts: tuple[tuple[str, str], ...] = ()  # (where, text) to look for a change key: payload, ref, ...


@dataclass(frozen=True)
class ProtectionRuleRequested:
    """GitHub asks whether a deployment may proceed (a custom deployment protection rule)."""

    deploy_id: str
    environment: str
    callback_url: str
    installation_id: str | None
    repository: str
    at: datetime
    sha: str | None = None
    ref: str | None = None
    deployer: str | None = None
    texts: tuple[tuple[str, str], ...] = ()


Event = IssueCreated | IssueUpdated | CommentAdded | ApprovalUpdated
