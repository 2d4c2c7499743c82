"""The recorded facts of an emergency change and the answers the rules give.

Standard library only. Every identity here is the tool's authenticated actor
(Jira accountId or user name, ServiceNow user name), never a typed-in name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    IDENTIFIED = "identified"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    DEPLOYED = "deployed"
    POSTMORTEM = "postmortem"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


TERMINAL_STAGES = frozenset({Stage.CLOSED, Stage.CANCELLED, Stage.REJECTED})


class Role(StrEnum):
    LEAD = "lead"
    SECURITY = "security"


class Method(StrEnum):
    WRITTEN = "written"
    VERBAL = "verbal"


class ReviewKind(StrEnum):
    PEER = "peer"
    SECURITY = "security"


@dataclass(frozen=True)
class Groups:
    """Membership of the two approver groups at the time of a decision."""

    leads: frozenset[str] = frozenset()
    security: frozenset[str] = frozenset()

    def roles_of(self, actor: str) -> frozenset[Role]:
        roles = set()
        if actor in self.leads:
            roles.add(Role.LEAD)
        if actor in self.security:
            roles.add(Role.SECURITY)
        return frozenset(roles)


@dataclass(frozen=True)
class Approval:
    approver: str
    role: Role
    method: Method
    granted_at: datetime
    recorded_by: str
    evidence: str  # e.g. "comment:10042", "transition:Approve as Lead", "sysapproval_approver:<sys_id>"
    channel: str | None = None  # verbal only: phone, slack, bridge call, ...
    confirm_by: datetime | None = None  # verbal only: written confirmation deadline (R4)
    confirmed_at: datetime | None = None
    confirmation_evidence: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.method is Method.WRITTEN or self.confirmed_at is not None


@dataclass(frozen=True)
class Rejection:
    by: str
    role: Role | None
    at: datetime
    reason: str
    evidence: str


@dataclass(frozen=True)
class Review:
    reviewer: str
    kind: ReviewKind
    at: datetime
    evidence: str


@dataclass(frozen=True)
class PostMortem:
    key: str
    created_at: datetime
    due_at: datetime
    assignee: str | None = None
    participants: tuple[str, ...] = ()
    done_at: datetime | None = None
    report_url: str | None = None

    @property
    def done(self) -> bool:
        return self.done_at is not None and bool(self.report_url)


@dataclass(frozen=True)
class Change:
    """Everything the connector knows about one emergency change."""

    tool: str  # the name of the tool the change lives in, as its mapping names it
    key: str
    engineer: str
    stage: Stage
    created_at: datetime
    category: str | None = None
    impact: str | None = None
    notified_at: datetime | None = None
    approvals: tuple[Approval, ...] = ()
    rejection: Rejection | None = None
    reviews: tuple[Review, ...] = ()
    deployed_at: datetime | None = None
    postmortem: PostMortem | None = None
    pr_url: str | None = None
    docs_url: str | None = None
    close_code: str | None = None  # documentation where the policy says a close code documents a change
    closed_at: datetime | None = None
    title: str = ""
    project: str = ""
    team: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def approval_for(self, role: Role) -> Approval | None:
        for approval in self.approvals:
            if approval.role is role:
                return approval
        return None

    def review_for(self, kind: ReviewKind) -> Review | None:
        for review in self.reviews:
            if review.kind is kind:
                return review
        return None


@dataclass(frozen=True)
class Violation:
    rule: str  # "R1" .. "R10"
    step: int  # procedure step of ENG-PROC-004 (1..5)
    message: str  # one sentence a person understands
    missing: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.rule} (ENG-PROC-004 step {self.step}): {self.message}"
        if self.missing:
            text += " Missing: " + "; ".join(self.missing) + "."
        return text


@dataclass(frozen=True)
class Decision:
    violations: tuple[Violation, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.rule for v in self.violations))


ALLOWED = Decision()
