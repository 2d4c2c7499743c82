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
from typing import TYPE_CHECKING, Any

from connector.evidence.packet import iso
from connector.store import reports
from connector.store.tables import ChangeRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REPEAT_APPROVER_MIN = 2
TOP = 20


def _hours(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> float | None:
    spans = [(end - start).total_seconds() / 3600 for start, end in pairs if start and end]
    return round(median(spans), 2) if spans else None


def summary(session: Session, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    postmortems = reports.judged_postmortems(session, start, end, now)
    on_time = sum(1 for due, done, _ in postmortems if done is not None and done <= due)
    deploys, bypasses = reports.deploys_reported(session, start, end)
    approvers = reports.repeat_approvers(session, start, end, REPEAT_APPROVER_MIN, TOP)
    return {
        "period": {"from": iso(start), "to": iso(end)},
        "generated_at": iso(now),
        "count": reports.changes_created(session, start, end),
        "postmortems_judged": len(postmortems),
        "share_on_time": round(on_time / len(postmortems), 4) if postmortems else None,
        "median_approval_hours": _hours(reports.approval_spans(session, start, end)),
        "median_verbal_confirmation_lag_hours": _hours(reports.confirmation_spans(session, start, end)),
        "median_deploy_to_postmortem_hours": _hours((d, done) for _, done, d in postmortems),
        "breaches": len(postmortems) - on_time,
        "violations_by_rule": _by_rule(reports.violated_rules(session, start, end)),
        "production_deploys": deploys,
        "bypasses": bypasses,
        "repeat_approvers": [{"approver": who, "approvals": n} for who, n in approvers],
        "changes_per_team": _named(reports.changes_per(session, ChangeRow.team, start, end, TOP)),
        "changes_per_project": _named(reports.changes_per(session, ChangeRow.project, start, end, TOP)),
    }


def _by_rule(violations: Iterable[list[str]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for rules in violations:
        counts.update(rules)
    return dict(sorted(counts.items(), key=lambda item: int(item[0][1:]) if item[0][1:].isdigit() else 99))


def _named(counts: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    return {(name or "(none)"): n for name, n in counts}
