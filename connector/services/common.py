"""Shared steps of the use cases: load, audit, alert, refuse, answer. An outbox action is queued with
`uow.outbox.enqueue`, in the transaction of the decision."""

from __future__ import annotations

import dataclasses
from typing import Any

from connector import commands as c
from connector.outbox import Comment, Notify
from connector.procedure.model import (
    Decision,
    Stage,
)
from connector.services import notices
from connector.services.ports import UnitOfWork
from connector.store.tables import (
    AlertRow,
    ChangeRow,
    ViolationRow,
)
from connector.tools import ToolContext

FOUND_LATE = " (found late, it stood)"  # the end of a refusal's outcome for a step found late


def load_change(uow: UnitOfWork, command: c.Command) -> ChangeRow | None:
    return uow.changes.get(command.tool, command.key, for_update=True)


def audit(uow: UnitOfWork, command: c.Command, action: str, **data: Any) -> None:
    uow.audit.append(
        actor=command.actor,
        action=action,
        change_key=command.key,
        tool=command.tool,
        data={"origin": command.origin, **data},
        at=command.at,
    )


def notify(
    uow: UnitOfWork,
    row: ChangeRow,
    command: c.Command,
    ctx: ToolContext,
    kind: str,
    text: notices.Notice,
    tag: str,
) -> None:
    """One alert of `kind` per (change, tag): a second one (two refusals of one delivery) is nothing."""
    users, groups = ctx.recipients(kind, engineer=row.engineer, assignee=None)
    alert = AlertRow(
        change_id=row.id,
        kind=kind,
        threshold=tag[:64],
        at=command.at,
        recipients=[*users, *groups],
        subject=text.subject[:300],
    )
    if not uow.alerts.add(alert):
        return
    notice = Notify(kind, text.subject, text.body, tuple(users), tuple(groups), at=command.at)
    uow.outbox.enqueue(row.tool, row, notice, f"{kind}:{tag}", now=command.at)


def refuse(
    uow: UnitOfWork,
    row: ChangeRow,
    command: c.Command,
    ctx: ToolContext,
    decision: Decision,
    *,
    reverted_to: str | None = None,
    attempted: Stage | None = None,
    taken_from: Stage | None = None,
    found_late: notices.Notice | None = None,
) -> str:
    """Record a violation, answer on the ticket, alert leads and security. A step moved back
    (`reverted_to`) is answered by its revert, which its use case queued first (`changes._move_back`).
    A step found late (`found_late`: its text) is history, taken from `taken_from`: it stood."""
    details = [dataclasses.asdict(v) for v in decision.violations]
    uow.violations.add(
        ViolationRow(
            change_id=row.id,
            at=command.at,
            actor=command.actor,
            from_stage=(taken_from.value if taken_from else row.stage),
            to_stage=attempted.value if attempted else None,
            rules=list(decision.rules),
            details=details,
            reverted=reverted_to is not None,
            found_late=found_late is not None,
        )
    )
    actor = ctx.display(command.actor)
    text = found_late or notices.violation(row.key, decision, actor, attempted, reverted_to)
    if reverted_to is None:
        uow.outbox.enqueue(row.tool, row, Comment(text.body), command.origin, now=command.at)
    notify(uow, row, command, ctx, "violation", text, command.origin)
    audit(
        uow,
        command,
        "violation",
        rules=list(decision.rules),
        details=details,
        attempted=attempted.value if attempted else None,
        reverted_to=reverted_to,
        **({"found_late": True, "taken_from": taken_from and taken_from.value} if found_late else {}),
    )
    return "refused: " + ",".join(decision.rules) + (FOUND_LATE if found_late else "")


def answer(uow: UnitOfWork, row: ChangeRow, cmd: c.Command, ctx: ToolContext, text: notices.Notice) -> str:
    uow.outbox.enqueue(row.tool, row, Comment(text.body), f"answer:{cmd.origin}", now=cmd.at)
    audit(uow, cmd, "command-answered", reason=text.subject)
    return "refused: " + text.subject
