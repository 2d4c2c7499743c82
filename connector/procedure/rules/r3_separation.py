"""R3 (step 2): no self-approval. Neither approver is the engineer, and one person cannot fill both
approval roles, even when they are in both groups."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Approval, Change, Role, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, PENDING, ROLE_GROUP, VIOLATED, Rule, Verdict

RULE = Rule("R3", 2, "no self-approval; one person cannot fill both approval roles")


def on_approval(change: Change, approval: Approval) -> tuple[Violation, ...]:
    """Before recording an approval: not by the engineer, not by the approver of the other role."""
    who, group = approval.approver, ROLE_GROUP[approval.role]
    other = change.approval_for(Role.SECURITY if approval.role is Role.LEAD else Role.LEAD)
    found = []
    if who == change.engineer:
        found.append(
            RULE.violation(
                f"{who} is the engineer of this change and cannot approve it.",
                f"approval from a member of the {group} other than the engineer",
            )
        )
    if other is not None and other.approver == who:
        found.append(
            RULE.violation(
                f"{who} already approved as {other.role}; one person cannot fill both approval roles.",
                f"approval from a different member of the {group}",
            )
        )
    return tuple(found)


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering approved: the recorded approvals are by two people, neither of them the engineer."""
    found = [
        RULE.violation(
            f"{a.approver} is the engineer of this change and cannot approve it.",
            f"approval from a member of the {ROLE_GROUP[a.role]} other than the engineer",
        )
        for a in change.approvals
        if a.approver == change.engineer
    ]
    lead, security = change.approval_for(Role.LEAD), change.approval_for(Role.SECURITY)
    if lead and security and lead.approver == security.approver:
        found.append(
            RULE.violation(
                f"{lead.approver} gave both approvals; one person cannot fill both approval roles.",
                "approval from a second person for the security role",
            )
        )
    return tuple(found)


REQUIRED = {Stage.APPROVED: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    if found := requirement(change, now, policy):
        return VIOLATED, " ".join(v.message for v in found)
    if not change.approvals:
        return PENDING, "no approval recorded yet"
    if not explain:
        return HELD, ""
    people = " and ".join(a.approver for a in change.approvals)
    return HELD, f"approved by {people}, none of them the engineer {change.engineer}"
