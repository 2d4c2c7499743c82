"""R5 (step 3): deploying needs a completed peer review and a security review, neither by the engineer,
the security review by a member of the Security Team."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Change, Groups, Review, ReviewKind, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, Rule, Verdict, at, name, open_items

RULE = Rule("R5", 3, "peer review and security review by people other than the engineer")
REVIEW_NAME = {ReviewKind.PEER: "peer review", ReviewKind.SECURITY: "security review"}
KINDS = tuple(ReviewKind)
REVIEW_STAGES = frozenset({Stage.APPROVED, Stage.IN_REVIEW, Stage.REVIEWED})


def on_review(change: Change, review: Review, groups: Groups) -> tuple[Violation, ...]:
    """Before recording a review: after approval and before deploy, not by the engineer, and the
    security review by a member of the Security Team."""
    who = review.reviewer
    found = []
    if change.stage not in REVIEW_STAGES:
        found.append(
            RULE.violation(
                f"Reviews are recorded after approval and before deploy; it is {name(change.stage)}."
            )
        )
    if who == change.engineer:
        found.append(
            RULE.violation(
                f"{who} is the engineer of this change and cannot review it.",
                f"{review.kind} review by someone other than the engineer",
            )
        )
    if review.kind is ReviewKind.SECURITY and who not in groups.security:
        found.append(
            RULE.violation(
                f"{who} is not a member of the Security Team and cannot do the security review.",
                "security review by a member of the Security Team",
            )
        )
    return tuple(found)


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering reviewed needs both reviews, by someone other than the engineer."""
    missing = [
        f"{REVIEW_NAME[kind]} by someone other than the engineer"
        for kind in KINDS
        if (review := change.review_for(kind)) is None or review.reviewer == change.engineer
    ]
    if not missing:
        return ()
    message = "Deploying needs a completed peer review and a security review, neither by the engineer."
    return (RULE.violation(message, *missing),)


REQUIRED = {Stage.REVIEWED: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    if found := requirement(change, now, policy):
        return open_items(change, found, Stage.DEPLOYED)
    if not explain:
        return HELD, ""
    return HELD, "; ".join(
        f"{r.kind} review by {r.reviewer} {at(r.at, policy.zone)} ({r.evidence})" for r in change.reviews
    )
