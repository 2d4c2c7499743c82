"""R6 (step 4): deploying records the deploy time; a deploy before the approvals and reviews of R1-R5
is a violation. R6 names the order only: the items still missing are R1-R5's to list."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Change, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules import r1_identified, r2_approvals, r3_separation, r4_documented, r5_reviews
from connector.procedure.rules.base import HELD, VIOLATED, Check, Rule, Verdict, at, open_items

RULE = Rule("R6", 4, "deploy time recorded; no deploy before approval and reviews")
BEFORE_DEPLOY: tuple[Check, ...] = tuple(
    check
    for rule in (r1_identified, r2_approvals, r3_separation, r4_documented, r5_reviews)
    for check in rule.REQUIRED.values()
)
"""What must hold before a deploy: the recording checks of R1-R5."""


def not_ready(change: Change, now: datetime, policy: Policy) -> tuple[str, ...]:
    """The items R1-R5 still miss at `now`."""
    return tuple(m for check in BEFORE_DEPLOY for v in check(change, now, policy) for m in v.missing)


def not_before_approval(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering deployed: the change is approved and reviewed (what is missing, R1-R5 say)."""
    if not not_ready(change, now, policy):
        return ()
    return (RULE.violation("Deployed before the change was approved and reviewed."),)


def deploy_recorded(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering the post-mortem: the deploy time is recorded."""
    if change.deployed_at is not None:
        return ()
    return (RULE.violation("The deploy time of this change has not been recorded.", "deploy time"),)


REQUIRED = {Stage.DEPLOYED: not_before_approval, Stage.POSTMORTEM: deploy_recorded}


def verdict(
    change: Change, now: datetime, policy: Policy, explain: bool = True, *, ready: bool = False
) -> Verdict:
    """`ready`: R1-R5 are known to hold for good (see `evaluate`), so nothing of theirs was missing at
    the deploy either and their checks are not run again."""
    deployed = change.deployed_at
    if deployed is None:
        return open_items(change, deploy_recorded(change, now, policy), Stage.DEPLOYED)
    early = [f"{a.role} approval" for a in change.approvals if a.granted_at > deployed]
    early += [f"{r.kind} review" for r in change.reviews if r.at > deployed]
    if not ready:
        early += not_ready(change, deployed, policy)
    if early:
        return VIOLATED, f"deployed {at(deployed, policy.zone)} before: " + "; ".join(early)
    return (
        HELD,
        f"deployed {at(deployed, policy.zone)}, after both approvals and both reviews" if explain else "",
    )
