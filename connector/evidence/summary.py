"""Summary figures of a period, computed by the database (aggregates) so that they stay fast.

count, share of post-mortems on time, median approval time and confirmation lag, median deploy to
post-mortem done, SLA breaches, recorded violations by rule, repeat approvers, changes per team and
project.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from connector.evidence.packet import iso
from connector.store.tables import ApprovalRow, ChangeRow, DeployRow, PostMortemRow, ViolationRow

REPEAT_APPROVER_MIN = 2
TOP = 20


def _hours(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> float | None:
    spans = [(end - start).total_seconds() / 3600 for start, end in pairs if start and end]
    return round(median(spans), 2) if spans else None


def summary(session: Session, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    in_period = and_(ChangeRow.created_at >= start, ChangeRow.created_at < end)
    count = session.scalar(select(func.count()).select_from(ChangeRow).where(in_period)) or 0
    pm = select(PostMortemRow.due_at, PostMortemRow.done_at, ChangeRow.deployed_at).join(ChangeRow)
    judged = pm.where(in_period, or_(PostMortemRow.done_at.is_not(None), PostMortemRow.due_at < now))
    postmortems = session.execute(judged).all()
    on_time = sum(1 for due, done, _ in postmortems if done is not None and done <= due)
    approvals_done = (
        select(ChangeRow.created_at, func.max(ApprovalRow.granted_at))
        .join(ApprovalRow)
        .where(in_period)
        .group_by(ChangeRow.id)
        .having(func.count(func.distinct(ApprovalRow.role)) == 2)
    )
    confirmations = (
        select(ApprovalRow.granted_at, ApprovalRow.confirmed_at)
        .join(ChangeRow)
        .where(in_period, ApprovalRow.method == "verbal")
    )
    return {
        "period": {"from": iso(start), "to": iso(end)},
        "generated_at": iso(now),
        "count": count,
        "postmortems_judged": len(postmortems),
        "share_on_time": round(on_time / len(postmortems), 4) if postmortems else None,
        "median_approval_hours": _hours(session.execute(approvals_done).all()),
        "median_verbal_confirmation_lag_hours": _hours(session.execute(confirmations).all()),
        "median_deploy_to_postmortem_hours": _hours((d, done) for _, done, d in postmortems),
        "breaches": len(postmortems) - on_time,
        "violations_by_rule": _violations_by_rule(session, in_period),
        **_deploys(session, start, end),
        "repeat_approvers": _repeat_approvers(session, in_period),
        "changes_per_team": _per(session, ChangeRow.team, in_period),
        "changes_per_project": _per(session, ChangeRow.project, in_period),
    }


def _deploys(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Production deploys pipelines reported in the period, and those without an approved change."""
    deployed = and_(DeployRow.deployed_at >= start, DeployRow.deployed_at < end)
    query = select(func.count(), func.count().filter(DeployRow.bypass.is_(True))).where(deployed)
    total, bypasses = session.execute(query).one()
    return {"production_deploys": total or 0, "bypasses": bypasses or 0}


def _violations_by_rule(session: Session, in_period: Any) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for (rules,) in session.execute(
        select(ViolationRow.rules).join(ChangeRow, ChangeRow.id == ViolationRow.change_id).where(in_period)
    ):
        counts.update(rules or ())
    return dict(sorted(counts.items(), key=lambda item: int(item[0][1:]) if item[0][1:].isdigit() else 99))


def _repeat_approvers(session: Session, in_period: Any) -> list[dict[str, Any]]:
    query = (
        select(ApprovalRow.approver, func.count())
        .join(ChangeRow)
        .where(in_period)
        .group_by(ApprovalRow.approver)
        .having(func.count() >= REPEAT_APPROVER_MIN)
        .order_by(func.count().desc(), ApprovalRow.approver)
        .limit(TOP)
    )
    return [{"approver": who, "approvals": n} for who, n in session.execute(query)]


def _per(session: Session, column: Any, in_period: Any) -> dict[str, int]:
    query = (
        select(column, func.count())
        .where(in_period)
        .group_by(column)
        .order_by(func.count().desc())
        .limit(TOP)
    )
    return {(name or "(none)"): n for name, n in session.execute(query)}
