"""Changes of a period read in batches as plain rows, with their children, for the population export.

One query streams the changes (`yield_per`); for each batch one query per child table (approvals,
reviews, post-mortems) keyed by change id, and one count of recorded violations. Rows are SQLAlchemy
Core rows, never ORM objects, and nothing enters the session.

Times are read without the per-value `UTCDateTime` conversion. SQLite keeps them as naive UTC text: the
query reads them with a `+00:00` appended, which the driver's own parser turns into aware UTC datetimes,
so nothing is converted afterwards. PostgreSQL gives them aware in the session's time zone. `moment()`
says what turns a value so read into aware UTC (nothing on SQLite, `utc()` elsewhere), for
`store.facts.facts_of`, and `iso()` writes a moment as the evidence does (`…Z`).
"""

from __future__ import annotations

import functools
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from connector.store.audit import iso_utc
from connector.store.tables import ApprovalRow, ChangeRow, PostMortemRow, ReviewRow, UTCDateTime, ViolationRow

PLAIN_TIME = DateTime(timezone=True)
CHANGES: Table = ChangeRow.__table__
UNREAD = frozenset({"remote_id", "remote_status", "updated_at", "version"})  # not in the facts nor the row
CHILDREN = {"approvals": ApprovalRow, "reviews": ReviewRow, "postmortems": PostMortemRow}


class Loaded(NamedTuple):
    """One change as read: its row, its approvals and reviews (oldest first), its post-mortem."""

    change: Any
    approvals: list[Any]
    reviews: list[Any]
    postmortem: Any | None
    violations: int  # blocked or reverted attempts recorded on it


def batches(session: Session, start: datetime, end: datetime, size: int) -> Iterator[list[Loaded]]:
    """Changes created in [start, end), oldest first, `size` at a time."""
    connection = session.connection()
    dialect = connection.dialect.name
    query = (
        select(*_columns(CHANGES, dialect, UNREAD))
        .where(CHANGES.c.created_at >= start, CHANGES.c.created_at < end)
        .order_by(CHANGES.c.created_at, CHANGES.c.id)
        .execution_options(yield_per=size)
    )
    among = AMONG.get(dialect, _in_list)
    children = {name: _children_query(row.__table__, dialect, among) for name, row in CHILDREN.items()}
    counted = ViolationRow.__table__.c
    violations = (
        select(counted.change_id, func.count()).where(among(counted.change_id)).group_by(counted.change_id)
    )
    result = connection.execute(query)
    record = _record(result)
    for partition in result.partitions():
        rows = list(map(record._make, partition))
        ids = {"ids": [row.id for row in rows]}
        found = {name: _by_change(connection.execute(q, ids)) for name, q in children.items()}
        counts = {change_id: count for change_id, count in connection.execute(violations, ids)}
        approvals, reviews, postmortems = found["approvals"], found["reviews"], found["postmortems"]
        yield [
            Loaded(
                row,
                approvals.get(row.id, []),
                reviews.get(row.id, []),
                (postmortems.get(row.id) or [None])[0],
                counts.get(row.id, 0),
            )
            for row in rows
        ]


def _columns(table: Table, dialect: str, skipped: frozenset[str] = frozenset()) -> list[Any]:
    time = _utc_text if dialect == "sqlite" else _plain_time
    return [
        time(c).label(c.name) if isinstance(c.type, UTCDateTime) else c for c in table.c if c.name not in skipped
    ]


def _utc_text(column: Any) -> Any:
    """`'2026-01-02 03:04:05.000000' || '+00:00'`, parsed (`fromisoformat`) as aware UTC; NULL stays NULL."""
    return type_coerce(type_coerce(column, String()).concat(literal("+00:00", String())), PLAIN_TIME)


def _plain_time(column: Any) -> Any:
    return type_coerce(column, PLAIN_TIME)


def moment(session: Session) -> Callable[[Any], Any]:
    """What turns a time `batches` read into aware UTC on the session's database."""
    return _as_read if session.connection().dialect.name == "sqlite" else utc


def _as_read(value: Any) -> Any:
    return value


def _children_query(table: Table, dialect: str, among: Callable[[Any], Any]) -> Any:
    return select(*_columns(table, dialect)).where(among(table.c.change_id)).order_by(table.c.id)


def _in_list(column: Any) -> Any:
    return column.in_(bindparam("ids", expanding=True))  # IN (?, ?, ...): one parameter per id


def _any_array(column: Any) -> Any:
    return column == any_(bindparam("ids", type_=ARRAY(BigInteger)))  # one array parameter


AMONG: dict[str, Callable[[Any], Any]] = {"postgresql": _any_array}
"""How a child query names the batch's change ids, by dialect. PostgreSQL takes them as one array:
rendering and parsing 500 placeholders a query cost more than the query itself."""


def _record(result: Any) -> type[tuple[Any, ...]]:
    return _record_of(tuple(result.keys()))


@functools.cache
def _record_of(columns: tuple[str, ...]) -> type[tuple[Any, ...]]:
    return namedtuple("Record", columns)  # noqa: PYI024 - the columns are known at run time


def _by_change(result: Any) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    record = _record(result)
    for row in map(record._make, result.all()):  # one fetch for the batch, not one per row
        found[row.change_id].append(row)
    return found


def utc(value: Any) -> Any:
    """What `UTCDateTime` gives for a stored moment (aware UTC); anything else unchanged."""
    if value.__class__ is not datetime:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """`packet.iso` of the stored moment: ISO 8601 UTC with microseconds and a `Z`."""
    if moment is None:
        return None
    if moment.tzinfo is UTC:  # as `batches` reads SQLite's times
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    if moment.tzinfo is None:
        return moment.isoformat(timespec="microseconds") + "Z"
    return iso_utc(moment)
