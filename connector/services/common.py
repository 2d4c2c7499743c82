"""Shared steps of the use cases: load, audit, enqueue outbox actions, alert, refuse, answer."""

from __future__ import annotations

import dataclasses
from typing import Any

from connector import commands as c
from connector import outbox
from connector.outbox import Action, Comment, Notify, Revert
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


def enqueue(uow: UnitOfWork, row: ChangeRow, command: c.Command, action: Action, tag: str) -> None:
    """Queue `action` about the change once per `tag` (the idempotency key is `outbox.enqueue`'s)."""
    outbox.enqueue(uow, row.tool, row, action, tag, now=command.at)


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
    enqueue(uow, row, command, notice, f"{kind}:{tag}")


def refuse(
    uow: UnitOfWork,
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
    uow.violations.add(
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
        revert = Revert(
            revert_to,
            getattr(command, "to_status", None),
            text.body,
            # what was judged, so that the revert is judged again when it is performed
            attempted=attempted.value if attempted else None,
            actor=command.actor,
            at=command.at,
            origin=command.origin,
        )
        enqueue(uow, row, command, revert, command.origin)
    else:
        enqueue(uow, row, command, Comment(text.body), command.origin)
    notify(uow, row, command, ctx, "violation", text, command.origin)
    audit(
        uow,
        command,
        "violation",
        rules=list(decision.rules),
        details=details,
        attempted=attempted.value if attempted else None,
        reverted_to=revert_to,
    )
    return "refused: " + ",".join(decision.rules)


def answer(uow: UnitOfWork, row: ChangeRow, cmd: c.Command, ctx: ToolContext, text: notices.Notice) -> str:
    enqueue(uow, row, cmd, Comment(text.body), f"answer:{cmd.origin}")
    audit(uow, cmd, "command-answered", reason=text.subject)
    return "refused: " + text.subject
