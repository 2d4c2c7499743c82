"""Guarded steps a person asks the connector to take (`/deploy`, `/close`), where only the connector's
account is offered the transition (Jira Data Center without a plugin): taken when the rules hold, else
answered with what is missing. Nothing here moves the change before the procedure core said yes.
"""

from __future__ import annotations

from connector import commands as c
from connector.outbox import Transition
from connector.procedure.gate import blocking
from connector.procedure.model import Stage
from connector.procedure.stages import TRANSITIONS
from connector.services.changes import record_transition
from connector.services.common import answer, audit, load_change
from connector.services.notices import Notice
from connector.services.ports import UnitOfWork
from connector.store.tables import ChangeRow
from connector.tools import ToolContext

VERBS = {Stage.DEPLOYED: "Deploy", Stage.CLOSED: "Close"}


def request_step(uow: UnitOfWork, cmd: c.RequestStep, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None:
        return "ignored: unknown change"
    stage, verb = Stage(row.stage), VERBS.get(cmd.to_stage, cmd.to_stage.value)
    if stage is cmd.to_stage:
        return _answer(uow, row, cmd, ctx, f"{row.key} is already {stage.value.replace('_', ' ')}.")
    if cmd.to_stage not in TRANSITIONS[stage]:
        before = next(s for s, offered in TRANSITIONS.items() if cmd.to_stage in offered)
        return _answer(
            uow,
            row,
            cmd,
            ctx,
            f"{verb} is taken from {ctx.status_of(before)}; {row.key} is in {ctx.status_of(stage)}.",
        )
    found = blocking(uow.changes.to_facts(row), cmd.to_stage, cmd.at, ctx.policy)
    if found:
        lines = [
            f"{verb} is not allowed yet, so the connector did not take it:",
            *(v.describe() for v in found),
        ]
        return _answer(uow, row, cmd, ctx, "\n".join(lines), subject=f"{verb} not allowed yet")
    to_status, from_status = ctx.status_of(cmd.to_stage), row.remote_status
    asked = c.RecordTransition(
        cmd.tool,
        cmd.key,
        cmd.actor,
        cmd.at,
        cmd.origin,
        to_stage=cmd.to_stage,
        to_status=to_status,
        from_status=from_status,
    )
    outcome = record_transition(uow, asked, ctx, asked=True)  # the step is the asker's, judged as theirs
    if outcome != "handled":
        return outcome
    note = f"{verb}: taken by the ECM Connector at the request of {ctx.display(cmd.actor)} ({cmd.origin})."
    uow.outbox.enqueue(row.tool, row, Transition(to_status, from_status, note), cmd.origin, now=cmd.at)
    audit(uow, cmd, "step-requested", to_stage=cmd.to_stage.value, status=to_status)
    return "handled"


def _answer(
    uow: UnitOfWork, row: ChangeRow, cmd: c.Command, ctx: ToolContext, body: str, subject: str = ""
) -> str:
    return answer(uow, row, cmd, ctx, Notice(subject=subject or body[:120], body=body))
