"""R4 (step 2): each approval is documented (who, role, when, method, evidence). A verbal approval is
recorded by the engineer, names its channel, and is confirmed in writing by its approver in time."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Approval, Change, Method, Role, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, PENDING, VIOLATED, Rule, Verdict, approval_text, at

RULE = Rule("R4", 2, "every approval documented; verbal approvals confirmed in writing in time")


def on_approval(change: Change, approval: Approval) -> tuple[Violation, ...]:
    """Before recording an approval: a written one has its evidence; a verbal one its channel, the
    engineer's record and a deadline for the written confirmation."""
    if approval.method is not Method.VERBAL:
        if approval.evidence.strip():
            return ()
        return (
            RULE.violation(
                "A written approval needs its evidence.", "comment or approval record of the approval"
            ),
        )
    found = []
    if not (approval.channel or "").strip():
        found.append(
            RULE.violation(
                "A verbal approval must name the channel it was given on.", "channel of the approval"
            )
        )
    if approval.recorded_by != change.engineer:
        found.append(
            RULE.violation(
                "A verbal approval is recorded by the engineer of the change.", "engineer's record"
            )
        )
    if approval.confirm_by is None:
        found.append(
            RULE.violation(
                "A verbal approval needs a deadline for its written confirmation.", "confirm-by time"
            )
        )
    return tuple(found)


def on_confirmation(change: Change, role: Role, actor: str) -> tuple[Violation, ...]:
    """Only the named approver confirms their own verbal approval, and only one that is open."""
    approval = change.approval_for(role)
    if approval is None or approval.method is not Method.VERBAL or approval.confirmed:
        return (RULE.violation(f"There is no unconfirmed verbal {role} approval to confirm."),)
    if actor != approval.approver:
        return (
            RULE.violation(
                f"Only {approval.approver} can confirm their verbal approval; {actor} cannot.",
                f"written confirmation by {approval.approver}",
            ),
        )
    return ()


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering approved (and every later step before deploy): each approval has its evidence, and each
    verbal one is confirmed, or still within its deadline."""
    found = []
    for a in change.approvals:
        if not a.evidence.strip():
            found.append(
                RULE.violation(
                    f"The {a.role} approval by {a.approver} has no recorded evidence.",
                    f"evidence of the {a.role} approval (comment or approval record)",
                )
            )
        if a.method is Method.VERBAL and not a.confirmed and (a.confirm_by is None or now > a.confirm_by):
            due = at(a.confirm_by, policy.zone) if a.confirm_by else "its deadline"
            found.append(
                RULE.violation(
                    f"The verbal {a.role} approval by {a.approver} was not confirmed in writing by {due}.",
                    f"written confirmation by {a.approver} of their verbal approval",
                )
            )
    return tuple(found)


REQUIRED = {Stage.APPROVED: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    found = requirement(change, now, policy)
    late = [a for a in change.approvals if a.confirmed_at and a.confirm_by and a.confirmed_at > a.confirm_by]
    if found or late:
        texts = [v.message for v in found] + [
            f"{a.approver} confirmed the verbal {a.role} approval late "
            f"({at(a.confirmed_at, policy.zone)}, due {at(a.confirm_by, policy.zone)})."
            for a in late
        ]
        return VIOLATED, " ".join(texts)
    if not change.approvals or not all(a.confirmed for a in change.approvals):
        return PENDING, "; ".join(
            approval_text(a, policy.zone) for a in change.approvals
        ) or "no approval recorded yet"
    return HELD, "; ".join(approval_text(a, policy.zone) for a in change.approvals) if explain else ""
