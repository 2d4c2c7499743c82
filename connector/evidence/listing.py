"""Lists of changes for the admin API and the dashboard: filtered, newest first, paged by offset or cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.evidence.packet import iso
from connector.procedure.model import Stage
from connector.store.reports import STATUSES, changes_page
from connector.store.tables import ChangeRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_LIMIT = 500
MAX_ID = 2**31 - 1  # change ids (and so offsets and cursors) are 32-bit integers in the database
TOOLS = ("jira", "servicenow")


class BadFilter(ValueError):
    """A query parameter that is not understood; the message names it."""


@dataclass(frozen=True)
class ChangeFilter:
    stage: str | None = None
    status: str | None = None  # open | finished
    tool: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0
    cursor: int | None = None  # id of the last change of the previous page

    def __post_init__(self) -> None:
        if self.stage is not None and self.stage not in {s.value for s in Stage}:
            raise BadFilter(f"stage: must be one of {', '.join(s.value for s in Stage)}")
        if self.status is not None and self.status not in STATUSES:
            raise BadFilter(f"status: must be one of {', '.join(STATUSES)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadFilter(f"limit: must be between 1 and {MAX_LIMIT}")
        if self.tool is not None and self.tool not in TOOLS:
            raise BadFilter(f"tool: must be one of {', '.join(TOOLS)}")
        if not 0 <= self.offset <= MAX_ID:
            raise BadFilter(f"offset: must be between 0 and {MAX_ID}")
        if self.cursor is not None and not 1 <= self.cursor <= MAX_ID:
            raise BadFilter(f"cursor: must be a change id (a whole number from 1 to {MAX_ID})")


def list_changes(session: Session, wanted: ChangeFilter, now: datetime) -> dict[str, Any]:
    rows = changes_page(
        session,
        limit=wanted.limit + 1,
        stage=wanted.stage,
        status=wanted.status,
        tool=wanted.tool,
        overdue_at=now if wanted.overdue else None,
        offset=wanted.offset,
        cursor=wanted.cursor,
    )
    page, more = rows[: wanted.limit], len(rows) > wanted.limit
    return {
        "items": [change_item(row, now) for row in page],
        "limit": wanted.limit,
        "offset": None if wanted.cursor is not None else wanted.offset,
        "next_cursor": page[-1].id if more and page else None,
    }


def change_item(row: ChangeRow, now: datetime) -> dict[str, Any]:
    pm = row.postmortem
    return {
        "tool": row.tool,
        "key": row.key,
        "url": row.url,
        "title": row.title,
        "project": row.project,
        "team": row.team,
        "engineer": row.engineer,
        "stage": row.stage,
        "category": row.category,
        "created_at": iso(row.created_at),
        "deployed_at": iso(row.deployed_at),
        "closed_at": iso(row.closed_at),
        "postmortem_key": pm.key if pm else None,
        "postmortem_due_at": iso(pm.due_at) if pm else None,
        "postmortem_done_at": iso(pm.done_at) if pm else None,
        "overdue": bool(pm and pm.done_at is None and pm.due_at < now),
    }
