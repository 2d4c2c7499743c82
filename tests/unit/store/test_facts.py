"""The one row -> facts builder puts every stored column in the field of its name (it passes them by
position, in the order the model declares its fields): every value below is distinct, so a swap shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from connector.procedure.model import (
    Approval,
    Change,
    Method,
    PostMortem,
    Rejection,
    Review,
    ReviewKind,
    Role,
    Stage,
)
from connector.store.facts import facts_of

T = datetime(2026, 12, 7, 9, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T + timedelta(hours=hours)


APPROVAL = {
    "approver": "lead.liam",
    "role": "lead",
    "method": "verbal",
    "granted_at": at(1),
    "recorded_by": "eng.emma",
    "evidence": "comment:1",
    "channel": "phone",
    "confirm_by": at(2),
    "confirmed_at": at(3),
    "confirmation_evidence": "comment:2",
}
REVIEW = {"reviewer": "rev.rob", "kind": "security", "at": at(4), "evidence": "comment:3"}
POSTMORTEM = {
    "key": "PM-1",
    "created_at": at(6),
    "due_at": at(7),
    "assignee": "eng.erin",
    "participants": ["lead.liam", "sec.sara"],
    "done_at": at(8),
    "report_url": "https://wiki.example.com/pm/1",
}
CHANGE = {
    "tool": "servicenow",
    "key": "CHG0001",
    "engineer": "eng.emma",
    "stage": "closed",
    "created_at": at(0),
    "category": "Service outage",
    "impact": "checkout down",
    "notified_at": T + timedelta(minutes=30),
    "rejected_by": "sec.sam",
    "rejected_role": "security",
    "rejected_at": at(1),
    "rejection_reason": "too risky",
    "rejection_evidence": "comment:9",
    "deployed_at": at(5),
    "pr_url": "https://git.example.com/pr/1",
    "docs_url": "https://wiki.example.com/d/1",
    "close_code": "Successful",
    "closed_at": at(9),
    "title": "Outage",
    "project": "SHOP",
    "team": "payments",
}


def test_every_stored_column_lands_in_the_fact_of_its_name():
    facts = facts_of(
        SimpleNamespace(**CHANGE),
        [SimpleNamespace(**APPROVAL)],
        [SimpleNamespace(**REVIEW)],
        SimpleNamespace(**POSTMORTEM),
    )
    expected = Change(
        tool="servicenow",
        key="CHG0001",
        engineer="eng.emma",
        stage=Stage.CLOSED,
        created_at=at(0),
        category="Service outage",
        impact="checkout down",
        notified_at=T + timedelta(minutes=30),
        approvals=(Approval(**{**APPROVAL, "role": Role.LEAD, "method": Method.VERBAL}),),
        rejection=Rejection(
            by="sec.sam", role=Role.SECURITY, at=at(1), reason="too risky", evidence="comment:9"
        ),
        reviews=(Review(**{**REVIEW, "kind": ReviewKind.SECURITY}),),
        deployed_at=at(5),
        postmortem=PostMortem(**{**POSTMORTEM, "participants": ("lead.liam", "sec.sara")}),
        pr_url="https://git.example.com/pr/1",
        docs_url="https://wiki.example.com/d/1",
        close_code="Successful",
        closed_at=at(9),
        title="Outage",
        project="SHOP",
        team="payments",
    )
    assert facts == expected


def test_a_post_mortem_not_yet_created_counts_from_the_deploy_and_no_rejection_is_none():
    change = SimpleNamespace(**{**CHANGE, "rejected_by": None, "rejected_at": None})
    pm = SimpleNamespace(**{**POSTMORTEM, "key": None, "created_at": None, "participants": None})
    facts = facts_of(change, [], [], pm)
    assert facts.rejection is None
    assert (facts.postmortem.key, facts.postmortem.created_at, facts.postmortem.participants) == (
        "",
        at(5),
        (),
    )
