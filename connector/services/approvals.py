"""Use cases of step 2 and 3: approvals (written, verbal, confirmed), rejections, reviews."""

from __future__ import annotations

from connector import commands as c
from connector.outbox import UpdateFields
from connector.procedure import rules
from connector.procedure.model import (
    Approval,
    Change,
    Method,
    Rejection,
    Review,
    Role,
)
from connector.services import notices
from connector.services.common import answer, audit, load_change, refuse
from connector.services.ports import UnitOfWork
from connector.store.tables import (
    ApprovalRow,
    ReviewRow,
)
from connector.tools import ToolContext


def record_approval(uow: UnitOfWork, cmd: c.RecordApproval, ctx: ToolContext, *, quiet: bool = False) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    facts = uow.changes.to_facts(row)
    verbal = cmd.method is Method.VERBAL
    approver = (cmd.approver or "") if verbal else cmd.actor
    role = cmd.role or _only_open_role(facts, ctx.groups().roles_of(approver))
    if role is None:
        return answer(uow, row, cmd, ctx, notices.which_role(ctx.display(approver)))
    if any(a.approver == approver and a.role is role and a.method is cmd.method for a in facts.approvals):
        return "ignored: this approval is already recorded"  # said twice, or replayed by reconciliation
    approval = Approval(
        approver=approver,
        role=role,
        method=cmd.method,
        granted_at=cmd.at,
        recorded_by=cmd.actor,
        evidence=cmd.evidence,
        channel=cmd.channel,
        confirm_by=ctx.calendar.deadline(cmd.at, ctx.policy.verbal_confirmation_business_days)
        if verbal
        else None,
    )
    decision = rules.check_approval(facts, approval, ctx.groups(), ctx.policy)
    if not decision.allowed:
        return "ignored: quiet refusal" if quiet else refuse(uow, row, cmd, ctx, decision)
    row.approvals.append(
        ApprovalRow(
            approver=approver,
            role=role.value,
            method=cmd.method.value,
            granted_at=cmd.at,
            recorded_by=cmd.actor,
            evidence=cmd.evidence,
            channel=cmd.channel,
            confirm_by=approval.confirm_by,
        )
    )
    row.updated_at = cmd.at
    field = "lead_approver" if role is Role.LEAD else "security_approver"
    uow.outbox.enqueue(row.tool, row, UpdateFields({field: approver}), f"approval:{role.value}", now=cmd.at)
    audit(
        uow,
        cmd,
        "approval-recorded",
        approver=approver,
        role=role.value,
        method=approval.method.value,
        channel=cmd.channel,
        evidence=cmd.evidence,
        confirm_by=approval.confirm_by.isoformat() if approval.confirm_by else None,
    )
    return "handled"


def role_of_click(facts: Change, actor: str, ctx: ToolContext) -> Role | None:
    """The approval role clicking the group-restricted approval transition gives `actor`: the one role of
    their groups still open, unless they approved already; None otherwise."""
    open_roles = [r for r in ctx.groups().roles_of(actor) if facts.approval_for(r) is None]
    if len(open_roles) != 1 or any(a.approver == actor for a in facts.approvals):
        return None
    return open_roles[0]


def _only_open_role(facts: Change, roles: frozenset[Role]) -> Role | None:
    open_roles = [r for r in roles if facts.approval_for(r) is None] or list(roles)
    return open_roles[0] if len(open_roles) == 1 else None


def confirm_approval(uow: UnitOfWork, cmd: c.ConfirmApproval, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    pending = next(
        (
            a
            for a in row.approvals
            if a.approver == cmd.actor and a.method == Method.VERBAL.value and a.confirmed_at is None
        ),
        None,
    )
    role = Role(pending.role) if pending else Role.LEAD
    decision = rules.check_confirmation(uow.changes.to_facts(row), role, cmd.actor, cmd.at)
    if pending is None or not decision.allowed:
        return (
            refuse(uow, row, cmd, ctx, decision)
            if not decision.allowed
            else answer(uow, row, cmd, ctx, notices.nothing_to_confirm(ctx.display(cmd.actor)))
        )
    pending.confirmed_at, pending.confirmation_evidence = cmd.at, cmd.evidence
    row.updated_at = cmd.at
    audit(uow, cmd, "approval-confirmed", approver=cmd.actor, role=pending.role, evidence=cmd.evidence)
    return "handled"


def record_rejection(uow: UnitOfWork, cmd: c.RecordRejection, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    roles = ctx.groups().roles_of(cmd.actor)
    rejection = Rejection(
        by=cmd.actor,
        role=next(iter(sorted(roles)), None),
        at=cmd.at,
        reason=cmd.reason,
        evidence=cmd.evidence,
    )
    decision = rules.check_rejection(uow.changes.to_facts(row), rejection, ctx.groups())
    if not decision.allowed:
        return refuse(uow, row, cmd, ctx, decision)
    row.rejected_by, row.rejected_role, row.rejected_at = cmd.actor, rejection.role, cmd.at
    row.rejection_reason, row.rejection_evidence, row.updated_at = cmd.reason, cmd.evidence, cmd.at
    audit(uow, cmd, "rejection-recorded", role=rejection.role, reason=cmd.reason, evidence=cmd.evidence)
    return "handled"


def record_review(uow: UnitOfWork, cmd: c.RecordReview, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    review = Review(reviewer=cmd.actor, kind=cmd.kind, at=cmd.at, evidence=cmd.evidence)
    decision = rules.check_review(uow.changes.to_facts(row), review, ctx.groups())
    if not decision.allowed:
        return refuse(uow, row, cmd, ctx, decision)
    row.reviews.append(ReviewRow(reviewer=cmd.actor, kind=cmd.kind.value, at=cmd.at, evidence=cmd.evidence))
    row.updated_at = cmd.at
    reviewer = UpdateFields({f"{cmd.kind.value}_reviewer": cmd.actor})
    uow.outbox.enqueue(row.tool, row, reviewer, f"review:{cmd.kind.value}", now=cmd.at)
    audit(uow, cmd, "review-recorded", reviewer=cmd.actor, kind=cmd.kind.value, evidence=cmd.evidence)
    return "handled"
