"""Typed events parsed from webhook deliveries (and built by reconciliation from queries).

Parsers know the tool's wire format but not the mapping: they report issue types, status names,
field ids and comment bodies as the tool sent them. The tool's translator (`connector/jira/translate.py`,
`connector/servicenow/translate.py`) turns them into commands.
"""

from __future__ import annotations

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
    fields: dict[str, str | None] = field(default_factory=dict, compare=False, hash=False)
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


Event = IssueCreated | IssueUpdated | CommentAdded | ApprovalUpdated
