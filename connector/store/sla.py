"""The SLA pass's queries (connector/services/sla.py), read through the indexes: open post-mortems by
`due_at`, done post-mortems whose change still misses a retroactive item by the partial index of
open changes with their post-mortem done and a link missing, unconfirmed verbal approvals by
`confirm_by`; and the alert rows that make each alert once.

The candidates are read as plain rows (`Candidate`: the post-mortem's and its change's columns that
`store.facts.facts_of` and the alerts read), never ORM objects: a steady-state run of the SLA job over a
large history is mostly these reads (bench/sla_scan.py), and building ORM instances for some hundred
rows cost more than the queries. Sending an alert loads its change through the ORM (`change`)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import CompoundSelect, Select, and_, any_, bindparam, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.procedure.model import Method, Stage
from connector.store.tables import AlertRow, ApprovalRow, ChangeRow, PostMortemRow

OPEN_AFTER_DEPLOY = (Stage.DEPLOYED.value, Stage.POSTMORTEM.value)
# Written into the SQL as literals, so that PostgreSQL matches the partial index whatever plan it caches.
_OPEN_STAGES = bindparam("open_after_deploy", OPEN_AFTER_DEPLOY, expanding=True, literal_execute=True)


# The statements are built once and asked with these parameters: building them cost a steady-state run
# about as much as the database's answer.
_TOOL, _HORIZON, _NOW = bindparam("tool"), bindparam("horizon"), bindparam("now")


def _open_ids() -> Select[tuple[int]]:
    return select(PostMortemRow.id).where(PostMortemRow.done_at.is_(None), PostMortemRow.due_at <= _HORIZON)


def open_postmortems_due(horizon: datetime) -> Select[tuple[int]]:
    """Ids of the open post-mortems due before `horizon` (the partial index of open post-mortems)."""
    return _open_ids().params(horizon=horizon)


POSTMORTEM_COLUMNS = ("key", "created_at", "due_at", "assignee", "participants", "done_at", "report_url")
CHANGE_COLUMNS = (
    *("id", "tool", "key", "engineer", "stage", "created_at", "category", "impact", "notified_at"),
    *("rejected_by", "rejected_role", "rejected_at", "rejection_reason", "rejection_evidence"),
    *("deployed_at", "pr_url", "docs_url", "close_code", "closed_at", "title", "project", "team"),
)
PostMortemFacts = NamedTuple("PostMortemFacts", [(name, Any) for name in POSTMORTEM_COLUMNS])  # noqa: UP014
ChangeFacts = NamedTuple("ChangeFacts", [(name, Any) for name in CHANGE_COLUMNS])  # noqa: UP014


class Candidate(NamedTuple):
    """A post-mortem the SLA pass looks at, its change, as plain rows, and the thresholds already alerted
    for the change (skipped without a write; the unique constraint still decides races)."""

    postmortem: PostMortemFacts
    change: ChangeFacts
    alerted: frozenset[str]


def _candidate_columns() -> list[Any]:
    pm, change = PostMortemRow.__table__.c, ChangeRow.__table__.c
    return [
        *(pm[name] for name in POSTMORTEM_COLUMNS),
        *(change[name] for name in CHANGE_COLUMNS),
        AlertRow.__table__.c.threshold,
    ]


def postmortems_due(tool: str, horizon: datetime, dialect: str) -> CompoundSelect:
    """The SLA pass's candidates for `tool` (`_candidates`), with its parameters."""
    return _candidates(dialect).params(tool=tool, horizon=horizon)


@functools.cache
def _candidates(dialect: str) -> CompoundSelect:
    """One query: the open post-mortems due before `horizon`, and the done ones whose change is still
    open after deploy and may miss an R8 item (the partial index ix_changes_done_undocumented), each
    with its change and one row per alert already sent for it (or one without).

    PostgreSQL is given the open ones' ids as `= ANY(ARRAY(subquery))`: the subquery runs first on its
    own (an InitPlan on the index), and the planner expects a few rows from the array, so it joins the
    changes by their primary key. Asked as `IN (subquery)` or as a join, it takes done_at and due_at as
    independent, expects thousands of rows where there are tens (open ones are due in the future, done
    ones in the past), and scans every change or starts parallel workers (bench/sla_scan.py: a hash join
    over a million changes, 600 ms, or a parallel plan, 15-39 ms, against under 1 ms). SQLite plans the
    `IN` by the index."""
    ids = _open_ids()
    if dialect == "postgresql":
        open_pm = PostMortemRow.id == any_(func.array(ids.scalar_subquery()))
    else:
        open_pm = PostMortemRow.id.in_(ids)
    done_but_open_change = and_(  # the predicate of ix_changes_done_undocumented, and more
        ChangeRow.stage.in_(_OPEN_STAGES),
        ChangeRow.postmortem_done_at.is_not(None),
        PostMortemRow.done_at.is_not(None),
        PostMortemRow.due_at <= _HORIZON,
        or_(ChangeRow.pr_url.is_(None), ChangeRow.docs_url.is_(None)),
    )
    return union_all(
        *(
            select(*_candidate_columns())
            .select_from(PostMortemRow)
            .join(ChangeRow, ChangeRow.id == PostMortemRow.change_id)
            .outerjoin(AlertRow, AlertRow.change_id == ChangeRow.id)  # one row per alert sent, or one without
            .where(ChangeRow.tool == _TOOL, condition)
            for condition in (open_pm, done_but_open_change)
        )
    )


def verbal_unconfirmed(tool: str, now: datetime) -> Select[tuple[ApprovalRow, ChangeRow]]:
    return _verbal_unconfirmed().params(tool=tool, now=now)


@functools.cache
def _verbal_unconfirmed() -> Select[tuple[ApprovalRow, ChangeRow]]:
    return (
        select(ApprovalRow, ChangeRow)
        .join(ChangeRow, ChangeRow.id == ApprovalRow.change_id)
        .where(
            ApprovalRow.confirmed_at.is_(None),
            ApprovalRow.confirm_by <= _NOW,
            ApprovalRow.method == Method.VERBAL.value,
            ChangeRow.tool == _TOOL,
        )
    )


class SlaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def postmortems_due(self, tool: str, horizon: datetime) -> list[Candidate]:
        query = _candidates(self.session.get_bind().dialect.name)
        split, width = len(POSTMORTEM_COLUMNS), len(POSTMORTEM_COLUMNS) + len(CHANGE_COLUMNS)
        found: dict[int, tuple[tuple[Any, ...], set[str]]] = {}
        for row in self.session.execute(query, {"tool": tool, "horizon": horizon}):
            _, alerted = found.setdefault(row[split], (row, set()))  # by the change's id
            if row[width] is not None:
                alerted.add(row[width])
        return [
            Candidate(
                PostMortemFacts._make(row[:split]), ChangeFacts._make(row[split:width]), frozenset(sent)
            )
            for row, sent in found.values()
        ]

    def verbal_unconfirmed(self, tool: str, now: datetime) -> list[tuple[ApprovalRow, ChangeRow]]:
        return [
            (approval, change)
            for approval, change in self.session.execute(_verbal_unconfirmed(), {"tool": tool, "now": now})
        ]

    def change(self, change_id: int) -> ChangeRow | None:
        return self.session.get(ChangeRow, change_id)

    def claim(self, row: AlertRow) -> bool:
        """Insert the alert row; False when this threshold was alerted before (by this or another process)."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return False
        return True
