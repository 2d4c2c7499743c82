"""The evidence's reads of one change and what surrounds it: the change with its approvals, reviews and
post-mortem (for a packet and for the pipeline gate), its violations, deploys, the attempts
that stood, and the notifications sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, joinedload

from connector.outbox import Notify, Revert
from connector.store.outbox import decode
from connector.store.tables import AlertRow, ChangeRow, DeployRow, OutboxRow, ViolationRow


class ChangeNotFound(LookupError):
    """No emergency change with this key (and tool) is recorded."""


def find_change(session: Session, key: str, tool: str | None = None) -> ChangeRow:
    """The change with its approvals, reviews and post-mortem, in one query (a pipeline asks often)."""
    query = (
        select(ChangeRow)
        .where(ChangeRow.key == key, *([ChangeRow.tool == tool] if tool else []))
        .options(
            joinedload(ChangeRow.approvals), joinedload(ChangeRow.reviews), joinedload(ChangeRow.postmortem)
        )
        .order_by(ChangeRow.id)
    )
    rows = session.scalars(query).unique().all()
    if not rows:
        raise ChangeNotFound(f"no emergency change {key!r} is recorded" + (f" in {tool}" if tool else ""))
    return rows[0]


def violations_of(session: Session, change_id: int) -> list[ViolationRow]:
    query = select(ViolationRow).where(ViolationRow.change_id == change_id).order_by(ViolationRow.at)
    return list(session.scalars(query))


def deploys_of(session: Session, change_id: int) -> list[DeployRow]:
    """The production deploys pipelines reported for the change: naming it, or opening it as a bypass."""
    query = select(DeployRow).where(
        (DeployRow.change_id == change_id) | (DeployRow.bypass_change_id == change_id)
    )
    return list(session.scalars(query.order_by(DeployRow.deployed_at, DeployRow.id)))


def stood_attempts(session: Session, change_id: int) -> set[int]:
    """Ids of the change's violations whose attempt stood (`STOOD`)."""
    query = select(ViolationRow.id).where(ViolationRow.change_id == change_id, STOOD)
    return set(session.scalars(query))


def _stood() -> ColumnElement[bool]:
    violation = ViolationRow.__table__.c
    dead_revert = exists().where(  # a revert is queued at its violation's time
        OutboxRow.change_id == violation.change_id,
        OutboxRow.action == Revert.ACTION,
        OutboxRow.status == "dead",
        OutboxRow.created_at == violation.at,
    )
    early_deploy = exists().where(  # recorded at the deploy's time, on the change it is recorded on
        DeployRow.change_id == violation.change_id,
        DeployRow.outcome == "violation",
        DeployRow.deployed_at == violation.at,
    )
    return or_(
        violation.found_late.is_(True),
        and_(violation.reverted.is_(True), dead_revert),
        and_(violation.reverted.is_(False), violation.to_stage == "deployed", early_deploy),
    )


STOOD = _stood()
"""A recorded violation whose attempt stood, neither blocked nor undone: a step found late in the tool's
history, after the change had moved on past it (never reverted); a revert the outbox gave up on (dead);
or a deploy a pipeline made to production before the change allowed it (it cannot be undone). One
predicate on `violations`, for the packet of one change and the population export's grouped count."""


def notifications_of(session: Session, change_id: int) -> list[dict[str, Any]]:
    """Every notification sent: alerts recorded by the service, and notify actions the tool accepted."""
    sent: list[dict[str, Any]] = [
        {
            "at": a.at,
            "kind": a.kind,
            "threshold": a.threshold,
            "recipients": list(a.recipients or ()),
            "subject": a.subject,
            "source": "alert",
        }
        for a in session.scalars(
            select(AlertRow).where(AlertRow.change_id == change_id).order_by(AlertRow.at)
        )
    ]
    done = select(OutboxRow).where(
        OutboxRow.change_id == change_id, OutboxRow.action == Notify.ACTION, OutboxRow.status == "done"
    )
    for row in session.scalars(done.order_by(OutboxRow.id)):
        _, notice = decode(row.action, row.payload)
        if not isinstance(notice, Notify):
            continue
        sent.append(
            {
                "at": row.done_at or row.created_at,
                "kind": notice.kind,
                "threshold": row.idempotency_key,
                "recipients": [*notice.users, *notice.groups],
                "subject": notice.subject,
                "source": f"{row.tool} notify (delivered)",
            }
        )
    return sorted(sent, key=lambda n: _sort_key(n["at"]))


def _sort_key(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""
