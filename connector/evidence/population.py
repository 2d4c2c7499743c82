"""The population of a period: every emergency change created in it, one row each, with its compliance.

Streamed: changes are read in batches (`yield_per`), judged, turned into rows and written; nothing
keeps the rows, so memory does not grow with their number.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from types import SimpleNamespace
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.evidence.facts import violation_facts
from connector.evidence.packet import iso
from connector.evidence.rulebook import RuleBook
from connector.procedure.model import TERMINAL_STAGES, Stage
from connector.procedure.rules import RuleStatus, Status
from connector.store.facts import change_facts
from connector.store.tables import ApprovalRow, ChangeRow, PostMortemRow, ReviewRow, ViolationRow

BATCH = 500
COMPLIANT, NON_COMPLIANT, OPEN = "compliant", "non-compliant", "open"
INFORMATIVE_RULES = frozenset({"R9"})  # blocked or reverted attempts show the control worked


@dataclass(frozen=True)
class PopulationRow:
    tool: str
    key: str
    link: str
    title: str
    project: str
    team: str
    engineer: str
    stage: str
    category: str
    created_at: str
    deployed_at: str
    postmortem_due_at: str
    postmortem_done_at: str
    closed_at: str
    approvals: str
    blocked_or_reverted: int
    compliance: str
    reasons: str


COLUMNS = tuple(f.name for f in fields(PopulationRow))


def compliance(stage: Stage, statuses: dict[str, RuleStatus]) -> tuple[str, str]:
    """(compliant | non-compliant | open, reasons) from the rule statuses of a change."""
    broken = [s for r, s in statuses.items() if s.status is Status.VIOLATED and r not in INFORMATIVE_RULES]
    if broken:
        return NON_COMPLIANT, " | ".join(f"{s.rule}: {s.evidence}" for s in broken)
    if stage not in TERMINAL_STAGES:
        pending = [s for s in statuses.values() if s.status is Status.PENDING]
        return OPEN, " | ".join(f"{s.rule}: {s.evidence}" for s in pending) or f"stage {stage.value}"
    return COMPLIANT, ""


def population(
    session: Session, start: datetime, end: datetime, rulebook: RuleBook, *, batch: int = BATCH
) -> Iterator[PopulationRow]:
    """Changes created in [start, end), oldest first.

    Read as plain rows (SQLAlchemy Core), not ORM objects: a batch of changes, then the approvals,
    reviews, post-mortems and violations of that batch in one query each. Nothing enters the session.
    """
    now = rulebook.clock()
    changes = ChangeRow.__table__
    query = (
        select(changes)
        .where(changes.c.created_at >= start, changes.c.created_at < end)
        .order_by(changes.c.created_at, changes.c.id)
        .execution_options(yield_per=batch)
    )
    for rows in session.execute(query).partitions():
        ids = [row.id for row in rows]
        approvals, reviews = _children(session, ApprovalRow, ids), _children(session, ReviewRow, ids)
        postmortems, violations = (
            _children(session, PostMortemRow, ids),
            _children(session, ViolationRow, ids),
        )
        for row in rows:
            loaded = SimpleNamespace(
                **row._mapping,
                approvals=approvals.get(row.id, []),
                reviews=reviews.get(row.id, []),
                postmortem=(postmortems.get(row.id) or [None])[0],
            )
            yield _row(loaded, rulebook, now, violations.get(row.id, []))


def _children(session: Session, table: Any, ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    query = select(table.__table__).where(table.change_id.in_(ids)).order_by(table.id)
    for child in session.execute(query):
        found[child.change_id].append(child)
    return found


def _row(row: Any, rulebook: RuleBook, now: datetime, violations: list[ViolationRow]) -> PopulationRow:
    facts = change_facts(row)
    status, reasons = compliance(facts.stage, rulebook.judge(facts, now, violation_facts(violations)))
    pm = row.postmortem
    return PopulationRow(
        tool=row.tool,
        key=row.key,
        link=row.url or "",
        title=row.title or "",
        project=row.project or "",
        team=row.team or "",
        engineer=row.engineer,
        stage=row.stage,
        category=row.category or "",
        created_at=iso(row.created_at) or "",
        deployed_at=iso(row.deployed_at) or "",
        postmortem_due_at=iso(pm.due_at) if pm else "",
        postmortem_done_at=(iso(pm.done_at) or "") if pm else "",
        closed_at=iso(row.closed_at) or "",
        approvals="; ".join(f"{a.approver} ({a.role}, {a.method})" for a in row.approvals),
        blocked_or_reverted=len(violations),
        compliance=status,
        reasons=reasons,
    )


def csv_chunks(rows: Iterable[PopulationRow]) -> Iterator[str]:
    """The CSV text, a header line and then one line per change, as it is produced."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_safe_cell(getattr(row, column)) for column in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def json_chunks(rows: Iterable[PopulationRow], header: dict[str, Any]) -> Iterator[str]:
    """`{...header, "changes": [row, ...], "count": n}`, one change per line, as it is produced."""
    yield json.dumps(header, ensure_ascii=False)[:-1] + (', "changes": [' if header else '"changes": [')
    count = 0
    for row in rows:
        yield ("\n  " if count == 0 else ",\n  ") + json.dumps(asdict(row), ensure_ascii=False)
        count += 1
    yield f'\n], "count": {count}}}\n'


def write_csv(rows: Iterable[PopulationRow], out: IO[str]) -> int:
    counted = _Counted(rows)
    out.writelines(csv_chunks(counted))
    return counted.count


def write_json(rows: Iterable[PopulationRow], out: IO[str], header: dict[str, Any]) -> int:
    counted = _Counted(rows)
    out.writelines(json_chunks(counted, header))
    return counted.count


class _Counted:
    def __init__(self, rows: Iterable[PopulationRow]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[PopulationRow]:
        for row in self.rows:
            self.count += 1
            yield row


def _safe_cell(value: Any) -> Any:
    """Cells that a spreadsheet would run as a formula get a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
