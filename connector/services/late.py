"""Steps found late: a person's step the connector first hears of when the tool's history is replayed
(reconciliation, a catch-up), after the change has moved on past it in the connector's record.

Such a step is history: the change has moved on, so nothing is reverted. It is judged as it was taken,
from the stage it left (the changelog entry names its status), on the facts known at its time (the
approvals, reviews and post-mortem whose own times are not after it, and the approval its own click
gives), by the same rules. One that broke them is a violation that stood: recorded and alerted as any
violation, marked found late (`ViolationRow.found_late`), with a comment and alert saying when it was
taken, by whom, what it lacked, and that it was not reverted.

What is judged: only a replay of the tool's history, which replays an issue's changelog entries and
comments in time order, so what happened before the step has been recorded before it is judged
(a comment that waits for a pending revert makes the step wait too: `doubts.in_doubt`). ServiceNow's
replay reads the current state alone (no status left, no time of the step) and is not judged here.
Close is not judged late: its post-mortem is another issue, replayed after the change's own history,
and its links carry no time of their own in the store.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from connector import commands as c
from connector.procedure import rules
from connector.procedure.model import Approval, Change, Method, PostMortem, Stage
from connector.services import notices
from connector.services.approvals import role_of_click
from connector.services.common import refuse
from connector.services.doubts import REPLAY
from connector.services.ports import UnitOfWork
from connector.store.tables import ChangeRow
from connector.tools import ToolContext

NOT_JUDGED_LATE = frozenset({Stage.CLOSED})
"""Steps whose facts come partly from elsewhere than the change's own history (see above)."""


def left_stage(cmd: c.RecordTransition, ctx: ToolContext) -> Stage | None:
    """The stage a replayed step of the tool's history left, when it is one a person took and can be
    judged late; None otherwise."""
    if not cmd.origin.startswith(REPLAY) or not cmd.from_status or cmd.actor == ctx.connector_account:
        return None
    left = ctx.stage_of(cmd.from_status)
    if left is None or left is cmd.to_stage or cmd.to_stage in NOT_JUDGED_LATE:
        return None
    return left


def judge_found_late(
    uow: UnitOfWork, row: ChangeRow, cmd: c.RecordTransition, ctx: ToolContext
) -> str | None:
    """A step the change has moved on past, judged as it was taken: the violation recorded and alerted
    (not reverted) when it broke the rules, else None."""
    left = left_stage(cmd, ctx)
    if left is None:
        return None
    facts = dataclasses.replace(known_at(uow.changes.to_facts(row), cmd.at), stage=left)
    facts = as_if(_with_own_approval(facts, cmd, ctx), cmd, ctx)
    decision = rules.check_transition(facts, cmd.to_stage, cmd.actor, ctx.groups(), cmd.at, ctx.policy)
    if decision.allowed:
        return None
    text = notices.found_late(
        row.key, decision, ctx.display(cmd.actor), left, cmd.to_stage, ctx.calendar.local(cmd.at), row.stage
    )
    return refuse(uow, row, cmd, ctx, decision, attempted=cmd.to_stage, taken_from=left, found_late=text)


def _with_own_approval(facts: Change, cmd: c.RecordTransition, ctx: ToolContext) -> Change:
    """Approve clicked by a member of one approver group whose role is open: that click is their approval,
    when the rules take it (as `changes._approval_by_transition` records it when heard of in time)."""
    if cmd.to_stage is not Stage.APPROVED or facts.stage is not Stage.AWAITING_APPROVAL:
        return facts
    role = role_of_click(facts, cmd.actor, ctx)
    if role is None:
        return facts
    own = Approval(
        approver=cmd.actor,
        role=role,
        method=Method.WRITTEN,
        granted_at=cmd.at,
        recorded_by=cmd.actor,
        evidence=f"transition:{cmd.to_status}",
    )
    if not rules.check_approval(facts, own, ctx.groups(), ctx.policy).allowed:
        return facts  # refused quietly in time too (one's own change, say): no approval to count
    return dataclasses.replace(facts, approvals=(*facts.approvals, own))


def known_at(facts: Change, moment: datetime) -> Change:
    """The facts as they stood at `moment`: what was recorded as happening later left out."""
    postmortem = facts.postmortem
    if postmortem is not None and postmortem.done_at is not None and postmortem.done_at > moment:
        postmortem = dataclasses.replace(postmortem, done_at=None)
    return dataclasses.replace(
        facts,
        approvals=tuple(a for a in facts.approvals if a.granted_at <= moment),
        reviews=tuple(r for r in facts.reviews if r.at <= moment),
        postmortem=postmortem,
    )


def as_if(facts: Change, cmd: c.RecordTransition, ctx: ToolContext) -> Change:
    """The facts as they will be once this transition's own effects are recorded."""
    if cmd.to_stage is Stage.DEPLOYED and facts.deployed_at is None:
        facts = dataclasses.replace(facts, deployed_at=cmd.at)
    if cmd.to_stage is ctx.create_postmortem_on and facts.postmortem is None and facts.deployed_at:
        due = ctx.calendar.deadline(facts.deployed_at, ctx.policy.postmortem_business_days)
        facts = dataclasses.replace(facts, postmortem=PostMortem(key="", created_at=cmd.at, due_at=due))
    return facts
