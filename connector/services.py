"""Use cases. `handle(uow, command, ctx)` runs one command inside a unit of work: the state change,
its audit entry and its outbox rows are committed together by the caller.

Every procedure decision is asked of `connector.procedure.rules`; this module only records facts,
turns decisions into outbox actions (revert, comment, notify, create post-mortem, update fields)
and writes the audit trail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from connector import commands as c
from connector import notices
from connector.context import ToolContext
from connector.procedure import rules
from connector.procedure.model import (
    Approval,
    Change,
    Decision,
    Method,
    PostMortem,
    Rejection,
    Review,
    Role,
    Stage,
)
from connector.store.tables import (
    AlertRow,
    ApprovalRow,
    ChangeRow,
    PostMortemRow,
    ReviewRow,
    ViolationRow,
)

# Tools where the connector asks both groups for approval when a change enters awaiting approval (the
# request is skipped for everyone the tool already asked).
REQUESTS_APPROVALS = frozenset({"servicenow"})


def handle(uow: Any, command: c.Command, ctx: ToolContext) -> str:
    """Apply one command; returns a short outcome ("handled", "ignored: …", "refused: …")."""
    handler = HANDLERS[type(command)]
    return handler(uow, command, ctx)


# --- helpers ------------------------------------------------------------------------------------


def _load(uow: Any, command: c.Command) -> ChangeRow | None:
    return uow.changes.get(command.tool, command.key, for_update=True)


def _audit(uow: Any, command: c.Command, action: str, **data: Any) -> None:
    uow.audit.append(
        actor=command.actor,
        action=action,
        change_key=command.key,
        tool=command.tool,
        data={"origin": command.origin, **data},
        at=command.at,
    )


def _outbox(uow: Any, row: ChangeRow, command: c.Command, action: str, payload: dict, tag: str) -> None:
    uow.outbox.add(
        tool=row.tool,
        action=action,
        payload={"key": row.key, **payload},
        idempotency_key=f"{row.tool}:{row.key}:{action}:{tag}",
        change_id=row.id,
        now=command.at,
    )


def _notify(
    uow: Any, row: ChangeRow, command: c.Command, ctx: ToolContext, kind: str, text: notices.Notice, tag: str
) -> None:
    users, groups = ctx.recipients(kind, engineer=row.engineer, assignee=None)
    _outbox(
        uow,
        row,
        command,
        "notify",
        {"kind": kind, "subject": text.subject, "body": text.body, "users": users, "groups": groups},
        f"{kind}:{tag}",
    )
    uow.session.add(
        AlertRow(
            change_id=row.id,
            kind=kind,
            threshold=tag[:64],
            at=command.at,
            recipients=[*users, *groups],
            subject=text.subject[:300],
        )
    )


def _refuse(
    uow: Any,
    row: ChangeRow,
    command: c.Command,
    ctx: ToolContext,
    decision: Decision,
    *,
    revert_to: str | None = None,
    attempted: Stage | None = None,
) -> str:
    """Record a violation, answer on the ticket, alert leads and security; revert when asked."""
    details = [dataclasses.asdict(v) for v in decision.violations]
    uow.session.add(
        ViolationRow(
            change_id=row.id,
            at=command.at,
            actor=command.actor,
            from_stage=row.stage,
            to_stage=attempted.value if attempted else None,
            rules=list(decision.rules),
            details=details,
            reverted=revert_to is not None,
        )
    )
    text = notices.violation(row.key, decision, ctx.display(command.actor), attempted, revert_to)
    if revert_to is not None:
        _outbox(
            uow,
            row,
            command,
            "revert",
            {
                "to_status": revert_to,
                "from_status": getattr(command, "to_status", None),
                "comment": text.body,
            },
            command.origin,
        )
    else:
        _outbox(uow, row, command, "comment", {"body": text.body}, command.origin)
    _notify(uow, row, command, ctx, "violation", text, command.origin)
    _audit(
        uow,
        command,
        "violation",
        rules=list(decision.rules),
        details=details,
        attempted=attempted.value if attempted else None,
        reverted_to=revert_to,
    )
    return "refused: " + ",".join(decision.rules)


# --- handlers -----------------------------------------------------------------------------------


def register_change(uow: Any, cmd: c.RegisterChange, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
    if row is not None:
        changed = {
            k: v
            for k, v in (
                ("category", cmd.category),
                ("impact", cmd.impact),
                ("title", cmd.title),
                ("url", cmd.url),
            )
            if v and getattr(row, k) != v
        }
        for name, value in changed.items():
            setattr(row, name, value)
        if changed:
            row.updated_at = cmd.at
            _audit(uow, cmd, "change-updated", **{k: v for k, v in changed.items() if k != "url"})
        return "handled" if changed else "ignored: nothing new"
    row = ChangeRow(
        tool=cmd.tool,
        key=cmd.key,
        remote_id=cmd.remote_id,
        url=cmd.url,
        project=cmd.project,
        title=cmd.title,
        engineer=cmd.engineer or cmd.actor,
        stage=(cmd.stage or Stage.IDENTIFIED).value,
        remote_status=cmd.remote_status,
        category=cmd.category,
        impact=cmd.impact,
        created_at=cmd.at,
        notified_at=cmd.at,
        updated_at=cmd.at,
    )
    uow.changes.add(row)
    uow.session.flush()
    _audit(
        uow,
        cmd,
        "change-registered",
        engineer=row.engineer,
        category=row.category,
        impact=row.impact,
        stage=row.stage,
    )
    _notify(uow, row, cmd, ctx, "created", notices.created(row, ctx.display(row.engineer)), "created")
    decision = rules.check_created(uow.changes.to_facts(row), ctx.policy)
    if not decision.allowed:
        return _refuse(uow, row, cmd, ctx, decision)
    return "handled"


def record_transition(uow: Any, cmd: c.RecordTransition, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    if cmd.actor == ctx.connector_account or Stage(row.stage) is cmd.to_stage:
        row.remote_status = cmd.to_status  # our own revert, or a late / repeated delivery
        return "ignored: no stage change"
    if cmd.to_stage is Stage.APPROVED and Stage(row.stage) is Stage.AWAITING_APPROVAL:
        _approval_by_transition(uow, row, cmd, ctx)
    facts = _as_if(uow.changes.to_facts(row), cmd, ctx)
    decision = rules.check_transition(facts, cmd.to_stage, cmd.actor, ctx.groups(), cmd.at, ctx.policy)
    if not decision.allowed:
        return _refuse(
            uow, row, cmd, ctx, decision, revert_to=ctx.status_of(Stage(row.stage)), attempted=cmd.to_stage
        )
    previous, row.stage, row.remote_status, row.updated_at = (
        row.stage,
        cmd.to_stage.value,
        cmd.to_status,
        cmd.at,
    )
    if cmd.to_stage is Stage.DEPLOYED:
        row.deployed_at = cmd.at
    if cmd.to_stage is Stage.CLOSED:
        row.closed_at = cmd.at
    if cmd.to_stage is Stage.AWAITING_APPROVAL and ctx.tool in REQUESTS_APPROVALS:
        groups = [ctx.group_names["leads"], ctx.group_names["security"]]
        _outbox(uow, row, cmd, "request_approvals", {"groups": groups}, "approvals")
    _audit(uow, cmd, "stage-changed", from_stage=previous, to_stage=row.stage, status=cmd.to_status)
    if cmd.to_stage is ctx.create_postmortem_on and row.postmortem is None:
        _plan_postmortem(uow, row, cmd, ctx)
    if cmd.to_stage is Stage.DEPLOYED:  # after the post-mortem: it must not wait behind a field update
        _outbox(uow, row, cmd, "update_fields", {"fields": {"deployed_at": cmd.at.isoformat()}}, "deployed")
    return "handled"


def _as_if(facts: Change, cmd: c.RecordTransition, ctx: ToolContext) -> Change:
    """The facts as they will be once this transition's own effects are recorded."""
    if cmd.to_stage is Stage.DEPLOYED and facts.deployed_at is None:
        facts = dataclasses.replace(facts, deployed_at=cmd.at)
    if cmd.to_stage is ctx.create_postmortem_on and facts.postmortem is None and facts.deployed_at:
        due = ctx.calendar.deadline(facts.deployed_at, ctx.policy.postmortem_business_days)
        facts = dataclasses.replace(facts, postmortem=PostMortem(key="", created_at=cmd.at, due_at=due))
    return facts


def _plan_postmortem(uow: Any, row: ChangeRow, cmd: c.Command, ctx: ToolContext) -> None:
    deployed = row.deployed_at or cmd.at
    due = ctx.calendar.deadline(deployed, ctx.policy.postmortem_business_days)
    participants = sorted({a.approver for a in row.approvals} | {row.engineer})
    row.postmortem = PostMortemRow(due_at=due, assignee=row.engineer, participants=participants)
    text = notices.postmortem(row, ctx.display(row.engineer), due)
    _outbox(
        uow,
        row,
        cmd,
        "create_postmortem",
        {
            "summary": text.subject,
            "description": text.body,
            "due_at": due.isoformat(),
            "assignee": row.engineer,
            "participants": participants,
        },
        "once",
    )
    _audit(
        uow,
        cmd,
        "postmortem-planned",
        due_at=due.isoformat(),
        assignee=row.engineer,
        participants=participants,
    )


def _approval_by_transition(uow: Any, row: ChangeRow, cmd: c.RecordTransition, ctx: ToolContext) -> None:
    """Clicking the group-restricted approval transition records that person's approval first."""
    facts = uow.changes.to_facts(row)
    open_roles = [r for r in ctx.groups().roles_of(cmd.actor) if facts.approval_for(r) is None]
    if len(open_roles) == 1 and not any(a.approver == cmd.actor for a in facts.approvals):
        record_approval(
            uow,
            c.RecordApproval(
                cmd.tool,
                cmd.key,
                cmd.actor,
                cmd.at,
                cmd.origin,
                role=open_roles[0],
                evidence=f"transition:{cmd.to_status}",
            ),
            ctx,
            quiet=True,
        )


def record_approval(uow: Any, cmd: c.RecordApproval, ctx: ToolContext, *, quiet: bool = False) -> str:
    row = _load(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    facts = uow.changes.to_facts(row)
    verbal = cmd.method is Method.VERBAL
    approver = (cmd.approver or "") if verbal else cmd.actor
    role = cmd.role or _only_open_role(facts, ctx.groups().roles_of(approver))
    if role is None:
        return _answer(uow, row, cmd, ctx, notices.which_role(ctx.display(approver)))
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
        return "ignored: quiet refusal" if quiet else _refuse(uow, row, cmd, ctx, decision)
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
    _outbox(uow, row, cmd, "update_fields", {"fields": {field: approver}}, f"approval:{role.value}")
    _audit(
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


def _only_open_role(facts: Change, roles: frozenset[Role]) -> Role | None:
    open_roles = [r for r in roles if facts.approval_for(r) is None] or list(roles)
    return open_roles[0] if len(open_roles) == 1 else None


def confirm_approval(uow: Any, cmd: c.ConfirmApproval, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
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
            _refuse(uow, row, cmd, ctx, decision)
            if not decision.allowed
            else _answer(uow, row, cmd, ctx, notices.nothing_to_confirm(ctx.display(cmd.actor)))
        )
    pending.confirmed_at, pending.confirmation_evidence = cmd.at, cmd.evidence
    row.updated_at = cmd.at
    _audit(uow, cmd, "approval-confirmed", approver=cmd.actor, role=pending.role, evidence=cmd.evidence)
    return "handled"


def record_rejection(uow: Any, cmd: c.RecordRejection, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
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
        return _refuse(uow, row, cmd, ctx, decision)
    row.rejected_by, row.rejected_role, row.rejected_at = cmd.actor, rejection.role, cmd.at
    row.rejection_reason, row.rejection_evidence, row.updated_at = cmd.reason, cmd.evidence, cmd.at
    _audit(uow, cmd, "rejection-recorded", role=rejection.role, reason=cmd.reason, evidence=cmd.evidence)
    return "handled"


def record_review(uow: Any, cmd: c.RecordReview, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    review = Review(reviewer=cmd.actor, kind=cmd.kind, at=cmd.at, evidence=cmd.evidence)
    decision = rules.check_review(uow.changes.to_facts(row), review, ctx.groups())
    if not decision.allowed:
        return _refuse(uow, row, cmd, ctx, decision)
    row.reviews.append(ReviewRow(reviewer=cmd.actor, kind=cmd.kind.value, at=cmd.at, evidence=cmd.evidence))
    row.updated_at = cmd.at
    _outbox(
        uow,
        row,
        cmd,
        "update_fields",
        {"fields": {f"{cmd.kind.value}_reviewer": cmd.actor}},
        f"review:{cmd.kind.value}",
    )
    _audit(uow, cmd, "review-recorded", reviewer=cmd.actor, kind=cmd.kind.value, evidence=cmd.evidence)
    return "handled"


def record_link(uow: Any, cmd: c.RecordLink, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    attr = {"pr": "pr_url", "docs": "docs_url", "close_code": "close_code"}[cmd.kind]
    if getattr(row, attr) == cmd.url:
        return "ignored: nothing new"
    setattr(row, attr, cmd.url)
    row.updated_at = cmd.at
    if cmd.origin.startswith("comment:") and cmd.kind in ("pr", "docs"):
        _outbox(uow, row, cmd, "update_fields", {"fields": {attr: cmd.url}}, f"{cmd.kind}:{cmd.origin}")
    _audit(uow, cmd, "link-recorded", kind=cmd.kind, url=cmd.url)
    return "handled"


def record_postmortem_created(uow: Any, cmd: c.RecordPostMortemCreated, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
    if row is None or row.postmortem is None:
        return "ignored: no post-mortem planned"
    if row.postmortem.key == cmd.postmortem_key:
        return "ignored: nothing new"
    row.postmortem.key, row.postmortem.created_at = cmd.postmortem_key, cmd.at
    _audit(
        uow,
        cmd,
        "postmortem-created",
        postmortem=cmd.postmortem_key,
        due_at=row.postmortem.due_at.isoformat(),
    )
    return "handled"


def update_postmortem(uow: Any, cmd: c.UpdatePostMortem, ctx: ToolContext) -> str:
    pm_row = uow.session.scalar(
        select(PostMortemRow).join(ChangeRow).where(ChangeRow.tool == cmd.tool, PostMortemRow.key == cmd.key)
    )
    row = pm_row.change if pm_row is not None else None
    if row is None or row.postmortem is None:
        return "ignored: not a post-mortem the connector created"
    pm, change_cmd = row.postmortem, dataclasses.replace(cmd, key=row.key)
    if cmd.report_url and cmd.report_url != pm.report_url:
        pm.report_url = cmd.report_url
        _audit(uow, change_cmd, "postmortem-report", postmortem=cmd.key, url=cmd.report_url)
    if cmd.done and pm.done_at is None and pm.report_url:
        pm.done_at = cmd.at
        _audit(uow, change_cmd, "postmortem-done", postmortem=cmd.key)
    elif cmd.done and not pm.report_url:
        return _answer(uow, row, change_cmd, ctx, notices.report_missing(cmd.key))
    row.updated_at = cmd.at
    return "handled"


def _answer(uow: Any, row: ChangeRow, cmd: c.Command, ctx: ToolContext, text: notices.Notice) -> str:
    _outbox(uow, row, cmd, "comment", {"body": text.body}, f"answer:{cmd.origin}")
    _audit(uow, cmd, "command-answered", reason=text.subject)
    return "refused: " + text.subject


def answer_command(uow: Any, cmd: c.AnswerCommand, ctx: ToolContext) -> str:
    row = _load(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    return _answer(uow, row, cmd, ctx, notices.cannot_accept(cmd.reason))


HANDLERS: dict[type, Callable[..., str]] = {
    c.RegisterChange: register_change,
    c.RecordTransition: record_transition,
    c.RecordApproval: record_approval,
    c.ConfirmApproval: confirm_approval,
    c.RecordRejection: record_rejection,
    c.RecordReview: record_review,
    c.RecordLink: record_link,
    c.RecordPostMortemCreated: record_postmortem_created,
    c.UpdatePostMortem: update_postmortem,
    c.AnswerCommand: answer_command,
}
