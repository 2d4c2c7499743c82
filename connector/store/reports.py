"""The queries behind the admin API's lists, the dashboard's first page and a period's summary: pages of
changes, bounded lists, and figures the database aggregates so that they stay fast. What they return is
shaped for a reader by `connector/evidence/` (listing, overview, summary)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from connector.procedure.model import TERMINAL_STAGES
from connector.store.tables import ApprovalRow, ChangeRow, DeployRow, PostMortemRow, ViolationRow

STATUSES = {
    "open": ChangeRow.stage.not_in([s.value for s in TERMINAL_STAGES]),
    "finished": ChangeRow.stage.in_([s.value for s in TERMINAL_STAGES]),
}


def changes_page(
    session: Session,
    *,
    limit: int,
    stage: str | None = None,
    status: str | None = None,
    tool: str | None = None,
    overdue_at: datetime | None = None,
    offset: int = 0,
    cursor: int | None = None,
) -> list[ChangeRow]:
    """Up to `limit` changes, newest first, with their post-mortems: of a stage, a status (open |
    finished), a tool, with a post-mortem overdue at `overdue_at`; after the change `cursor` (the id of
    the last change of the previous page), else past `offset` changes."""
    query = select(ChangeRow).options(selectinload(ChangeRow.postmortem)).order_by(ChangeRow.id.desc())
    if stage:
        query = query.where(ChangeRow.stage == stage)
    if status:
        query = query.where(STATUSES[status])
    if tool:
        query = query.where(ChangeRow.tool == tool)
    if overdue_at is not None:
        query = query.join(PostMortemRow).where(
            PostMortemRow.done_at.is_(None), PostMortemRow.due_at < overdue_at
        )
    query = query.where(ChangeRow.id < cursor) if cursor is not None else query.offset(offset)
    return list(session.scalars(query.limit(limit)))


def open_by_stage(session: Session) -> dict[str, int]:
    """Open changes counted by stage (stages with none left out)."""
    query = select(ChangeRow.stage, func.count()).where(STATUSES["open"]).group_by(ChangeRow.stage)
    return {stage: n for stage, n in session.execute(query)}


def open_postmortems(session: Session, limit: int) -> Sequence[Row[tuple[PostMortemRow, ChangeRow]]]:
    """(post-mortem, change) of the post-mortems not done, the earliest due first."""
    query = (
        select(PostMortemRow, ChangeRow)
        .join(ChangeRow)
        .where(PostMortemRow.done_at.is_(None))
        .order_by(PostMortemRow.due_at)
        .limit(limit)
    )
    return session.execute(query).all()


def unconfirmed_verbal(
    session: Session, limit: int
) -> Sequence[Row[tuple[ApprovalRow, str, str | None, str]]]:
    """(approval, change key, url, tool) of the verbal approvals not confirmed, the earliest due first."""
    query = (
        select(ApprovalRow, ChangeRow.key, ChangeRow.url, ChangeRow.tool)
        .join(ChangeRow)
        .where(ApprovalRow.method == "verbal", ApprovalRow.confirmed_at.is_(None))
        .order_by(ApprovalRow.confirm_by)
        .limit(limit)
    )
    return session.execute(query).all()


def recent_violations(session: Session, limit: int) -> Sequence[Row[tuple[ViolationRow, str, str | None]]]:
    """(violation, change key, url), the newest first."""
    query = (
        select(ViolationRow, ChangeRow.key, ChangeRow.url)
        .join(ChangeRow, ChangeRow.id == ViolationRow.change_id)
        .order_by(ViolationRow.at.desc())
        .limit(limit)
    )
    return session.execute(query).all()


def recent_bypasses(session: Session, limit: int) -> Sequence[Row[tuple[DeployRow, str | None, str | None]]]:
    """(deploy, key, url of the change opened for it) of the production deploys without an approved
    change, the newest first."""
    query = (
        select(DeployRow, ChangeRow.key, ChangeRow.url)
        .outerjoin(ChangeRow, ChangeRow.id == DeployRow.bypass_change_id)
        .where(DeployRow.bypass.is_(True))
        .order_by(DeployRow.deployed_at.desc())
        .limit(limit)
    )
    return session.execute(query).all()


# --- a period's figures: changes created in [start, end) ----------------------------------------------


def _created(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(ChangeRow.created_at >= start, ChangeRow.created_at < end)


def changes_created(session: Session, start: datetime, end: datetime) -> int:
    return session.scalar(select(func.count()).select_from(ChangeRow).where(_created(start, end))) or 0


def judged_postmortems(
    session: Session, start: datetime, end: datetime, now: datetime
) -> Sequence[Row[tuple[datetime, datetime | None, datetime | None]]]:
    """(due, done, deployed) of the period's post-mortems that are done or past due at `now`."""
    query = (
        select(PostMortemRow.due_at, PostMortemRow.done_at, ChangeRow.deployed_at)
        .join(ChangeRow)
        .where(_created(start, end), or_(PostMortemRow.done_at.is_not(None), PostMortemRow.due_at < now))
    )
    return session.execute(query).all()


def approval_spans(
    session: Session, start: datetime, end: datetime
) -> Sequence[Row[tuple[datetime, datetime | None]]]:
    """(created, last approval granted) of the period's changes approved in both roles."""
    query = (
        select(ChangeRow.created_at, func.max(ApprovalRow.granted_at))
        .join(ApprovalRow)
        .where(_created(start, end))
        .group_by(ChangeRow.id)
        .having(func.count(func.distinct(ApprovalRow.role)) == 2)
    )
    return session.execute(query).all()


def confirmation_spans(
    session: Session, start: datetime, end: datetime
) -> Sequence[Row[tuple[datetime, datetime | None]]]:
    """(granted, confirmed) of the period's verbal approvals."""
    query = (
        select(ApprovalRow.granted_at, ApprovalRow.confirmed_at)
        .join(ChangeRow)
        .where(_created(start, end), ApprovalRow.method == "verbal")
    )
    return session.execute(query).all()


def deploys_reported(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(production deploys reported in [start, end), those without an approved change)."""
    deployed = and_(DeployRow.deployed_at >= start, DeployRow.deployed_at < end)
    query = select(func.count(), func.count().filter(DeployRow.bypass.is_(True))).where(deployed)
    total, bypasses = session.execute(query).one()
    return total or 0, bypasses or 0


def violated_rules(session: Session, start: datetime, end: datetime) -> list[list[str]]:
    """The rules each recorded violation of the period's changes broke."""
    query = (
        select(ViolationRow.rules)
        .join(ChangeRow, ChangeRow.id == ViolationRow.change_id)
        .where(_created(start, end))
    )
    return [list(rules or ()) for rules in session.scalars(query)]


def repeat_approvers(
    session: Session, start: datetime, end: datetime, least: int, limit: int
) -> list[tuple[str, int]]:
    """(approver, approvals) of those who approved at least `least` of the period's changes, most first."""
    query = (
        select(ApprovalRow.approver, func.count())
        .join(ChangeRow)
        .where(_created(start, end))
        .group_by(ApprovalRow.approver)
        .having(func.count() >= least)
        .order_by(func.count().desc(), ApprovalRow.approver)
        .limit(limit)
    )
    return [(name, n) for name, n in session.execute(query)]


def changes_per(
    session: Session, column: InstrumentedAttribute[Any], start: datetime, end: datetime, limit: int
) -> list[tuple[str | None, int]]:
    """(value of `column`, changes) of the period, most first."""
    query = (
        select(column, func.count())
        .where(_created(start, end))
        .group_by(column)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [(name, n) for name, n in session.execute(query)]
