"""The SLA pass's queries (connector/services/sla.py), read through the indexes: open post-mortems by
`due_at`, done post-mortems whose change still misses a retroactive item by the partial index of
open changes with their post-mortem done and a link missing, unconfirmed verbal approvals by
`confirm_by`; and the alert rows that make each alert once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, Select, and_, any_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.procedure.model import Method, Stage
from connector.store.tables import AlertRow, ApprovalRow, ChangeRow, PostMortemRow

OPEN_AFTER_DEPLOY = (Stage.DEPLOYED.value, Stage.POSTMORTEM.value)
# Written into the SQL as literals, so that PostgreSQL matches the partial index whatever plan it caches.
_OPEN_STAGES = bindparam("open_after_deploy", OPEN_AFTER_DEPLOY, expanding=True, literal_execute=True)
CHUNK = 1000  # change ids per IN (...) list


def open_postmortems_due(horizon: datetime) -> Select[tuple[int]]:
    """Ids of the open post-mortems due before `horizon` (index on done_at, due_at).

    PostgreSQL is asked for them on their own: joined to their changes in one query it takes done_at and
    due_at as independent, expects thousands of rows where there are tens (open ones are due in the
    future, done ones in the past), and scans every change or starts parallel workers (bench/sla_scan.py:
    a hash join over a million changes, 600 ms, or a parallel plan, 33-39 ms, against a few ms)."""
    return select(PostMortemRow.id).where(PostMortemRow.done_at.is_(None), PostMortemRow.due_at <= horizon)


def postmortems_due(
    tool: str, horizon: datetime, open_ids: list[int] | None = None
) -> list[Select[tuple[PostMortemRow, ChangeRow]]]:
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
        select(PostMortemRow, ChangeRow)
        .join(ChangeRow, ChangeRow.id == PostMortemRow.change_id)
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

    def postmortems_due(self, tool: str, horizon: datetime) -> list[tuple[PostMortemRow, ChangeRow]]:
        open_ids = None
        if self.session.get_bind().dialect.name == "postgresql":
            open_ids = list(self.session.scalars(open_postmortems_due(horizon)))
        queries = postmortems_due(tool, horizon, open_ids)
        return [(pm, change) for query in queries for pm, change in self.session.execute(query)]

    def verbal_unconfirmed(self, tool: str, now: datetime) -> list[tuple[ApprovalRow, ChangeRow]]:
        return [
            (approval, change) for approval, change in self.session.execute(verbal_unconfirmed(tool, now))
        ]

    def alerted(self, change_ids: Iterable[int]) -> set[tuple[int, str]]:
        """(change, threshold) already alerted: skipped without a write (the constraint still decides
        races)."""
        ids, sent = list(change_ids), set[tuple[int, str]]()
        for start in range(0, len(ids), CHUNK):
            query = select(AlertRow.change_id, AlertRow.threshold).where(
                AlertRow.change_id.in_(ids[start : start + CHUNK])
            )
            sent.update((row.change_id, row.threshold) for row in self.session.execute(query))
        return sent

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
