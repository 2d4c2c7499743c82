"""What must be true of a change before it may enter a stage: one check per rule, and the table
from stage to checks. Each check looks only at recorded facts and returns its violations.

Group membership is judged when an approval, review or rejection is recorded (see `rules`);
these checks re-verify who did what (never the engineer, two different people), not group lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from connector.procedure.model import Change, Method, ReviewKind, Role, Stage, Violation
from connector.procedure.policy import Policy


class RuleInfo(NamedTuple):
    step: int
    title: str


RULES: Mapping[str, RuleInfo] = MappingProxyType(
    {
        "R1": RuleInfo(1, "critical issue category and impact stated; leads and security notified"),
        "R2": RuleInfo(2, "approval from an Engineering Lead and from a Security Team member"),
        "R3": RuleInfo(2, "no self-approval; one person cannot fill both approval roles"),
        "R4": RuleInfo(2, "every approval documented; verbal approvals confirmed in writing in time"),
        "R5": RuleInfo(3, "peer review and security review by people other than the engineer"),
        "R6": RuleInfo(4, "deploy time recorded; no deploy before approval and reviews"),
        "R7": RuleInfo(5, "post-mortem task created on deploy, due in business days"),
        "R8": RuleInfo(5, "closing needs the post-mortem report, the pull request and the documentation"),
        "R9": RuleInfo(0, "a transition that breaks the procedure is blocked or reverted"),
        "R10": RuleInfo(5, "reminders before the post-mortem deadline, breach alert and escalation after"),
    }
)
"""Rule id -> (procedure step, title). R9 applies to every step; its violations carry the target's."""

ROLE_GROUP = MappingProxyType({Role.LEAD: "Engineering Leads", Role.SECURITY: "Security Team"})
REVIEW_NAME = MappingProxyType({ReviewKind.PEER: "peer review", ReviewKind.SECURITY: "security review"})

Check = Callable[[Change, datetime, Policy], tuple[Violation, ...]]


def violation(rule: str, message: str, *missing: str, step: int | None = None) -> Violation:
    return Violation(rule, RULES[rule].step if step is None else step, message, tuple(missing))


def r1_identified(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    missing = []
    if policy.category(change.category) is None:
        missing.append("critical issue category (one of: " + ", ".join(policy.categories) + ")")
    if not (change.impact or "").strip():
        missing.append("impact description")
    if not missing:
        return ()
    return (
        violation(
            "R1", "An emergency change must state its critical issue category and its impact.", *missing
        ),
    )


def r2_both_roles(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    missing = [
        f"approval from a member of the {ROLE_GROUP[role]}"
        for role in Role
        if change.approval_for(role) is None
    ]
    if not missing:
        return ()
    message = (
        "Leaving approval needs an approval from an Engineering Lead and one from a Security Team member."
    )
    return (violation("R2", message, *missing),)


def r3_separation(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    found = []
    for approval in change.approvals:
        if approval.approver == change.engineer:
            found.append(
                violation(
                    "R3",
                    f"{approval.approver} is the engineer of this change and cannot approve it.",
                    f"approval from a member of the {ROLE_GROUP[approval.role]} other than the engineer",
                )
            )
    lead, security = change.approval_for(Role.LEAD), change.approval_for(Role.SECURITY)
    if lead and security and lead.approver == security.approver:
        found.append(
            violation(
                "R3",
                f"{lead.approver} gave both approvals; one person cannot fill both approval roles.",
                "approval from a second person for the security role",
            )
        )
    return tuple(found)


def r4_documented(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    found = []
    for a in change.approvals:
        if not a.evidence.strip():
            found.append(
                violation(
                    "R4",
                    f"The {a.role} approval by {a.approver} has no recorded evidence.",
                    f"evidence of the {a.role} approval (comment or approval record)",
                )
            )
        if a.method is Method.VERBAL and not a.confirmed and (a.confirm_by is None or now > a.confirm_by):
            due = a.confirm_by.isoformat() if a.confirm_by else "its deadline"
            found.append(
                violation(
                    "R4",
                    f"The verbal {a.role} approval by {a.approver} was not confirmed in writing by {due}.",
                    f"written confirmation by {a.approver} of their verbal approval",
                )
            )
    return tuple(found)


def r5_reviews(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    missing = []
    for kind in ReviewKind:
        review = change.review_for(kind)
        if review is None or review.reviewer == change.engineer:
            missing.append(f"{REVIEW_NAME[kind]} by someone other than the engineer")
    if not missing:
        return ()
    message = "Deploying needs a completed peer review and a security review, neither by the engineer."
    return (violation("R5", message, *missing),)


PRE_DEPLOY: tuple[Check, ...] = (r1_identified, r2_both_roles, r3_separation, r4_documented, r5_reviews)


def not_ready(change: Change, now: datetime, policy: Policy) -> tuple[str, ...]:
    """The items R1-R5 still miss at `now`."""
    return tuple(m for check in PRE_DEPLOY for v in check(change, now, policy) for m in v.missing)


def r6_not_before_approval(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """R6 names the order only: what is missing, R1-R5 list (each item once in a comment)."""
    if not not_ready(change, now, policy):
        return ()
    return (violation("R6", "Deployed before the change was approved and reviewed."),)


def r6_deploy_recorded(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    if change.deployed_at is not None:
        return ()
    return (violation("R6", "The deploy time of this change has not been recorded.", "deploy time"),)


def r7_postmortem_task(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    if change.postmortem is not None:
        return ()
    return (
        violation(
            "R7", "The post-mortem task has not been created.", "post-mortem task linked to the change"
        ),
    )


def retroactive_items(change: Change, policy: Policy | None = None) -> tuple[str, ...]:
    """What is still open for R8: post-mortem report, pull request link, change documentation."""
    policy = policy or Policy()
    items = []
    if change.postmortem is None or not change.postmortem.done:
        items.append("post-mortem task done with a report link")
    if not (change.pr_url or "").strip():
        items.append("Pull Request link")
    by_close_code = policy.close_code_documents_change
    documented = bool((change.docs_url or "").strip()) or (
        by_close_code and bool((change.close_code or "").strip())
    )
    if not documented and policy.require_docs:
        items.append("standard change documentation" + (" (close code)" if by_close_code else ""))
    return tuple(items)


def r8_retroactive(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    missing = retroactive_items(change, policy)
    if not missing:
        return ()
    message = (
        "Closing needs the post-mortem done with its report, the pull request link and the documentation."
    )
    return (violation("R8", message, *missing),)


REQUIREMENTS: Mapping[Stage, tuple[Check, ...]] = MappingProxyType(
    {
        Stage.IDENTIFIED: (),
        Stage.AWAITING_APPROVAL: (r1_identified,),
        Stage.APPROVED: (r2_both_roles, r3_separation, r4_documented),
        Stage.IN_REVIEW: (),
        Stage.REVIEWED: (r5_reviews,),
        Stage.DEPLOYED: (r6_not_before_approval,),
        Stage.POSTMORTEM: (r6_deploy_recorded, r7_postmortem_task),
        Stage.CLOSED: (r8_retroactive,),
    }
)
"""Checks a change must pass to enter each forward stage (beyond those of the stages before it)."""
