"""The gate a tool checks natively: after each command, the steps the procedure allows now are mirrored
into the tool's connector-owned gate field (an outbox action), with a note on the ticket when a step
opens and what the next step still needs; a write to that field by anyone else is undone and alerted.

Only tools whose context names a `gate_field` have one. The last mirrored value is the newest `set_gate`
row of the change, so nothing else is stored. Where the tool closes a change with its documentation in
the same update (ServiceNow's close code, `ctx.gate_documented_by`), a close missing only that opens as
`closed?<field>`: allowed for the update that fills the field.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from connector import commands as c
from connector.outbox import SetGate
from connector.procedure.gate import GATE_STAGES, blocking
from connector.procedure.model import Change, Decision, Stage, Violation
from connector.procedure.rules import RULES
from connector.procedure.stages import STEP, is_forward
from connector.services.common import audit, load_change, refuse
from connector.services.ports import UnitOfWork
from connector.store.tables import ChangeRow
from connector.tools import ToolContext

STEP_NAMES = {Stage.APPROVED: "Approval", Stage.DEPLOYED: "Deploy", Stage.CLOSED: "Close"}
OPENED = {
    Stage.APPROVED: "The change may now leave approval: both approvals are recorded (ENG-PROC-004 step 2).",
    Stage.DEPLOYED: "Deploy is now available: both approvals and both reviews are recorded "
    "(ENG-PROC-004 steps 2-3).",
    Stage.CLOSED: "Close is now available: the post-mortem is done with its report, and the pull request "
    "and the documentation are recorded (ENG-PROC-004 step 5).",
}
OPENED_IF = (
    "Close is now available with the close code filled in: the post-mortem is done with its report and "
    "the pull request is recorded (ENG-PROC-004 step 5)."
)


def gate_entries(facts: Change, now: datetime, ctx: ToolContext) -> tuple[list[str], dict[Stage, tuple]]:
    """The gate field's entries (`approved`, `closed?close_code`, ...) and what blocks each step."""
    found: dict[Stage, tuple[Violation, ...]] = {s: blocking(facts, s, now, ctx.policy) for s in GATE_STAGES}
    entries = [stage.value for stage in GATE_STAGES if not found[stage]]
    field = ctx.gate_documented_by
    if found[Stage.CLOSED] and field and not facts.close_code:
        documented = dataclasses.replace(facts, close_code="(filled in by the closing update)")
        if not blocking(documented, Stage.CLOSED, now, ctx.policy):
            entries.append(f"{Stage.CLOSED.value}?{field}")
    return entries, found


def mirror(uow: UnitOfWork, command: c.Command, ctx: ToolContext, *, force: bool = False) -> None:
    """Enqueue `set_gate` when the gate's entries differ from the ones last mirrored (or `force`)."""
    if not ctx.gate_field:
        return
    row = _change_of(uow, command)
    if row is None:
        return
    command = dataclasses.replace(command, key=row.key)
    entries, found = gate_entries(uow.changes.to_facts(row), command.at, ctx)
    engineer = (row.engineer or "") if ctx.gate_names_engineer else ""
    previous = uow.outbox.last(row.id, SetGate.ACTION)
    last = list(previous.open) if isinstance(previous, SetGate) else None
    if entries == last and engineer == getattr(previous, "engineer", "") and not force:
        return
    lines = [_opened(entry) for entry in entries if entry not in (last or [])]
    stage = Stage(row.stage)
    following = next((s for s in GATE_STAGES if found[s] and is_forward(stage, s)), None)
    if following is not None and (lines or last is None):
        missing = dict.fromkeys(m for v in found[following] for m in v.missing)
        if missing:
            lines.append(f"{STEP_NAMES[following]} still needs: " + "; ".join(missing) + ".")
    action = SetGate(ctx.gate_field, tuple(entries), "\n".join(lines), engineer)
    uow.outbox.enqueue(row.tool, row, action, f"{command.origin}:{','.join(entries) or '-'}", now=command.at)
    audit(uow, command, "gate-set", open=entries, previous=last)


def _change_of(uow: UnitOfWork, command: c.Command) -> ChangeRow | None:
    """The change a command is about: by its key, or (a post-mortem update) by its post-mortem's key."""
    row = uow.changes.get(command.tool, command.key)
    if row is None and isinstance(command, c.UpdatePostMortem):
        postmortem = uow.changes.postmortem(command.tool, command.key)
        row = postmortem.change if postmortem is not None else None
    return row


def _opened(entry: str) -> str:
    return OPENED_IF if "?" in entry else OPENED[Stage(entry)]


def last_mirrored(uow: UnitOfWork, row: ChangeRow) -> list[str] | None:
    action = uow.outbox.last(row.id, SetGate.ACTION)
    return list(action.open) if isinstance(action, SetGate) else None


def restore_gate(uow: UnitOfWork, cmd: c.RestoreGate, ctx: ToolContext) -> str:
    """A gate field written by someone else: a violation of R9, alerted, and the field set back."""
    row = load_change(uow, cmd)
    if row is None or not ctx.gate_field:
        return "ignored: unknown change"
    message = (
        f"{ctx.display(cmd.actor)} wrote the gate field {ctx.gate_field} ({cmd.found or 'empty'}); only the "
        "connector opens the procedure's steps there. It is set back to what the rules allow."
    )
    decision = Decision((RULES["R9"].violation(message, step=STEP[Stage(row.stage)]),))
    outcome = refuse(uow, row, cmd, ctx, decision)
    mirror(uow, cmd, ctx, force=True)
    return outcome
