"""A queued revert is judged again when it is performed.

A step is judged when its webhook arrives, against the facts known then. When the webhook of an earlier
fact was lost (an approval comment, the post-mortem moved to Done, a `/pr` comment), a compliant step is
judged a violation and a revert is queued; the revert may be performed seconds later, after retries.
The dispatcher therefore first brings the change's facts up to date from the tool (the reconciliation
of that one issue, `connector.reconcile.catch_up`) and then asks the procedure core again here, with the
facts as they stood when the step was taken (approvals, reviews and a post-mortem done later do not make
an early step compliant). A revert whose reason has gone is not performed: the change enters the stage
it was moved to, the violation and its alert are withdrawn (the alert is performed after the revert, as
a change's actions run in order, so it has not gone out), and the audit log records both the violation
and its withdrawal.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from connector import commands as c
from connector.outbox import Revert
from connector.procedure import rules
from connector.procedure.model import Stage
from connector.procedure.stages import is_forward
from connector.services.changes import _enter
from connector.services.common import audit
from connector.services.late import as_if, known_at
from connector.services.ports import UnitOfWork
from connector.store.outbox import decode, encode
from connector.store.tables import ChangeRow, OutboxRow
from connector.tools import ToolContext


def reconsider_revert(uow: UnitOfWork, revert: OutboxRow, ctx: ToolContext, now: datetime) -> str | None:
    """None when the revert is still due (its target brought to where the change stands now); else why
    it is not, the violation withdrawn and the step entered."""
    where, action = decode(revert.action, revert.payload)
    if not isinstance(action, Revert) or not action.attempted or action.at is None or not where.key:
        return None  # queued before reverts said what they judged: performed as judged then
    row = uow.changes.get(revert.tool, where.key, for_update=True)
    if row is None:
        return None
    cmd = c.RecordTransition(
        tool=revert.tool,
        key=row.key,
        actor=action.actor or "",
        at=action.at,
        origin=action.origin or f"outbox:{revert.id}",
        to_stage=Stage(action.attempted),
        to_status=action.from_status or ctx.status_of(Stage(action.attempted)),
    )
    if Stage(row.stage) is cmd.to_stage:
        reason = f"the change is in {ctx.status_of(cmd.to_stage)} by now"
        _withdraw(uow, row, cmd, revert, reason, now)
        return reason
    facts = known_at(uow.changes.to_facts(row), cmd.at)
    # Since the step, the change went on past it (the next step's webhook came once the facts were in):
    # the step is judged from the stage it was taken in, the one the revert would go back to.
    came_from = ctx.stage_of(action.to_status)
    passed = came_from is not None and is_forward(cmd.to_stage, Stage(row.stage))
    if passed:
        facts = dataclasses.replace(facts, stage=came_from)
    facts = as_if(facts, cmd, ctx)
    decision = rules.check_transition(facts, cmd.to_stage, cmd.actor, ctx.groups(), cmd.at, ctx.policy)
    if not decision.allowed:
        back_to = ctx.status_of(Stage(row.stage))
        if back_to != action.to_status:  # caught up to a later stage: back to that one
            revert.payload = encode(where, dataclasses.replace(action, to_status=back_to))
        return None
    reason = "no longer a violation once the change's facts were caught up from the tool"
    _withdraw(uow, row, cmd, revert, reason, now)
    if not passed:
        _enter(uow, row, cmd, ctx)
    return reason


def _withdraw(
    uow: UnitOfWork, row: ChangeRow, cmd: c.RecordTransition, revert: OutboxRow, reason: str, now: datetime
) -> None:
    """The violation that queued `revert` is withdrawn: its alert is not sent, its record removed."""
    notice = uow.outbox.pending(f"{row.tool}:{row.key}:notify:violation:{cmd.origin}")
    if notice is not None:
        notice.status, notice.done_at, notice.result = "done", now, {"withdrawn": reason}
    uow.alerts.withdraw(row.id, "violation", cmd.origin[:64])
    withdrawn = uow.violations.withdraw(row.id, cmd.at, cmd.to_stage.value)
    audit(
        uow,
        dataclasses.replace(cmd, actor="ecm-connector", at=now),
        "violation-withdrawn",
        attempted=cmd.to_stage.value,
        step_by=cmd.actor,
        step_at=cmd.at.isoformat(),
        rules=withdrawn,
        reason=reason,
        revert=revert.id,
    )
