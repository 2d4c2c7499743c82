"""Use cases of the change itself: register it, move it between stages, record links and answers."""

from __future__ import annotations

from connector import commands as c
from connector.outbox import CatchUp, CreatePostMortem, RecordEvidence, RequestApprovals, Revert, UpdateFields
from connector.procedure import rules
from connector.procedure.model import Decision, Stage
from connector.procedure.stages import is_forward
from connector.services import notices
from connector.services.approvals import record_approval, role_of_click
from connector.services.common import answer, audit, load_change, notify, refuse
from connector.services.late import as_if, judge_found_late
from connector.services.ports import UnitOfWork
from connector.store.tables import (
    ChangeRow,
    PostMortemRow,
)
from connector.tools import ToolContext


def register_change(uow: UnitOfWork, cmd: c.RegisterChange, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
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
            audit(uow, cmd, "change-updated", **{k: v for k, v in changed.items() if k != "url"})
        if cmd.complete and row.notified_at is None:  # first seen from a comment, now read in full
            row.engineer = cmd.engineer or row.engineer or cmd.actor
            return _announce(uow, row, cmd, ctx)
        return "handled" if changed else "ignored: nothing new"
    row = ChangeRow(
        tool=cmd.tool,
        key=cmd.key,
        remote_id=cmd.remote_id,
        url=cmd.url,
        project=cmd.project,
        title=cmd.title,
        engineer=cmd.engineer or (cmd.actor if cmd.complete else ""),  # a commenter is not the engineer
        stage=(cmd.stage or Stage.IDENTIFIED).value,
        remote_status=cmd.remote_status,
        category=cmd.category,
        impact=cmd.impact,
        created_at=cmd.at,
        stage_changed_at=cmd.at,
        notified_at=None,
        updated_at=cmd.at,
    )
    uow.changes.add(row)
    audit(
        uow,
        cmd,
        "change-registered",
        engineer=row.engineer,
        category=row.category,
        impact=row.impact,
        stage=row.stage,
        **({} if cmd.complete else {"incomplete": True}),
    )
    if not cmd.complete:  # judged and announced once the tool has told the rest (`catch_up`)
        uow.outbox.enqueue(row.tool, row, CatchUp(), "register", now=cmd.at)
        return "handled: registered, reading the rest from the tool"
    return _announce(uow, row, cmd, ctx)


def _announce(uow: UnitOfWork, row: ChangeRow, cmd: c.RegisterChange, ctx: ToolContext) -> str:
    """Leads and security are told of the new change (R1), and its fields are checked."""
    row.notified_at = cmd.at
    notify(uow, row, cmd, ctx, "created", notices.created(row, ctx.display(row.engineer)), "created")
    decision = rules.check_created(uow.changes.to_facts(row), ctx.policy)
    if not decision.allowed:
        return refuse(uow, row, cmd, ctx, decision)
    return "handled"


def record_transition(
    uow: UnitOfWork, cmd: c.RecordTransition, ctx: ToolContext, *, asked: bool = False
) -> str:
    """`asked`: a step the connector takes itself for whoever asked (`/deploy`, a pipeline's deploy), not
    one a person took in the tool."""
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    if cmd.actor == ctx.connector_account or Stage(row.stage) is cmd.to_stage:
        row.remote_status = cmd.to_status  # our own revert, or a late / repeated delivery
        return judge_found_late(uow, row, cmd, ctx) or "ignored: no stage change"
    if _stale(row, cmd):
        moved_on = f"ignored: stale, the change moved on to {row.stage} after this event"
        return judge_found_late(uow, row, cmd, ctx) or moved_on
    if ctx.performs_on_request and cmd.to_stage in GUARDED_ON_REQUEST and not asked:
        _guard_lifted(uow, row, cmd, ctx)
    if cmd.to_stage is Stage.APPROVED and Stage(row.stage) is Stage.AWAITING_APPROVAL:
        _approval_by_transition(uow, row, cmd, ctx)
    facts = as_if(uow.changes.to_facts(row), cmd, ctx)
    decision = rules.check_transition(facts, cmd.to_stage, cmd.actor, ctx.groups(), cmd.at, ctx.policy)
    if not decision.allowed:
        return _move_back(uow, row, cmd, ctx, decision)
    _enter(uow, row, cmd, ctx)
    return "handled"


def _move_back(
    uow: UnitOfWork, row: ChangeRow, cmd: c.RecordTransition, ctx: ToolContext, decision: Decision
) -> str:
    """A step the rules refuse is moved back to the change's stage, the violation's text on the revert.
    The revert is queued before the violation's alert, so the tool hears of the move back first."""
    back = ctx.status_of(Stage(row.stage))
    text = notices.violation(row.key, decision, ctx.display(cmd.actor), cmd.to_stage, back)
    revert = Revert(
        back,
        cmd.to_status,
        text.body,
        # what was judged, so that the revert is judged again when it is performed (`services.reverts`)
        attempted=cmd.to_stage.value,
        actor=cmd.actor,
        at=cmd.at,
        origin=cmd.origin,
    )
    uow.outbox.enqueue(row.tool, row, revert, cmd.origin, now=cmd.at)
    return refuse(uow, row, cmd, ctx, decision, reverted_to=back, attempted=cmd.to_stage)


def _enter(uow: UnitOfWork, row: ChangeRow, cmd: c.RecordTransition, ctx: ToolContext) -> None:
    """The change enters `cmd.to_stage`, with what entering that stage brings (deploy time, post-mortem,
    evidence seal at close, approval requests)."""
    previous, row.stage, row.remote_status, row.updated_at = (
        row.stage,
        cmd.to_stage.value,
        cmd.to_status,
        cmd.at,
    )
    row.stage_changed_at = cmd.at
    if cmd.to_stage is Stage.DEPLOYED:
        row.deployed_at = cmd.at
    if cmd.to_stage is Stage.CLOSED:
        row.closed_at = cmd.at
        uow.outbox.enqueue(row.tool, row, RecordEvidence(), "close", now=cmd.at)  # packet hash + checkpoint
    if cmd.to_stage is Stage.AWAITING_APPROVAL and ctx.requests_approvals:
        groups = [ctx.group_names["leads"], ctx.group_names["security"]]
        uow.outbox.enqueue(row.tool, row, RequestApprovals(tuple(groups)), "approvals", now=cmd.at)
    audit(uow, cmd, "stage-changed", from_stage=previous, to_stage=row.stage, status=cmd.to_status)
    if cmd.to_stage is ctx.create_postmortem_on and row.postmortem is None:
        plan_postmortem(uow, row, cmd, ctx)
    if cmd.to_stage is Stage.DEPLOYED:  # after the post-mortem: it must not wait behind a field update
        uow.outbox.enqueue(
            row.tool, row, UpdateFields({"deployed_at": cmd.at.isoformat()}), "deployed", now=cmd.at
        )


GUARDED_ON_REQUEST = frozenset({Stage.DEPLOYED, Stage.CLOSED})  # the connector's alone where it takes them


def _guard_lifted(uow: UnitOfWork, row: ChangeRow, cmd: c.RecordTransition, ctx: ToolContext) -> None:
    """Where only the connector's group may take Deploy and Close (Jira Data Center), a person who took
    one shows the installed restriction is gone: drift, alerted once per change and step. Jira Data Center
    gives no token-authenticated read of a workflow's conditions, so this is where it shows. The step
    itself is judged as any other."""
    step = "Deploy" if cmd.to_stage is Stage.DEPLOYED else "Close"
    body = (
        f"{ctx.display(cmd.actor)} took {step} on {row.key} in Jira. Only the connector's group may take "
        f"{step} in the installed workflow (people ask with a comment), so that restriction has been removed "
        "or the workflow replaced. Restore the User Is In Group condition of the connector's group on Deploy "
        "and Close, or import the workflow file `ecm install` writes again (its steps file says how)."
    )
    text = notices.Notice(
        subject=f"[{row.key}] ECM configuration changed: {step} is open to people", body=body
    )
    notify(uow, row, cmd, ctx, "drift", text, f"guard-lifted:{cmd.to_stage.value}")
    audit(uow, cmd, "drift-detected", check=f"{step} restricted to the connector's group", actor_took=step)


def _stale(row: ChangeRow, cmd: c.RecordTransition) -> bool:
    """A move back (or aside) that happened before the change's last stage change: Jira delivers late
    and in any order, and reconciliation replays history — such an event is history, never reverted (a
    step of the tool's history that broke the rules is recorded as found late: `services.late`)."""
    if row.stage_changed_at is None or is_forward(Stage(row.stage), cmd.to_stage):
        return False
    return cmd.at < row.stage_changed_at


def plan_postmortem(uow: UnitOfWork, row: ChangeRow, cmd: c.Command, ctx: ToolContext) -> None:
    deployed = row.deployed_at or cmd.at
    due = ctx.calendar.deadline(deployed, ctx.policy.postmortem_business_days)
    participants = sorted({a.approver for a in row.approvals} | {row.engineer})
    row.postmortem = PostMortemRow(due_at=due, assignee=row.engineer, participants=participants)
    text = notices.postmortem(row, ctx.display(row.engineer), due)
    task = CreatePostMortem(text.subject, text.body, due, row.engineer, tuple(participants))
    uow.outbox.enqueue(row.tool, row, task, "once", now=cmd.at)
    audit(
        uow,
        cmd,
        "postmortem-planned",
        due_at=due.isoformat(),
        assignee=row.engineer,
        participants=participants,
    )


def _approval_by_transition(
    uow: UnitOfWork, row: ChangeRow, cmd: c.RecordTransition, ctx: ToolContext
) -> None:
    """Clicking the group-restricted approval transition records that person's approval first."""
    role = role_of_click(uow.changes.to_facts(row), cmd.actor, ctx)
    if role is not None:
        record_approval(
            uow,
            c.RecordApproval(
                cmd.tool,
                cmd.key,
                cmd.actor,
                cmd.at,
                cmd.origin,
                role=role,
                evidence=f"transition:{cmd.to_status}",
            ),
            ctx,
            quiet=True,
        )


def record_link(uow: UnitOfWork, cmd: c.RecordLink, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    attr = {"pr": "pr_url", "docs": "docs_url", "close_code": "close_code"}[cmd.kind]
    if getattr(row, attr) == cmd.url:
        return "ignored: nothing new"
    setattr(row, attr, cmd.url)
    row.updated_at = cmd.at
    if cmd.origin.startswith("comment:") and cmd.kind in ("pr", "docs"):
        uow.outbox.enqueue(
            row.tool, row, UpdateFields({attr: cmd.url}), f"{cmd.kind}:{cmd.origin}", now=cmd.at
        )
    audit(uow, cmd, "link-recorded", kind=cmd.kind, url=cmd.url)
    return "handled"


def answer_command(uow: UnitOfWork, cmd: c.AnswerCommand, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    return answer(uow, row, cmd, ctx, notices.cannot_accept(cmd.reason))
