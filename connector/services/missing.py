"""What the next guarded step still needs, always on the ticket: after each command the connector words
the next step a person would take (leaving approval, Deploy, Close) and what stands in its way, and
shows it in one place the tool keeps current (a comment of its own edited in place on Jira, a field on
ServiceNow). Queued only when the wording changed, so facts that change nothing write nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from connector import commands as c
from connector.outbox import ShowMissing
from connector.procedure.gate import GATE_STAGES, blocking
from connector.procedure.model import TERMINAL_STAGES, Change, Stage
from connector.procedure.stages import STEP, is_forward
from connector.services.ports import UnitOfWork
from connector.store.tables import ChangeRow
from connector.tools import ToolContext

STEP_NAMES = {Stage.APPROVED: "Approval", Stage.DEPLOYED: "Deploy", Stage.CLOSED: "Close"}
ASK = {Stage.DEPLOYED: "deploy", Stage.CLOSED: "close"}  # comment words where the connector takes them
HEADING = "ECM Connector: the next step of ENG-PROC-004 and what it still needs (kept up to date here)"


def wording(row: ChangeRow, facts: Change, now: datetime, ctx: ToolContext) -> str:
    """The text for a change: its next guarded step, and each missing item or that nothing is missing."""
    stage = Stage(row.stage)
    following = next((s for s in GATE_STAGES if is_forward(stage, s)), None)
    if stage in TERMINAL_STAGES or following is None:
        return f"{HEADING}\n{row.key} is {stage.value.replace('_', ' ')}: no step is left to take."
    name, step = STEP_NAMES[following], STEP[following]
    found = blocking(facts, following, now, ctx.policy)
    if not found:
        word = (ctx.command_words or {}).get(ASK.get(following, ""), "")
        how = (
            f"comment {word} and the connector takes it" if ctx.performs_on_request and word else "available"
        )
        return f"{HEADING}\n{name} (step {step}): nothing is missing; {how}."
    missing = list(dict.fromkeys(m for v in found for m in v.missing))
    reasons = list(dict.fromkeys(f"{v.rule}: {v.message}" for v in found if not v.missing))
    lines = [f"{HEADING}", f"{name} (step {step}) still needs:"]
    lines += [f"- {item}" for item in missing] + [f"- {reason}" for reason in reasons]
    return "\n".join(lines)


def show(uow: UnitOfWork, command: c.Command, ctx: ToolContext) -> None:
    """Enqueue `show_missing` when the wording differs from the one last shown for the change."""
    row = uow.changes.get(command.tool, command.key)
    if row is None and isinstance(command, c.UpdatePostMortem):
        postmortem = uow.changes.postmortem(command.tool, command.key)
        row = postmortem.change if postmortem is not None else None
    if row is None or not row.notified_at:  # not announced yet: read from the tool first
        return
    text = wording(row, uow.changes.to_facts(row), command.at, ctx)
    last = uow.outbox.last(row.id, ShowMissing.ACTION)
    if isinstance(last, ShowMissing) and last.text == text:
        return
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    uow.outbox.enqueue(row.tool, row, ShowMissing(text), f"{command.origin}:{digest}", now=command.at)
