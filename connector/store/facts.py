"""Store rows → the frozen facts of `connector.procedure.model`: the one place a change's facts are
built, for the services, the SLA job, the evidence packet and the population export.

`facts_of` takes the change row and its children as given: ORM rows (what `change_facts` passes), or
plain rows of a batch read (the export, the SLA job), with `moment` turning each stored time into an
aware UTC datetime where the driver gave it naive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

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
    Violation,
)
from connector.store.tables import ChangeRow, ViolationRow

Moment = Callable[[Any], datetime | None]
# stored value -> member: a dict lookup, several times cheaper than calling the enum (the export builds
# the facts of every change of a period)
STAGE = {m.value: m for m in Stage}
ROLE = {m.value: m for m in Role}
METHOD = {m.value: m for m in Method}
REVIEW_KIND = {m.value: m for m in ReviewKind}


def _as_stored(value: Any) -> Any:
    return value


def change_facts(row: ChangeRow) -> Change:
    """The facts of a change loaded through the ORM, with its approvals, reviews and post-mortem."""
    return facts_of(row, row.approvals, row.reviews, row.postmortem)


def facts_of(
    row: Any,
    approvals: Iterable[Any],
    reviews: Iterable[Any],
    postmortem: Any | None,
    moment: Moment = _as_stored,
) -> Change:
    return Change(
        tool=row.tool,
        key=row.key,
        engineer=row.engineer,
        stage=STAGE[row.stage],
        created_at=moment(row.created_at),
        category=row.category,
        impact=row.impact,
        notified_at=moment(row.notified_at),
        approvals=tuple(approval_facts(a, moment) for a in approvals),
        rejection=rejection_facts(row, moment),
        reviews=tuple(review_facts(r, moment) for r in reviews),
        deployed_at=moment(row.deployed_at),
        postmortem=postmortem_facts(postmortem, row, moment) if postmortem is not None else None,
        pr_url=row.pr_url,
        docs_url=row.docs_url,
        close_code=row.close_code,
        closed_at=moment(row.closed_at),
        title=row.title or "",
        project=row.project or "",
        team=row.team,
    )


def approval_facts(row: Any, moment: Moment = _as_stored) -> Approval:
    return Approval(
        approver=row.approver,
        role=ROLE[row.role],
        method=METHOD[row.method],
        granted_at=moment(row.granted_at),
        recorded_by=row.recorded_by,
        evidence=row.evidence,
        channel=row.channel,
        confirm_by=moment(row.confirm_by),
        confirmed_at=moment(row.confirmed_at),
        confirmation_evidence=row.confirmation_evidence,
    )


def rejection_facts(row: Any, moment: Moment = _as_stored) -> Rejection | None:
    if row.rejected_by is None or row.rejected_at is None:
        return None
    return Rejection(
        by=row.rejected_by,
        role=ROLE[row.rejected_role] if row.rejected_role else None,
        at=moment(row.rejected_at),
        reason=row.rejection_reason or "",
        evidence=row.rejection_evidence or "",
    )


def review_facts(row: Any, moment: Moment = _as_stored) -> Review:
    return Review(reviewer=row.reviewer, kind=REVIEW_KIND[row.kind], at=moment(row.at), evidence=row.evidence)


def postmortem_facts(row: Any, change: Any, moment: Moment = _as_stored) -> PostMortem:
    """A post-mortem the tool has not created yet has key "" and counts as created at the deploy."""
    return PostMortem(
        key=row.key or "",
        created_at=moment(row.created_at or change.deployed_at or change.created_at),
        due_at=moment(row.due_at),
        assignee=row.assignee,
        participants=tuple(row.participants or ()),
        done_at=moment(row.done_at),
        report_url=row.report_url,
    )


def violation_facts(rows: Iterable[ViolationRow]) -> tuple[Violation, ...]:
    """The violations a change's recorded attempts broke, as the rules named them then."""
    return tuple(
        Violation(
            d.get("rule", "?"), int(d.get("step", 0)), d.get("message", ""), tuple(d.get("missing", ()))
        )
        for row in rows
        for d in row.details or ()
    )
