"""The quick population export writes byte for byte what judging every change by the rules writes.

The reference here is the straightforward way: every change as an ORM object with its children, its
facts judged by R1-R10 (`evaluate`, recorded violations included), the row written cell by cell. The
changes are generated: closed ones that kept every rule, and others with one or two faults each (open
stages, verbal approvals, self-approval, late post-mortems, ServiceNow close codes, rejections, ...).
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from connector.evidence.facts import LOADED, violation_facts
from connector.evidence.packet import iso
from connector.evidence.population import (
    COLUMNS,
    COMPLIANT,
    NON_COMPLIANT,
    OPEN,
    compliance,
    csv_chunks,
    named,
)
from connector.evidence.population import population as quick_population
from connector.evidence.rulebook import RuleBook, ToolRules
from connector.procedure.policy import Policy
from connector.store.facts import change_facts
from connector.store.people import latest
from connector.store.tables import ApprovalRow, ChangeRow, PostMortemRow, ReviewRow, ViolationRow

NOW = datetime(2027, 1, 10, tzinfo=UTC)
START, END = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
COUNT = 400
RNG = random.Random()
OPEN_STAGES = (
    "identified",
    "awaiting_approval",
    "approved",
    "in_review",
    "reviewed",
    "deployed",
    "postmortem",
)
RULEBOOKS = {
    "default": RuleBook(clock=lambda: NOW),
    "jira without documentation, servicenow with its own category": RuleBook(
        {
            "jira": ToolRules(Policy(require_docs=False)),
            "servicenow": ToolRules(
                Policy(categories=("Service outage", "Network"), close_code_documents_change=True)
            ),
        },
        clock=lambda: NOW,
    ),
}


def clean(n: int, created: datetime) -> dict:
    """A closed change that kept every rule."""
    deployed = created + timedelta(hours=6)
    return {
        "change": {
            "id": n,
            "tool": "jira",
            "key": f"EMG-{n}",
            "url": f"https://jira.example.com/browse/EMG-{n}",
            "project": "SHOP",
            "team": "payments",
            "title": f"Outage {n}",
            "engineer": "eng.emma",
            "stage": "closed",
            "category": "Service outage",
            "impact": "checkout down",
            "created_at": created,
            "notified_at": created,
            "deployed_at": deployed,
            "updated_at": created,
            "version": 1,
            "pr_url": "https://git.example.com/pr/1",
            "docs_url": "https://wiki.example.com/d/1",
            "closed_at": deployed + timedelta(days=2),
        },
        "approvals": [
            _approval("lead.liam", "lead", created + timedelta(hours=1)),
            _approval("sec.sara", "security", created + timedelta(hours=2)),
        ],
        "reviews": [
            _review("rev.rob", "peer", created + timedelta(hours=3)),
            _review("sec.sam", "security", created + timedelta(hours=4)),
        ],
        "postmortem": {
            "key": f"PM-{n}",
            "created_at": deployed,
            "due_at": deployed + timedelta(days=3),
            "assignee": "eng.emma",
            "participants": ["eng.emma", "lead.liam"],
            "done_at": deployed + timedelta(days=1),
            "report_url": "https://wiki.example.com/pm/1",
        },
        "violations": [],
    }


def _approval(who: str, role: str, granted: datetime, **more) -> dict:
    return {
        "approver": who,
        "role": role,
        "method": "written",
        "granted_at": granted,
        "recorded_by": who,
        "evidence": "comment:1",
        **more,
    }


def _review(who: str, kind: str, at: datetime) -> dict:
    return {"reviewer": who, "kind": kind, "at": at, "evidence": "comment:2"}


def _verbal(
    c: dict, *, confirmed_after: timedelta | None, deadline: timedelta | None = timedelta(days=1)
) -> None:
    a = c["approvals"][0]
    a.update(method="verbal", channel="phone", recorded_by=c["change"]["engineer"], evidence="verbal:phone")
    a["confirm_by"] = a["granted_at"] + deadline if deadline is not None else None
    a["confirmed_at"] = a["granted_at"] + confirmed_after if confirmed_after is not None else None


def _open(c: dict, stage: str) -> None:
    c["change"].update(stage=stage, closed_at=None)
    later = OPEN_STAGES.index(stage)
    if later < OPEN_STAGES.index("deployed"):
        c["change"]["deployed_at"], c["postmortem"] = None, None
    if later < OPEN_STAGES.index("reviewed"):
        c["reviews"] = c["reviews"][: later - 2] if later > 2 else []
    if later < OPEN_STAGES.index("approved"):
        c["approvals"] = c["approvals"][:later]
    if stage == "postmortem":
        c["postmortem"].update(done_at=None, due_at=NOW + timedelta(days=2))


def _rejected(c: dict) -> None:
    c["change"].update(
        stage="rejected",
        deployed_at=None,
        closed_at=None,
        rejected_by="sec.sara",
        rejected_role="security",
        rejected_at=c["change"]["created_at"] + timedelta(hours=1),
        rejection_reason="too risky",
        rejection_evidence="comment:9",
    )
    c["approvals"], c["reviews"], c["postmortem"] = c["approvals"][:1], [], None


def _servicenow(c: dict, close_code: str | None) -> None:
    c["change"].update(
        tool="servicenow", key=c["change"]["key"].replace("EMG", "CHG"), docs_url=None, close_code=close_code
    )


def _blocked(c: dict) -> None:
    details = [{"rule": "R3", "step": 2, "message": "self-approval", "missing": ["approval"]}]
    c["violations"].append(
        {
            "at": c["change"]["created_at"],
            "actor": "eng.emma",
            "from_stage": "awaiting_approval",
            "to_stage": "approved",
            "rules": ["R3"],
            "details": details,
            "reverted": True,
        }
    )


FAULTS = (
    lambda c: _open(c, RNG.choice(OPEN_STAGES)),
    lambda c: c["change"].update(category=RNG.choice([None, "Paper cut", "  service OUTAGE "])),
    lambda c: c["change"].update(category="Network"),
    lambda c: c["change"].update(impact=RNG.choice([None, "", "   "])),
    lambda c: c["approvals"][0].update(approver="eng.emma"),
    lambda c: c["approvals"][1].update(approver="lead.liam"),
    lambda c: c["approvals"].pop(RNG.randrange(2)),
    lambda c: c["approvals"][1].update(evidence="  "),
    lambda c: c["approvals"][0].update(granted_at=c["change"]["deployed_at"] + timedelta(minutes=1)),
    lambda c: c["approvals"].append(_approval("lead.lou", "lead", c["change"]["created_at"])),
    lambda c: _verbal(c, confirmed_after=timedelta(hours=3)),
    lambda c: _verbal(c, confirmed_after=timedelta(hours=3), deadline=None),
    lambda c: _verbal(c, confirmed_after=timedelta(days=2)),
    lambda c: _verbal(c, confirmed_after=None),
    lambda c: _verbal(c, confirmed_after=None, deadline=None),
    lambda c: c["reviews"][0].update(reviewer="eng.emma"),
    lambda c: c["reviews"].insert(0, _review("eng.emma", "security", c["change"]["created_at"])),
    lambda c: c["reviews"].pop(RNG.randrange(2)),
    lambda c: c["reviews"][1].update(at=c["change"]["deployed_at"] + timedelta(hours=1)),
    lambda c: c["reviews"][0].update(kind="security"),
    lambda c: c["change"].update(deployed_at=None),
    lambda c: c.update(postmortem=None),
    lambda c: c["postmortem"].update(done_at=c["postmortem"]["due_at"] + timedelta(hours=1)),
    lambda c: c["postmortem"].update(done_at=c["postmortem"]["due_at"]),
    lambda c: c["postmortem"].update(done_at=None),
    lambda c: c["postmortem"].update(report_url=RNG.choice([None, ""])),
    lambda c: c["postmortem"].update(key=None, created_at=None),
    lambda c: c["change"].update(pr_url=RNG.choice([None, "", "  "])),
    lambda c: c["change"].update(docs_url=RNG.choice([None, " "])),
    lambda c: c["change"].update(docs_url=None, close_code="Solved"),
    lambda c: _servicenow(c, "Solved (Permanently)"),
    lambda c: _servicenow(c, RNG.choice([None, " "])),
    lambda c: c["change"].update(stage="cancelled", closed_at=None),
    _rejected,
    _blocked,
    lambda c: c["change"].update(title='=HYPERLINK("http://evil")', team=None, url=None, project="-1"),
)


def generated(count: int) -> list[dict]:
    RNG.seed(20261201)
    changes = []
    for n in range(1, count + 1):
        change = clean(n, START + timedelta(hours=n * 1.7))
        if n % 4 == 0:
            _open(change, RNG.choice(OPEN_STAGES))
        for fault in RNG.sample(FAULTS, RNG.choice((0, 0, 1, 1, 2))):
            # a fault may find nothing left to spoil (no post-mortem, one approval): it is skipped
            with contextlib.suppress(IndexError, KeyError, TypeError, AttributeError):
                fault(change)
        changes.append(change)
    return changes


def store(database, changes: list[dict]) -> None:
    children = {ApprovalRow: "approvals", ReviewRow: "reviews", ViolationRow: "violations"}
    with database.engine.begin() as conn:
        conn.execute(insert(ChangeRow.__table__), _same_keys([c["change"] for c in changes]))
        for table, name in children.items():
            rows = [{"change_id": c["change"]["id"], **row} for c in changes for row in c[name]]
            conn.execute(insert(table.__table__), _same_keys(rows))
        pms = [{"change_id": c["change"]["id"], **c["postmortem"]} for c in changes if c["postmortem"]]
        conn.execute(insert(PostMortemRow.__table__), _same_keys(pms))


def _same_keys(rows: list[dict]) -> list[dict]:
    """Rows of one INSERT name the same columns: a column a row does not give is NULL."""
    columns = {key for row in rows for key in row}
    return [{column: row.get(column) for column in columns} for row in rows]


def straightforward_csv(session, rulebook: RuleBook) -> str:
    """Every change judged by the rules, one ORM object at a time, written cell by cell."""
    query = (
        select(ChangeRow)
        .where(ChangeRow.created_at >= START, ChangeRow.created_at < END)
        .options(*LOADED)
        .order_by(ChangeRow.created_at, ChangeRow.id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in session.scalars(query):
        recorded = list(session.scalars(select(ViolationRow).where(ViolationRow.change_id == row.id)))
        facts = change_facts(row)
        status, reasons = compliance(facts.stage, rulebook.judge(facts, NOW, violation_facts(recorded)))
        pm = row.postmortem
        people = list(dict.fromkeys([row.engineer, *(a.approver for a in row.approvals)]))
        cells = [
            row.tool,
            row.key,
            row.url or "",
            row.title or "",
            row.project or "",
            row.team or "",
            row.engineer,
            row.stage,
            row.category or "",
            iso(row.created_at) or "",
            iso(row.deployed_at) or "",
            iso(pm.due_at) if pm else "",
            (iso(pm.done_at) or "") if pm else "",
            iso(row.closed_at) or "",
            "; ".join(f"{a.approver} ({a.role}, {a.method})" for a in row.approvals),
            len(recorded),
            status,
            reasons,
            named(people, latest(session, people)),
        ]
        writer.writerow(["'" + c if isinstance(c, str) and c and c[0] in "=+-@\t\r" else c for c in cells])
    return out.getvalue()


@pytest.mark.parametrize("rulebook", RULEBOOKS.values(), ids=RULEBOOKS.keys())
def test_quick_export_writes_the_same_csv_as_judging_every_change_by_the_rules(database, rulebook):
    store(database, generated(COUNT))
    with database.session() as session:
        expected = straightforward_csv(session, rulebook)
    with database.session() as session:
        quick = "".join(csv_chunks(quick_population(session, START, END, rulebook, batch=64), lines=7))
    assert quick == expected
    verdicts = [row["compliance"] for row in csv.DictReader(io.StringIO(quick))]
    assert len(verdicts) == COUNT
    for verdict in (COMPLIANT, NON_COMPLIANT, OPEN):  # every kind of row is compared, none is rare
        assert verdicts.count(verdict) >= COUNT // 10, (verdict, verdicts.count(verdict))
