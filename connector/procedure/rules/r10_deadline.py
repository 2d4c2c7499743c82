"""R10 (step 5): the post-mortem is done by its deadline. Reminders before it, the breach alert at it
and an escalation each business day after it are `connector.procedure.sla`'s thresholds."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Change
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, PENDING, VIOLATED, Rule, Verdict, at

RULE = Rule("R10", 5, "reminders before the post-mortem deadline, breach alert and escalation after")
REQUIRED: dict = {}  # no stage waits for it: the deadline is watched, not gated


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    pm = change.postmortem
    if pm is None:
        return PENDING, "no post-mortem deadline yet"
    if pm.done_at is not None:
        on_time = pm.done_at <= pm.due_at
        if on_time and not explain:
            return HELD, ""
        late = "on time" if on_time else "late"
        return (
            HELD if on_time else VIOLATED,
            f"post-mortem done {at(pm.done_at, policy.zone)}, {late}: due {at(pm.due_at, policy.zone)}",
        )
    if now > pm.due_at:
        return VIOLATED, f"post-mortem overdue since {at(pm.due_at, policy.zone)}"
    return PENDING, f"post-mortem due {at(pm.due_at, policy.zone)}"
