"""Store rows → the frozen facts of `connector.procedure.model`: the one place a change's facts are
built, for the services, the SLA job, the evidence packet and the population export.

`facts_of` takes the change row and its children as given: ORM rows (what `change_facts` passes), or
plain rows of a batch read (the export, the SLA job), whose times are aware UTC datetimes as read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from connector.procedure.model import (
    Approval,
    Change,
    Method,
    PostMortem,
    Rejection,
    Review,
    ReviewKind,
    Role,
    Stage,
    Violation,
)
from connector.store.tables import ChangeRow, ViolationRow

# stored value -> member: a dict lookup, several times cheaper than calling the enum (the export builds
# the facts of every change of a period)
STAGE = {m.value: m for m in Stage}
ROLE = {m.value: m for m in Role}
METHOD = {m.value: m for m in Method}
REVIEW_KIND = {m.value: m for m in ReviewKind}


class ChangeFields(Protocol):
    """What the facts are built from: a `ChangeRow`, or a change's row of a batch read."""

    tool: str
    key: str
    engineer: str
    stage: str
    created_at: datetime
    category: str | None
    impact: str | None
    notified_at: datetime | None
    rejected_by: str | None
    rejected_role: str | None
    rejected_at: datetime | None
    rejection_reason: str | None
    rejection_evidence: str | None
    deployed_at: datetime | None
    pr_url: str | None
    docs_url: str | None
    close_code: str | None
    closed_at: datetime | None
    title: str
    project: str
    team: str | None


class ApprovalFields(Protocol):
    """An `ApprovalRow`, or an approval's row of a batch read."""

    approver: str
    role: str
    method: str
    granted_at: datetime
    recorded_by: str
    evidence: str
    channel: str | None
    confirm_by: datetime | None
    confirmed_at: datetime | None
    confirmation_evidence: str | None


class ReviewFields(Protocol):
    """A `ReviewRow`, or a review's row of a batch read."""

    reviewer: str
    kind: str
    at: datetime
    evidence: str


class PostMortemFields(Protocol):
    """A `PostMortemRow`, the post-mortem's columns of its change's row in the export's batch read
    (`store/batches.py` PostMortemRecord), or of the SLA job's row (`store/sla.py`)."""

    key: str | None
    created_at: datetime | None
    due_at: datetime
    assignee: str | None
    participants: list[str] | None
    done_at: datetime | None
    report_url: str | None


def change_facts(row: ChangeRow) -> Change:
    """The facts of a change loaded through the ORM, with its approvals, reviews and post-mortem."""
    return facts_of(row, row.approvals, row.reviews, row.postmortem)


# The builders pass the fields in the order `connector.procedure.model` declares them (positional
# arguments cost a third less than keywords; tests/unit/store/test_facts.py checks each field).


def facts_of(
    row: ChangeFields,
    approvals: Iterable[ApprovalFields],
    reviews: Iterable[ReviewFields],
    postmortem: PostMortemFields | None,
) -> Change:
    return Change(
        row.tool,
        row.key,
        row.engineer,
        STAGE[row.stage],
        row.created_at,
        row.category,
        row.impact,
        row.notified_at,
        tuple(map(approval_facts, approvals)),
        rejection_facts(row),
        tuple(map(review_facts, reviews)),
        row.deployed_at,
        None if postmortem is None else postmortem_facts(postmortem, row),
        row.pr_url,
        row.docs_url,
        row.close_code,
        row.closed_at,
        row.title or "",
        row.project or "",
        row.team,
    )


def approval_facts(row: ApprovalFields) -> Approval:
    return Approval(
        row.approver,
        ROLE[row.role],
        METHOD[row.method],
        row.granted_at,
        row.recorded_by,
        row.evidence,
        row.channel,
        row.confirm_by,
        row.confirmed_at,
        row.confirmation_evidence,
    )


def rejection_facts(row: ChangeFields) -> Rejection | None:
    if row.rejected_by is None or row.rejected_at is None:
        return None
    return Rejection(
        row.rejected_by,
        ROLE[row.rejected_role] if row.rejected_role else None,
        row.rejected_at,
        row.rejection_reason or "",
        row.rejection_evidence or "",
    )


def review_facts(row: ReviewFields) -> Review:
    return Review(row.reviewer, REVIEW_KIND[row.kind], row.at, row.evidence)


def postmortem_facts(row: PostMortemFields, change: ChangeFields) -> PostMortem:
    """A post-mortem the tool has not created yet has key "" and counts as created at the deploy."""
    return PostMortem(
        row.key or "",
        row.created_at or change.deployed_at or change.created_at,
        row.due_at,
        row.assignee,
        tuple(row.participants or ()),
        row.done_at,
        row.report_url,
    )


def violation_facts(rows: Iterable[ViolationRow]) -> tuple[Violation, ...]:
    """The violations a change's recorded attempts broke, as the rules named them then."""
    return tuple(
        Violation(
            d.get("rule", "?"), int(d.get("step", 0)), d.get("message", ""), tuple(d.get("missing", ()))
        )
        for row in rows
        for d in row.details or ()
    )
