"""Facts of emergency changes for the procedure tests: a change that satisfies every rule up to
a given stage, and the people who play each part."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.procedure.model import (
    Approval,
    Change,
    Groups,
    Method,
    PostMortem,
    Rejection,
    Review,
    ReviewKind,
    Role,
    Stage,
)
from connector.procedure.stages import ORDER

ENGINEER = "eng.erin"
LEAD = "lead.liam"
SECURITY = "sec.sara"
PEER = "peer.pat"
BOTH = "both.bo"  # member of both approver groups
OUTSIDER = "dev.dana"
GROUPS = Groups(leads=frozenset({LEAD, BOTH}), security=frozenset({SECURITY, BOTH}))

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=3)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def approval(approver: str, role: Role, **changes) -> Approval:
    written = Approval(approver, role, Method.WRITTEN, at(10), approver, f"comment:{approver}")
    return replace(written, **changes)


def verbal(approver: str, role: Role, confirm_by: datetime, **changes) -> Approval:
    spoken = Approval(
        approver,
        role,
        Method.VERBAL,
        at(10),
        ENGINEER,
        "comment:verbal",
        channel="phone",
        confirm_by=confirm_by,
    )
    return replace(spoken, **changes)


def _identified(change: Change) -> Change:
    return change


def _awaiting(change: Change) -> Change:
    return replace(
        change, category="service outage", impact="Checkout fails for all EU customers", notified_at=at(1)
    )


def _approved(change: Change) -> Change:
    return replace(change, approvals=(approval(LEAD, Role.LEAD), approval(SECURITY, Role.SECURITY)))


def _reviewed(change: Change) -> Change:
    reviews = (
        Review(PEER, ReviewKind.PEER, at(40), "comment:peer"),
        Review(SECURITY, ReviewKind.SECURITY, at(45), "x"),
    )
    return replace(change, reviews=reviews)


def _deployed(change: Change) -> Change:
    return replace(change, deployed_at=at(60))


def _postmortem(change: Change) -> Change:
    task = PostMortem("ECM-2", at(61), at(60 * 24 * 8), LEAD, (LEAD, SECURITY))
    return replace(change, postmortem=task)


def _closed(change: Change) -> Change:
    done = replace(change.postmortem, done_at=at(60 * 24 * 3), report_url="https://wiki.example/pm/ECM-1")
    return replace(
        change, postmortem=done, pr_url="https://git.example/pr/7", docs_url="https://wiki.example/ECM-1"
    )


LAYERS = {
    Stage.IDENTIFIED: _identified,
    Stage.AWAITING_APPROVAL: _awaiting,
    Stage.APPROVED: _approved,
    Stage.IN_REVIEW: _identified,
    Stage.REVIEWED: _reviewed,
    Stage.DEPLOYED: _deployed,
    Stage.POSTMORTEM: _postmortem,
    Stage.CLOSED: _closed,
}


def change_at(stage: Stage, facts_up_to: Stage | None = None, **changes) -> Change:
    """A change in `stage` with every fact needed to enter `facts_up_to` (default: `stage`)."""
    change = Change(tool="jira", key="ECM-1", engineer=ENGINEER, stage=stage, created_at=T0)
    last = facts_up_to or stage
    for layer in ORDER[: ORDER.index(last) + 1]:
        change = LAYERS[layer](change)
    return replace(change, **changes)


REJECTION = Rejection(SECURITY, Role.SECURITY, at(20), "Fix opens an injection hole", "comment:99")
