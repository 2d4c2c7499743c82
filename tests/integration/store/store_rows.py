"""Rows to start from in store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.store.db import Database
from connector.store.tables import ApprovalRow, ChangeRow, OutboxRow, PostMortemRow, ReviewRow
from connector.store.uow import UnitOfWork

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


def rows_as_written(
    database: Database, tool: str, rows: list[tuple[str, dict]], *, key: str = "ECM-1"
) -> None:
    """Change `key` of `tool` with pending outbox rows written as they are given, (action, payload) each,
    the JSON untouched by this version's codec (as an earlier version, or another, wrote it)."""
    with UnitOfWork(database) as uow:
        change = uow.changes.add(a_change(key, tool=tool))
        uow.session.flush()
        for number, (action, payload) in enumerate(rows):
            uow.session.add(
                OutboxRow(
                    tool=tool,
                    action=action,
                    payload=payload,
                    idempotency_key=f"{tool}:{key}:{action}:{number}",
                    change_id=change.id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=T0,
                    created_at=T0,
                )
            )
        uow.commit()
