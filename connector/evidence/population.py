"""The population of a period: every emergency change created in it, one row each, with its compliance.

Streamed: changes are read in batches (`batches`: plain rows, children per batch), judged, turned into
rows and written; nothing keeps the rows, so memory does not grow with their number (only the names of
the people met, looked up once each). Every change is
judged by the rules' own `evaluate`, without the evidence of the rules it holds (the row gives reasons
only for what is violated or pending).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from connector.evidence.rulebook import RuleBook
from connector.procedure.model import TERMINAL_STAGES, Stage
from connector.procedure.rules import PENDING, VIOLATED, RuleStatus
from connector.store.batches import Loaded, batches, iso
from connector.store.facts import facts_of, violation_facts
from connector.store.people import Person, latest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

BATCH = 50
"""Changes read and judged at a time. Small on purpose: the rows of a batch outlive the garbage
collector's young generation once a batch holds more than ~700 objects, and the full collections that
follow re-scan them; at 500 a batch, a fifth of the export's time went to the collector."""
LINES_PER_CHUNK = 200
COMPLIANT, NON_COMPLIANT, OPEN = "compliant", "non-compliant", "open"
FORMULA_STARTS = frozenset("=+-@\t\r")  # a cell starting so gets a leading ' (CSV injection)


class PopulationRow(NamedTuple):
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
    stood: int  # attempts that stood, neither blocked nor undone (store.evidence.STOOD)
    compliance: str
    reasons: str
    people: str  # the engineer and approvers by name and e-mail, as recorded: "Liam Lead <l@x> (id); ..."
    bypass: str  # a bypass change: the production deploy without an approved change it was opened for


COLUMNS = PopulationRow._fields
CANNOT_START_A_FORMULA = frozenset(
    {
        "stage",  # a stage's name
        "created_at",  # the times: ISO 8601 text, starting with the year
        "deployed_at",
        "postmortem_due_at",
        "postmortem_done_at",
        "closed_at",
        "blocked_or_reverted",  # a count
        "stood",  # a count
        "compliance",  # COMPLIANT, NON_COMPLIANT or OPEN
    }
)
"""The columns the export writes itself, whose cells are never guarded (`FORMULA_STARTS`)."""
GUARDED = tuple(i for i, column in enumerate(COLUMNS) if column not in CANNOT_START_A_FORMULA)
"""The positions of the cells that come from a tool or a person: text, checked one by one."""


def compliance(stage: Stage, statuses: dict[str, RuleStatus]) -> tuple[str, str]:
    """(compliant | non-compliant | open, reasons) from the rule statuses of a change."""
    broken = [s for s in statuses.values() if s.status is VIOLATED]
    if broken:
        return NON_COMPLIANT, " | ".join(f"{s.rule}: {s.evidence}" for s in broken)
    if stage not in TERMINAL_STAGES:
        pending = [s for s in statuses.values() if s.status is PENDING]
        return OPEN, " | ".join(f"{s.rule}: {s.evidence}" for s in pending) or f"stage {stage.value}"
    return COMPLIANT, ""


def population(
    session: Session, start: datetime, end: datetime, rulebook: RuleBook, *, batch: int = BATCH
) -> Iterator[PopulationRow]:
    """Changes created in [start, end), oldest first."""
    now = rulebook.clock()
    names: dict[str, Person] = {}  # each identity's latest record, looked up once per export
    asked: set[str] = set()
    for rows in batches(session, start, end, batch):
        people = [_people(loaded) for loaded in rows]
        if unknown := set(itertools.chain.from_iterable(people)) - asked:
            names.update(latest(session, unknown))
            asked |= unknown
        for loaded, who in zip(rows, people, strict=True):
            yield _row(loaded, *_judged(loaded, rulebook, now), named(who, names))


def _people(loaded: Loaded) -> list[str]:
    return list(dict.fromkeys([loaded.change.engineer, *(a.approver for a in loaded.approvals)]))


def named(identities: Iterable[str], names: dict[str, Person]) -> str:
    return "; ".join(names[i].describe() for i in identities if i in names)


def _judged(loaded: Loaded, rulebook: RuleBook, now: datetime) -> tuple[str, str]:
    """Compliance by the rules, judged as the packet judges them: the attempts that stood are passed to
    R9, which they violate. The blocked or reverted ones only show that the control worked; they are
    counted in the row and R9 holds with them, so they are not passed."""
    facts = facts_of(loaded.change, loaded.approvals, loaded.reviews, loaded.postmortem)
    statuses = rulebook.judge(facts, now, (), violation_facts(loaded.stood), explain=False)
    return compliance(facts.stage, statuses)


def _row(loaded: Loaded, status: str, reasons: str, people: str) -> PopulationRow:
    row, pm = loaded.change, loaded.postmortem
    return PopulationRow(
        row.tool,
        row.key,
        row.url or "",
        row.title or "",
        row.project or "",
        row.team or "",
        row.engineer,
        row.stage,
        row.category or "",
        row.created_at_iso or iso(row.created_at) or "",
        row.deployed_at_iso or iso(row.deployed_at) or "",
        (pm.due_at_iso or iso(pm.due_at)) if pm else "",
        (pm.done_at_iso or iso(pm.done_at) or "") if pm else "",
        row.closed_at_iso or iso(row.closed_at) or "",
        "; ".join(f"{a.approver} ({a.role}, {a.method})" for a in loaded.approvals),
        loaded.violations,
        len(loaded.stood),
        status,
        reasons,
        people,
        loaded.bypass,
    )


def csv_chunks(rows: Iterable[PopulationRow], lines: int = LINES_PER_CHUNK) -> Iterator[str]:
    """The CSV text, a header line and then one line per change, `lines` changes a chunk as produced."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 0
    for row in rows:
        cells = list(row)
        for i in GUARDED:
            if cells[i][:1] in FORMULA_STARTS:
                cells[i] = "'" + cells[i]
        writer.writerow(cells)
        pending += 1
        if pending >= lines:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def json_chunks(rows: Iterable[PopulationRow], header: dict[str, Any]) -> Iterator[str]:
    """`{...header, "changes": [row, ...], "count": n}`, one change per line, as it is produced."""
    yield json.dumps(header, ensure_ascii=False)[:-1] + (', "changes": [' if header else '"changes": [')
    count = 0
    for row in rows:
        yield ("\n  " if count == 0 else ",\n  ") + json.dumps(row._asdict(), ensure_ascii=False)
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
