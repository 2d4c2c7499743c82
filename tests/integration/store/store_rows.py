"""Rows to start from in store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.store.tables import ApprovalRow, ChangeRow, PostMortemRow, ReviewRow

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def a_change(key: str = "ECM-1", **overrides: object) -> ChangeRow:
    fields: dict[str, object] = {
        "tool": "jira",
        "key": key,
        "engineer": "alice",
        "stage": "awaiting_approval",
        "title": "Database failover",
        "category": "service outage",
        "impact": "checkout is down",
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    return ChangeRow(**fields)


def a_deployed_change(key: str = "ECM-2") -> ChangeRow:
    row = a_change(key, stage="postmortem", deployed_at=T0 + timedelta(hours=3))
    row.approvals = [
        ApprovalRow(
            approver="lena",
            role="lead",
            method="written",
            granted_at=T0 + timedelta(minutes=10),
            recorded_by="lena",
            evidence="comment:10001",
        ),
        ApprovalRow(
            approver="sam",
            role="security",
            method="verbal",
            granted_at=T0 + timedelta(minutes=12),
            recorded_by="alice",
            evidence="comment:10002",
            channel="phone",
            confirm_by=T0 + timedelta(days=1),
        ),
    ]
    row.reviews = [
        ReviewRow(reviewer="bob", kind="peer", at=T0 + timedelta(hours=1), evidence="comment:10003")
    ]
    row.postmortem = PostMortemRow(
        due_at=T0 + timedelta(days=3), assignee="alice", participants=["lena", "sam"]
    )
    return row
