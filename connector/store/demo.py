"""What the demo reads back from the store after it has played a step: the outbox actions of a change
still to perform, and how one of its actions stands."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.store.tables import ChangeRow, OutboxRow


def pending_actions(session: Session, key: str) -> int:
    """The change's outbox actions not yet performed (the comment that follows an alert, say)."""
    query = (
        select(func.count())
        .select_from(OutboxRow)
        .join(ChangeRow, ChangeRow.id == OutboxRow.change_id)
        .where(ChangeRow.key == key, OutboxRow.status == "pending")
    )
    return session.scalar(query) or 0


def action_status(session: Session, key: str, action: str) -> str | None:
    """The status (pending, done, dead) of the change's `action` row, or None when none is queued."""
    query = (
        select(OutboxRow.status)
        .join(ChangeRow, ChangeRow.id == OutboxRow.change_id)
        .where(OutboxRow.action == action, ChangeRow.key == key)
    )
    return session.scalar(query)
