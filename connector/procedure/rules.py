"""Rules R1-R10 of ENG-PROC-004 as pure functions: facts in, a `Decision` out.

Each `check_*` answers one question the connector asks before recording something or before
letting a transition stand. Time, group membership and policy are arguments; nothing here reads
a clock or does I/O.
"""

from __future__ import annotations

from datetime import datetime

from connector.procedure.evidence import RuleStatus, Status, evaluate
from connector.procedure.model import (
    ALLOWED,
    TERMINAL_STAGES,
    Approval,
    Change,
    Decision,
    Groups,
    Method,
    Rejection,
    Review,
    ReviewKind,
    Role,
    Stage,
    Violation,
)
from connector.procedure.policy import Policy
from connector.procedure.requirements import (
    REQUIREMENTS,
    ROLE_GROUP,
    RULES,
    r1_identified,
    retroactive_items,
    violation,
)
from connector.procedure.stages import ORDER, STEP, is_forward, passed

__all__ = [
    "RULES",
    "RuleStatus",
    "Status",
    "check_approval",
    "check_confirmation",
    "check_created",
    "check_rejection",
    "check_review",
    "check_transition",
    "evaluate",
    "retroactive_items",
]

APPROVAL_STAGES = frozenset({Stage.IDENTIFIED, Stage.AWAITING_APPROVAL})
REVIEW_STAGES = frozenset({Stage.APPROVED, Stage.IN_REVIEW, Stage.REVIEWED})
BEFORE_DEPLOY = frozenset(ORDER[: ORDER.index(Stage.DEPLOYED)])


def _decide(*found: Violation | None) -> Decision:
    violations = tuple(v for v in found if v is not None)
    return Decision(violations) if violations else ALLOWED


def _name(stage: Stage) -> str:
    return stage.value.replace("_", " ")


def check_created(change: Change, policy: Policy) -> Decision:
    """R1: a new emergency change names its critical issue category and describes the impact."""
    return _decide(*r1_identified(change, change.created_at, policy))


def check_approval(change: Change, approval: Approval, groups: Groups, policy: Policy) -> Decision:
    """R2-R4 before recording an approval: who may approve, for which role, documented how."""
    who, role, group = approval.approver, approval.role, ROLE_GROUP[approval.role]
    other = change.approval_for(Role.SECURITY if role is Role.LEAD else Role.LEAD)
    already = change.approval_for(role)
    verbal = approval.method is Method.VERBAL
    return _decide(
        None
        if change.stage in APPROVAL_STAGES
        else violation(
            "R2", f"Approvals are recorded while a change awaits approval; it is {_name(change.stage)}."
        ),
        None
        if role in groups.roles_of(who)
        else violation(
            "R2", f"{who} is not a member of the {group} group.", f"approval from a member of the {group}"
        ),
        None
        if who != change.engineer
        else violation(
            "R3",
            f"{who} is the engineer of this change and cannot approve it.",
            f"approval from a member of the {group} other than the engineer",
        ),
        None
        if other is None or other.approver != who
        else violation(
            "R3",
            f"{who} already approved as {other.role}; one person cannot fill both approval roles.",
            f"approval from a different member of the {group}",
        ),
        None
        if already is None
        else violation(
            "R2", f"The {role} approval is already recorded (by {already.approver}); it is not repeated."
        ),
        None
        if verbal or approval.evidence.strip()
        else violation(
            "R4", "A written approval needs its evidence.", "comment or approval record of the approval"
        ),
        None
        if not verbal or (approval.channel or "").strip()
        else violation(
            "R4", "A verbal approval must name the channel it was given on.", "channel of the approval"
        ),
        None
        if not verbal or approval.recorded_by == change.engineer
        else violation(
            "R4", "A verbal approval is recorded by the engineer of the change.", "engineer's record"
        ),
        None
        if not verbal or approval.confirm_by is not None
        else violation(
            "R4", "A verbal approval needs a deadline for its written confirmation.", "confirm-by time"
        ),
    )


def check_confirmation(change: Change, role: Role, actor: str, at: datetime) -> Decision:
    """R4: only the named approver confirms their own verbal approval, and only one that is open."""
    approval = change.approval_for(role)
    if approval is None or approval.method is not Method.VERBAL or approval.confirmed:
        return _decide(violation("R4", f"There is no unconfirmed verbal {role} approval to confirm."))
    if actor != approval.approver:
        return _decide(
            violation(
                "R4",
                f"Only {approval.approver} can confirm their verbal approval; {actor} cannot.",
                f"written confirmation by {approval.approver}",
            )
        )
    return ALLOWED


def check_review(change: Change, review: Review, groups: Groups) -> Decision:
    """R5: reviews after approval, by someone other than the engineer; security review by Security."""
    who = review.reviewer
    return _decide(
        None
        if change.stage in REVIEW_STAGES
        else violation(
            "R5", f"Reviews are recorded after approval and before deploy; it is {_name(change.stage)}."
        ),
        None
        if who != change.engineer
        else violation(
            "R5",
            f"{who} is the engineer of this change and cannot review it.",
            f"{review.kind} review by someone other than the engineer",
        ),
        None
        if review.kind is not ReviewKind.SECURITY or who in groups.security
        else violation(
            "R5",
            f"{who} is not a member of the Security Team and cannot do the security review.",
            "security review by a member of the Security Team",
        ),
    )


def check_rejection(change: Change, rejection: Rejection, groups: Groups) -> Decision:
    """Only an Engineering Lead or Security Team member other than the engineer rejects, with a reason."""
    who = rejection.by
    return _decide(
        None
        if change.stage in APPROVAL_STAGES
        else violation(
            "R2", f"Only a change awaiting approval can be rejected; it is {_name(change.stage)}."
        ),
        None
        if groups.roles_of(who) and who != change.engineer
        else violation(
            "R2",
            f"{who} cannot reject this change: only an Engineering Lead or Security Team member other "
            "than the engineer can.",
        ),
        None
        if rejection.reason.strip()
        else violation("R2", "A rejection must give its reason.", "reason for the rejection"),
    )


def _r9(change: Change, to: Stage, message: str) -> Decision:
    return _decide(violation("R9", message, step=STEP[to]))


def check_transition(
    change: Change, to: Stage, actor: str, groups: Groups, now: datetime, policy: Policy
) -> Decision:
    """May `change` move to `to` now? Prerequisites are cumulative over every stage entered.

    While the change has not been deployed, every check up to the target is re-run (facts may
    have changed, e.g. a verbal approval ran out of time); after deploy only the new stages' checks.
    `actor` and `groups` identify who moves the change; the rules judge facts, not the mover.
    """
    to = Stage(to)  # a stage name from a mapping works as well
    if to is change.stage:
        return ALLOWED
    if change.stage in TERMINAL_STAGES:
        return _r9(change, to, f"The change is {_name(change.stage)}; nothing follows that in the procedure.")
    if to is Stage.CANCELLED:
        if change.stage in BEFORE_DEPLOY:
            return ALLOWED
        return _r9(
            change, to, "The change is already deployed and cannot be cancelled; finish the post-mortem."
        )
    if to is Stage.REJECTED:
        if change.stage not in APPROVAL_STAGES:
            return _r9(
                change, to, f"Only a change awaiting approval can be rejected; it is {_name(change.stage)}."
            )
        if change.rejection is None:
            return _decide(
                violation(
                    "R2",
                    "A change is rejected only through a recorded rejection with its reason.",
                    "rejection by an Engineering Lead or Security Team member, with a reason",
                )
            )
        return check_rejection(change, change.rejection, groups)
    if not is_forward(change.stage, to):
        return _r9(
            change,
            to,
            f"Moving from {_name(change.stage)} back to {_name(to)} is not a step of the procedure.",
        )
    entered = ORDER[1 : ORDER.index(to) + 1] if change.stage in BEFORE_DEPLOY else passed(change.stage, to)
    checks = dict.fromkeys(check for stage in entered for check in REQUIREMENTS[stage])
    return _decide(*(v for check in checks for v in check(change, now, policy)))
