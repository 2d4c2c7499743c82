"""Rows → the frozen domain dataclasses of `connector.procedure.model`."""

from __future__ import annotations

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
)
from connector.store.tables import ApprovalRow, ChangeRow, PostMortemRow, ReviewRow


def change_facts(row: ChangeRow) -> Change:
    return Change(
        tool=row.tool,
        key=row.key,
        engineer=row.engineer,
        stage=Stage(row.stage),
        created_at=row.created_at,
        category=row.category,
        impact=row.impact,
        notified_at=row.notified_at,
        approvals=tuple(approval_facts(a) for a in row.approvals),
        rejection=rejection_facts(row),
        reviews=tuple(review_facts(r) for r in row.reviews),
        deployed_at=row.deployed_at,
        postmortem=postmortem_facts(row.postmortem, row) if row.postmortem else None,
        pr_url=row.pr_url,
        docs_url=row.docs_url,
        close_code=row.close_code,
        closed_at=row.closed_at,
        title=row.title or "",
        project=row.project or "",
        team=row.team,
    )


def approval_facts(row: ApprovalRow) -> Approval:
    return Approval(
        approver=row.approver,
        role=Role(row.role),
        method=Method(row.method),
        granted_at=row.granted_at,
        recorded_by=row.recorded_by,
        evidence=row.evidence,
        channel=row.channel,
        confirm_by=row.confirm_by,
        confirmed_at=row.confirmed_at,
        confirmation_evidence=row.confirmation_evidence,
    )


def rejection_facts(row: ChangeRow) -> Rejection | None:
    if row.rejected_by is None or row.rejected_at is None:
        return None
    return Rejection(
        by=row.rejected_by,
        role=Role(row.rejected_role) if row.rejected_role else None,
        at=row.rejected_at,
        reason=row.rejection_reason or "",
        evidence=row.rejection_evidence or "",
    )


def review_facts(row: ReviewRow) -> Review:
    return Review(reviewer=row.reviewer, kind=ReviewKind(row.kind), at=row.at, evidence=row.evidence)


def postmortem_facts(row: PostMortemRow, change: ChangeRow) -> PostMortem:
    """A post-mortem the tool has not created yet has key "" and counts as created at the deploy."""
    return PostMortem(
        key=row.key or "",
        created_at=row.created_at or change.deployed_at or change.created_at,
        due_at=row.due_at,
        assignee=row.assignee,
        participants=tuple(row.participants or ()),
        done_at=row.done_at,
        report_url=row.report_url,
    )
