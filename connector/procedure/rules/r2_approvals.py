"""R2 (step 2): leaving approval needs an approval from a member of the Engineering Leads group and
one from a member of the Security Team group. A rejection, the other way out of approval, is given by
one of them with its reason."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Approval, Change, Groups, Rejection, Role, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import (
    HELD,
    ROLE_GROUP,
    Rule,
    Verdict,
    approval_text,
    at,
    name,
    open_items,
)

RULE = Rule("R2", 2, "approval from an Engineering Lead and from a Security Team member")
ROLES = tuple(Role)  # iterating the enum class itself costs a generator per call
DECIDING_STAGES = frozenset({Stage.IDENTIFIED, Stage.AWAITING_APPROVAL})
"""Approvals and rejections are recorded while the change awaits approval (or was just raised)."""


def on_approval(change: Change, approval: Approval, groups: Groups) -> tuple[Violation, ...]:
    """Before recording an approval: while approval is pending, by a member of the role's group, once."""
    who, role, group = approval.approver, approval.role, ROLE_GROUP[approval.role]
    already = change.approval_for(role)
    found = []
    if change.stage not in DECIDING_STAGES:
        found.append(
            RULE.violation(
                f"Approvals are recorded while a change awaits approval; it is {name(change.stage)}."
            )
        )
    if role not in groups.roles_of(who):
        found.append(
            RULE.violation(
                f"{who} is not a member of the {group} group.", f"approval from a member of the {group}"
            )
        )
    if already is not None:
        found.append(
            RULE.violation(
                f"The {role} approval is already recorded (by {already.approver}); it is not repeated."
            )
        )
    return tuple(found)


def on_rejection(change: Change, rejection: Rejection, groups: Groups) -> tuple[Violation, ...]:
    """Only an Engineering Lead or Security Team member other than the engineer rejects, with a reason."""
    who = rejection.by
    found = []
    if change.stage not in DECIDING_STAGES:
        found.append(
            RULE.violation(f"Only a change awaiting approval can be rejected; it is {name(change.stage)}.")
        )
    if not groups.roles_of(who) or who == change.engineer:
        found.append(
            RULE.violation(
                f"{who} cannot reject this change: only an Engineering Lead or Security Team member other "
                "than the engineer can."
            )
        )
    if not rejection.reason.strip():
        found.append(RULE.violation("A rejection must give its reason.", "reason for the rejection"))
    return tuple(found)


def on_rejected(change: Change, groups: Groups) -> tuple[Violation, ...]:
    """Moving the change to rejected needs its recorded rejection, which must stand."""
    if change.rejection is None:
        return (
            RULE.violation(
                "A change is rejected only through a recorded rejection with its reason.",
                "rejection by an Engineering Lead or Security Team member, with a reason",
            ),
        )
    return on_rejection(change, change.rejection, groups)


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering approved needs both roles' approvals."""
    missing = [
        f"approval from a member of the {ROLE_GROUP[role]}"
        for role in ROLES
        if change.approval_for(role) is None
    ]
    if not missing:
        return ()
    message = (
        "Leaving approval needs an approval from an Engineering Lead and one from a Security Team member."
    )
    return (RULE.violation(message, *missing),)


REQUIRED = {Stage.APPROVED: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    if change.rejection is not None:
        r = change.rejection
        return HELD, f"rejected by {r.by} {at(r.at, policy.zone)}: {r.reason}" if explain else ""
    if found := requirement(change, now, policy):
        return open_items(change, found, Stage.APPROVED)
    return HELD, "; ".join(approval_text(a, policy.zone) for a in change.approvals) if explain else ""
