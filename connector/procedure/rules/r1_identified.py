"""R1 (step 1): a new emergency change states its critical issue category and its impact; the
Engineering Leads and the Security Team are notified at once."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Change, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, Rule, Verdict, at, open_items

RULE = Rule("R1", 1, "critical issue category and impact stated; leads and security notified")


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering awaiting approval (and registering the change) needs the category and the impact."""
    missing = []
    if policy.category(change.category) is None:
        missing.append("critical issue category (one of: " + ", ".join(policy.categories) + ")")
    if not (change.impact or "").strip():
        missing.append("impact description")
    if not missing:
        return ()
    return (
        RULE.violation(
            "An emergency change must state its critical issue category and its impact.", *missing
        ),
    )


REQUIRED = {Stage.AWAITING_APPROVAL: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    if found := requirement(change, now, policy):
        return open_items(change, found, Stage.AWAITING_APPROVAL)
    if not explain:
        return HELD, ""
    notified = (
        f"leads and security notified {at(change.notified_at, policy.zone)}"
        if change.notified_at
        else "no notification recorded"
    )
    return HELD, f"category '{policy.category(change.category)}', impact described; {notified}"
