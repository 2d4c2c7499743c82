"""R7 (step 5): on deploy a post-mortem task is created, linked to the change, assigned, with
participants from the Engineering Leads and Security, due in business days after the deploy."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Change, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, Rule, Verdict, at, open_items

RULE = Rule("R7", 5, "post-mortem task created on deploy, due in business days")


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering the post-mortem needs its task."""
    if change.postmortem is not None:
        return ()
    return (
        RULE.violation("The post-mortem task has not been created.", "post-mortem task linked to the change"),
    )


REQUIRED = {Stage.POSTMORTEM: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    pm = change.postmortem
    if pm is None:
        return open_items(change, requirement(change, now, policy), Stage.DEPLOYED)
    if not explain:
        return HELD, ""
    people = ", ".join(pm.participants) or "none listed"
    return (
        HELD,
        f"{pm.key} created {at(pm.created_at, policy.zone)}, due {at(pm.due_at, policy.zone)}, "
        f"assignee {pm.assignee or '-'}, participants {people}",
    )
