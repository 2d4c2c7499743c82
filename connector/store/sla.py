"""The SLA pass's queries (connector/services/sla.py), read through the indexes: open post-mortems by
`due_at`, done post-mortems whose change still misses a retroactive item by the partial index of
open changes with their post-mortem done and a link missing, unconfirmed verbal approvals by
`confirm_by`; and the alert rows that make each alert once.

The candidates are read as plain rows (`Candidate`: the post-mortem's and its change's columns that
`store.facts.facts_of` and the alerts read), never ORM objects: a steady-state run of the SLA job over a
large history is mostly these reads (bench/sla_scan.py), and building ORM instances for some hundred
rows cost more than the queries. Sending an alert loads its change through the ORM (`change`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Select, and_, any_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.procedure.model import Method, Stage
from connector.store.tables import AlertRow, ApprovalRow, ChangeRow, PostMortemRow

OPEN_AFTER_DEPLOY = (Stage.DEPLOYED.value, Stage.POSTMORTEM.value)
# Written into the SQL as literals, so that PostgreSQL matches the partial index whatever plan it caches.
_OPEN_STAGES = bindparam("open_after_deploy", OPEN_AFTER_DEPLOY, expanding=True, literal_execute=True)


def open_postmortems_due(horizon: datetime) -> Select[tuple[int]]:
    """Ids of the open post-mortems due before `horizon` (index on done_at, due_at).

    PostgreSQL is asked for them on their own: joined to their changes in one query it takes done_at and
    due_at as independent, expects thousands of rows where there are tens (open ones are due in the
    future, done ones in the past), and scans every change or starts parallel workers (bench/sla_scan.py:
    a hash join over a million changes, 600 ms, or a parallel plan, 33-39 ms, against a few ms)."""
    return select(PostMortemRow.id).where(PostMortemRow.done_at.is_(None), PostMortemRow.due_at <= horizon)


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


def postmortems_due(tool: str, horizon: datetime, open_ids: list[int] | None = None) -> list[Select[Any]]:
    """Open post-mortems due before `horizon` — the ones in `open_ids` when given (PostgreSQL: one array
    parameter, so the plan is made for that many), else found by a subquery — and done ones whose change
    is still open after deploy and may miss an R8 item (the partial index ix_changes_done_undocumented)."""
    if open_ids is None:
        open_pm = PostMortemRow.id.in_(open_postmortems_due(horizon))
    else:
        open_pm = PostMortemRow.id == any_(bindparam("open_ids", open_ids, type_=ARRAY(BigInteger)))
    done_but_open_change = and_(  # the predicate of ix_changes_done_undocumented, and more
        ChangeRow.stage.in_(_OPEN_STAGES),
        ChangeRow.postmortem_done_at.is_not(None),
        PostMortemRow.done_at.is_not(None),
        PostMortemRow.due_at <= horizon,
        or_(ChangeRow.pr_url.is_(None), ChangeRow.docs_url.is_(None)),
    )
    return [
        select(*_candidate_columns())
        .select_from(PostMortemRow)
        .join(ChangeRow, ChangeRow.id == PostMortemRow.change_id)
        .outerjoin(AlertRow, AlertRow.change_id == ChangeRow.id)  # one row per alert sent, or one without
        .where(ChangeRow.tool == tool, condition)
        for condition in (open_pm, done_but_open_change)
    ]


def verbal_unconfirmed(tool: str, now: datetime) -> Select[tuple[ApprovalRow, ChangeRow]]:
    return (
        select(ApprovalRow, ChangeRow)
        .join(ChangeRow, ChangeRow.id == ApprovalRow.change_id)
        .where(
            ApprovalRow.confirmed_at.is_(None),
            ApprovalRow.confirm_by <= now,
            ApprovalRow.method == Method.VERBAL.value,
            ChangeRow.tool == tool,
        )
    )


class SlaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def postmortems_due(self, tool: str, horizon: datetime) -> list[Candidate]:
        open_ids = None
        if self.session.get_bind().dialect.name == "postgresql":
            open_ids = list(self.session.scalars(open_postmortems_due(horizon)))
        split, width = len(POSTMORTEM_COLUMNS), len(POSTMORTEM_COLUMNS) + len(CHANGE_COLUMNS)
        found: dict[int, tuple[tuple[Any, ...], set[str]]] = {}
        for query in postmortems_due(tool, horizon, open_ids):  # each alone: a UNION ALL of the two
            for row in self.session.execute(query):  # is planned parallel on PostgreSQL (15 ms of workers)
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
            (approval, change) for approval, change in self.session.execute(verbal_unconfirmed(tool, now))
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
