"""The population export's verdict on a change: compliant, non-compliant or open, with the reasons.

Each case stores one change as the tool would have left it (a clean closed change, then one fault or
situation at a time) and reads its row of the exported CSV. The verdicts come from the rules' own
`evaluate`; what the export adds is reading plain rows (naive times on SQLite), leaving out the evidence
of held rules, counting blocked attempts and guarding the cells.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from connector.evidence.population import (
    COLUMNS,
    COMPLIANT,
    NON_COMPLIANT,
    OPEN,
    PopulationRow,
    csv_chunks,
    population,
)
from connector.evidence.rulebook import RuleBook, ToolRules
from connector.procedure.policy import Policy
from connector.store.audit import iso_utc
from connector.store.tables import ApprovalRow, ChangeRow, PostMortemRow, ReviewRow, ViolationRow

NOW = datetime(2027, 1, 10, tzinfo=UTC)
START, END = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
CREATED = datetime(2026, 12, 7, 9, tzinfo=UTC)
DEFAULT = RuleBook(clock=lambda: NOW)
OPEN_STAGES = (
    "identified",
    "awaiting_approval",
    "approved",
    "in_review",
    "reviewed",
    "deployed",
    "postmortem",
)


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


def store(database, changes: list[dict]) -> None:
    children = {ApprovalRow: "approvals", ReviewRow: "reviews", ViolationRow: "violations"}
    with database.engine.begin() as conn:
        conn.execute(insert(ChangeRow.__table__), _same_keys([c["change"] for c in changes]))
        for table, name in children.items():
            rows = [{"change_id": c["change"]["id"], **row} for c in changes for row in c[name]]
            if rows:
                conn.execute(insert(table.__table__), _same_keys(rows))
        pms = [{"change_id": c["change"]["id"], **c["postmortem"]} for c in changes if c["postmortem"]]
        if pms:
            conn.execute(insert(PostMortemRow.__table__), _same_keys(pms))


def _same_keys(rows: list[dict]) -> list[dict]:
    """Rows of one INSERT name the same columns: a column a row does not give is NULL."""
    columns = {key for row in rows for key in row}
    return [{column: row.get(column) for column in columns} for row in rows]


def exported(database, changes: list[dict], rulebook: RuleBook = DEFAULT) -> list[dict[str, str]]:
    store(database, changes)
    with database.session() as session:
        text = "".join(csv_chunks(population(session, START, END, rulebook, batch=2), lines=1))
    return list(csv.DictReader(io.StringIO(text)))


def one(database, change: dict, rulebook: RuleBook = DEFAULT) -> dict[str, str]:
    (row,) = exported(database, [change], rulebook)
    return row


def reasons(row: dict[str, str]) -> list[str]:
    return row["reasons"].split(" | ") if row["reasons"] else []


def test_a_closed_change_that_kept_every_rule_is_compliant_without_reasons(database):
    row = one(database, clean(1, CREATED))
    assert (row["compliance"], row["reasons"]) == (COMPLIANT, "")
    assert row["deployed_at"] == "2026-12-07T15:00:00.000000Z"  # naive SQLite time read as UTC


def test_self_approval_makes_the_change_non_compliant_by_r3(database):
    change = clean(1, CREATED)
    change["approvals"][0].update(approver="eng.emma")
    row = one(database, change)
    assert row["compliance"] == NON_COMPLIANT
    assert reasons(row) == [
        "R3: eng.emma is the engineer of this change and cannot approve it.",
        "R6: deployed 2026-12-07 15:00 UTC before: approval from a member of the Engineering Leads other "
        "than the engineer",
    ]


def test_one_person_in_both_roles_is_named_by_r3(database):
    change = clean(1, CREATED)
    change["approvals"][1].update(approver="lead.liam")
    row = one(database, change)
    assert reasons(row) == [
        "R3: lead.liam gave both approvals; one person cannot fill both approval roles.",
        "R6: deployed 2026-12-07 15:00 UTC before: approval from a second person for the security role",
    ]


def test_an_approval_given_after_the_deploy_breaks_r6_only(database):
    change = clean(1, CREATED)
    change["approvals"][1].update(granted_at=change["change"]["deployed_at"] + timedelta(minutes=1))
    row = one(database, change)
    assert reasons(row) == ["R6: deployed 2026-12-07 15:00 UTC before: security approval"]


def test_a_verbal_approval_confirmed_late_breaks_r4_and_one_confirmed_in_time_does_not(database):
    late, in_time = clean(1, CREATED), clean(2, CREATED + timedelta(days=1))
    _verbal(late, confirmed_after=timedelta(days=2))
    _verbal(in_time, confirmed_after=timedelta(hours=3))
    rows = exported(database, [late, in_time])
    assert [r["compliance"] for r in rows] == [NON_COMPLIANT, COMPLIANT]
    assert reasons(rows[0]) == [
        "R4: lead.liam confirmed the verbal lead approval late (2026-12-09 10:00 UTC, due "
        "2026-12-08 10:00 UTC)."
    ]


def test_a_post_mortem_done_after_its_deadline_breaks_r10(database):
    change = clean(1, CREATED)
    change["postmortem"].update(done_at=change["postmortem"]["due_at"] + timedelta(hours=1))
    row = one(database, change)
    assert reasons(row) == ["R10: post-mortem done 2026-12-10 16:00 UTC, late: due 2026-12-10 15:00 UTC"]


def test_a_closed_change_missing_its_pull_request_breaks_r8(database):
    change = clean(1, CREATED)
    change["change"].update(pr_url="  ")
    assert reasons(one(database, change)) == ["R8: open: Pull Request link"]


def test_an_open_change_is_open_with_what_is_still_pending(database):
    change = clean(1, CREATED)
    _open(change, "postmortem")
    row = one(database, change)
    assert row["compliance"] == OPEN
    assert reasons(row) == [
        "R8: open: post-mortem task done with a report link",
        "R10: post-mortem due 2027-01-12 00:00 UTC",
    ]


def test_an_open_change_that_already_broke_a_rule_is_non_compliant(database):
    change = clean(1, CREATED)
    _open(change, "deployed")
    change["approvals"][0].update(approver="eng.emma")
    row = one(database, change)
    assert row["compliance"] == NON_COMPLIANT
    assert reasons(row)[0] == "R3: eng.emma is the engineer of this change and cannot approve it."


def test_a_rejected_change_holds_r2_by_its_rejection_and_is_compliant(database):
    change = clean(1, CREATED)
    _rejected(change)
    row = one(database, change)
    assert (row["stage"], row["compliance"], row["reasons"]) == ("rejected", COMPLIANT, "")


def test_a_blocked_attempt_is_counted_and_informs_without_breaking_compliance(database):
    change = clean(1, CREATED)
    _blocked(change)
    row = one(database, change)
    assert (row["compliance"], row["blocked_or_reverted"]) == (COMPLIANT, "1")


def test_a_servicenow_close_code_documents_the_change_as_its_policy_says(database):
    closed_by_code, without_code = clean(1, CREATED), clean(2, CREATED + timedelta(days=1))
    _servicenow(closed_by_code, "Solved (Permanently)")
    _servicenow(without_code, " ")
    rows = exported(database, [closed_by_code, without_code])
    assert [r["compliance"] for r in rows] == [COMPLIANT, NON_COMPLIANT]
    assert reasons(rows[1]) == ["R8: open: standard change documentation (close code)"]


def test_a_close_code_is_no_documentation_for_a_jira_change(database):
    change = clean(1, CREATED)
    change["change"].update(docs_url=None, close_code="Solved")
    assert reasons(one(database, change)) == ["R8: open: standard change documentation"]


def test_the_rule_book_of_the_tool_judges_its_changes(database):
    change = clean(1, CREATED)
    change["change"].update(docs_url=None, category="Network")
    book = RuleBook(
        {"jira": ToolRules(Policy(require_docs=False, categories=("Network",)))}, clock=lambda: NOW
    )
    assert one(database, change, book)["compliance"] == COMPLIANT
    with database.session() as session:
        text = "".join(csv_chunks(population(session, START, END, DEFAULT)))
    category = "critical issue category (one of: Service outage, Data corruption, Security vulnerability, "
    assert reasons(next(csv.DictReader(io.StringIO(text)))) == [
        f"R1: missing: {category}Customer impact)",
        f"R6: deployed 2026-12-07 15:00 UTC before: {category}Customer impact)",
        "R8: open: standard change documentation",
    ]


def test_a_cell_that_would_start_a_formula_is_quoted(database):
    change = clean(1, CREATED)
    change["change"].update(title='=HYPERLINK("http://evil")', project="-1")
    row = one(database, change)
    assert (row["title"], row["project"]) == ('\'=HYPERLINK("http://evil")', "'-1")


def test_every_cell_from_a_tool_or_a_person_is_quoted_when_it_would_start_a_formula(database):
    change = clean(1, CREATED)
    change["change"].update(
        key="=EMG-1", url="+1", team="@team", engineer="\teng", category="-cat", title="\rOutage"
    )
    change["approvals"][0]["approver"] = "=lead"
    row = one(database, change)
    assert {c: row[c] for c in ("key", "link", "team", "engineer", "category", "title")} == {
        "key": "'=EMG-1",
        "link": "'+1",
        "team": "'@team",
        "engineer": "'\teng",
        "category": "'-cat",
        "title": "'\rOutage",
    }
    assert row["approvals"].startswith("'=lead (lead, written); ")


def test_only_the_cells_the_export_writes_itself_are_left_unguarded():
    """Every column, a new one included, is guarded unless it is a stage, a time, a count or a verdict;
    a text of a tool's or a person's is quoted wherever it appears."""
    cells = {column: "=x" for column in COLUMNS} | {"blocked_or_reverted": 0, "stood": 0}
    (line,) = list(csv.reader(io.StringIO("".join(csv_chunks([PopulationRow(**cells)])))))[1:]
    assert {column for column, cell in zip(COLUMNS, line, strict=True) if cell == "=x"} == {
        "stage",
        "created_at",
        "deployed_at",
        "postmortem_due_at",
        "postmortem_done_at",
        "closed_at",
        "compliance",
    }
    assert {cell for cell in line if cell not in ("=x", "0")} == {"'=x"}


def test_every_exported_time_is_the_packets_utc_text_of_the_stored_moment(database):
    """The export writes the stored times as the packet does (`…T…Z`, microseconds), whether the
    database formats them (SQLite, PostgreSQL) or the row's moment is formatted in Python."""
    change = clean(1, datetime(2026, 12, 7, 9, 30, 5, 123456, tzinfo=timezone(timedelta(hours=5))))
    change["postmortem"]["done_at"] = datetime(2026, 12, 9, tzinfo=UTC)
    pending = clean(2, CREATED + timedelta(days=1))
    _open(pending, "in_review")
    stored = {
        **change["change"],
        "due_at": change["postmortem"]["due_at"],
        "done_at": datetime(2026, 12, 9, tzinfo=UTC),
    }
    rows = exported(database, [change, pending])
    columns = {
        "created_at": "created_at",
        "deployed_at": "deployed_at",
        "closed_at": "closed_at",
        "postmortem_due_at": "due_at",
        "postmortem_done_at": "done_at",
    }
    assert {column: rows[0][column] for column in columns} == {
        column: iso_utc(stored[name]) for column, name in columns.items()
    }
    assert rows[0]["created_at"] == "2026-12-07T04:30:05.123456Z"
    assert rows[0]["postmortem_done_at"] == "2026-12-09T00:00:00.000000Z"
    assert [rows[1][column] for column in columns if column != "created_at"] == ["", "", "", ""]


def test_a_stored_time_in_another_text_form_is_exported_as_the_same_moment(database):
    """A time written without microseconds (by hand, or a tool other than the connector) is still read
    as the moment it names."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL keeps a timestamp, not its text")
    store(database, [clean(1, CREATED)])
    with database.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE changes SET closed_at = '2026-12-09 15:00:00' WHERE id = 1")
    with database.session() as session:
        (row,) = csv.DictReader(io.StringIO("".join(csv_chunks(population(session, START, END, DEFAULT)))))
    assert row["closed_at"] == "2026-12-09T15:00:00.000000Z"
