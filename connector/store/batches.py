"""Changes of a period read in batches as plain rows, with their children, for the population export.

One query streams the changes (`yield_per`) with what each has one of: its post-mortem (joined) and the
count of its recorded violations that were blocked or reverted (joined from one grouped pass over the
violations). One query per child table with many rows a change (approvals, reviews), one for the bypass
deploys and one for the attempts that stood (`store.evidence.STOOD`, as the packet decides it) stream
their rows alongside, joined to the changes of the period and in the same order: each change takes the
rows that follow for it (`_Following`). Five queries whatever the number of changes, no list of ids sent
per batch, and nothing kept beyond a batch. Rows are plain named tuples, never ORM objects, and nothing
enters the session. A server-side cursor is fetched `FETCH` rows a round trip, judged `size` at a time; on
PostgreSQL it is the driver's own, read in binary (`READERS`).

Times are read as aware UTC datetimes, as `store.facts.facts_of` takes them, without the per-value
`UTCDateTime` conversion. SQLite keeps them as naive UTC text: the query reads them with a `+00:00`
appended, which the driver's own parser turns into aware UTC datetimes. PostgreSQL gives them aware in
the session's time zone, which `batches` sets to UTC for the transaction. Another database reads them
through `UTCDateTime` itself. `iso()` writes a moment as the evidence does (`…Z`); the times the export's
row shows are also read as that text (`AS_TEXT`), written by the database: formatting them in Python was
a tenth of the export's time.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Row,
    Select,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    not_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from connector.store.audit import iso_utc
from connector.store.evidence import STOOD
from connector.store.tables import (
    ApprovalRow,
    ChangeRow,
    DeployRow,
    PostMortemRow,
    ReviewRow,
    UTCDateTime,
    ViolationRow,
)

PLAIN_TIME = DateTime(timezone=True)
_BOUND = UTCDateTime()  # the period's bounds as the store takes a time: aware, in UTC
CHANGES: Table = ChangeRow.__table__
# not in the facts nor the row (a child's own id only orders its rows)
UNREAD = frozenset(
    {"remote_id", "remote_status", "stage_changed_at", "updated_at", "version", "postmortem_done_at"}
)
UNREAD_OF_A_CHILD = frozenset({"id"})
CHILDREN = {"approvals": ApprovalRow, "reviews": ReviewRow}
POSTMORTEMS: Table = PostMortemRow.__table__
POSTMORTEM_READ = ("key", "created_at", "due_at", "assignee", "participants", "done_at", "report_url")
FETCH = {"postgresql": 500}
"""Rows fetched a round trip from a server-side cursor, by database (default: the batch). PostgreSQL
answers a `FETCH FORWARD` only when asked, so at 50 rows a fetch the export waited on ~11,000 round trips;
SQLite reads in process, where a larger fetch only keeps more rows alive (see `population.BATCH`)."""

SORT_MEMORY = "set_config('work_mem', '64MB', true)"
"""PostgreSQL's memory for the export's sorts, for its transaction: at the default 4 MB the children's
sorts (every approval and review of the period, ordered as their changes) spilled to disk, 15-18 MB each
at 100,000 changes (docs/BENCHMARKS.md)."""


class Loaded(NamedTuple):
    """One change as read: its row, its approvals and reviews (oldest first), its post-mortem."""

    change: Row[Any]  # the change's columns (`facts_of` reads them as a ChangeRow's)
    approvals: list[Row[Any]]
    reviews: list[Row[Any]]
    postmortem: PostMortemRecord | None
    violations: int  # blocked or reverted attempts recorded on it (those that did not stand)
    bypass: str = ""  # the production deploy it was opened for, when it is a bypass change
    stood: Sequence[Row[Any]] = ()  # the attempts that stood (store.evidence.STOOD): change_id, details


class PostMortemRecord(NamedTuple):
    """A change's post-mortem as the export reads it: from the change's own row (joined, one to one)."""

    key: str | None
    created_at: datetime | None
    due_at: datetime
    assignee: str | None
    participants: list[str] | None
    done_at: datetime | None
    report_url: str | None
    due_at_iso: str | None
    done_at_iso: str | None


def batches(session: Session, start: datetime, end: datetime, size: int) -> Iterator[list[Loaded]]:
    """Changes created in [start, end), oldest first, `size` at a time."""
    start, end = _BOUND.process_bind_param(start, None), _BOUND.process_bind_param(end, None)
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":  # psycopg then gives aware UTC datetimes; for the transaction only
        connection.exec_driver_sql(f"SELECT set_config('TimeZone', 'UTC', true), {SORT_MEMORY}")
    fetch = FETCH.get(dialect, size)
    period = (CHANGES.c.created_at >= start, CHANGES.c.created_at < end)
    order = (CHANGES.c.created_at, CHANGES.c.id)
    counted = ViolationRow.__table__
    tally = (  # each change's recorded violations, counted once in one pass over the (small) table
        select(
            counted.c.change_id,
            func.count().filter(not_(STOOD)).label("violations"),
        )
        .group_by(counted.c.change_id)
        .subquery("tally")
    )
    violations = func.coalesce(tally.c.violations, 0).label("violations")
    changes = (
        select(
            *_columns(CHANGES, dialect, UNREAD),
            *_as_text(CHANGES, dialect),
            violations,
            *_postmortem_columns(dialect),  # last: `_postmortem_of` takes them from the end of the row
        )
        .outerjoin(POSTMORTEMS, POSTMORTEMS.c.change_id == CHANGES.c.id)
        .outerjoin(tally, tally.c.change_id == CHANGES.c.id)
        .where(*period)
        .order_by(*order)
    )
    children = {
        name: select(*_columns(row.__table__, dialect, UNREAD_OF_A_CHILD), *_as_text(row.__table__, dialect))
        .join(CHANGES, CHANGES.c.id == row.__table__.c.change_id)
        .where(*period)
        .order_by(*order, row.__table__.c.id)
        for name, row in CHILDREN.items()
    }
    found = {name: _Following(_stream(connection, query, size, fetch)) for name, query in children.items()}
    approvals, reviews = found["approvals"], found["reviews"]
    deployed = DeployRow.__table__
    bypasses = (
        select(
            deployed.c.bypass_change_id.label("change_id"),
            deployed.c.repository,
            deployed.c.environment,
            deployed.c.deploy_id,
        )
        .join(CHANGES, CHANGES.c.id == deployed.c.bypass_change_id)
        .where(*period)
        .order_by(*order, deployed.c.id)
    )
    opened = _Following(_stream(connection, bypasses, size, fetch))
    standing = (  # the attempts that stood, with the rules they broke (few: most attempts are reverted)
        select(counted.c.change_id, counted.c.details)
        .join(CHANGES, CHANGES.c.id == counted.c.change_id)
        .where(*period, STOOD)
        .order_by(*order, counted.c.id)
    )
    stood = _Following(_stream(connection, standing, size, fetch))
    for rows in _partitions(connection, changes, size, fetch):
        yield [
            Loaded(
                row,
                approvals.of(row.id),
                reviews.of(row.id),
                None if row.pm_due_at is None else _postmortem_of(row),
                row.violations,
                _bypass(opened.of(row.id)),
                stood.of(row.id),
            )
            for row in rows
        ]


def _postmortem_columns(dialect: str) -> list[ColumnElement[Any]]:
    """The post-mortem's columns on its change's row, `pm_<name>`, in `PostMortemRecord`'s order.
    Participants are NULL when there are none (most post-mortems), so the driver parses no JSON for them."""
    time = TIMES.get(dialect)
    columns: list[ColumnElement[Any]] = []
    for name in POSTMORTEM_READ:
        column = POSTMORTEMS.c[name]
        if name == "participants":
            read = type_coerce(case((cast(column, String()) == "[]", None), else_=column), JSON())
        elif time and isinstance(column.type, UTCDateTime):
            read = time(column)
        else:
            read = column
        columns.append(read.label("pm_" + name))
    text = ISO_TEXT.get(dialect, _no_text)
    columns += [text(POSTMORTEMS.c[name]).label(f"pm_{name}_iso") for name in AS_TEXT["postmortems"]]
    return columns


_POSTMORTEM_WIDTH = len(PostMortemRecord._fields)


def _postmortem_of(row: Row[Any]) -> PostMortemRecord:
    return PostMortemRecord._make(row[-_POSTMORTEM_WIDTH:])


def _bypass(deploys: list[Any]) -> str:
    """The production deploys a bypass change was opened for; "" for every other change."""
    return "; ".join(f"{d.repository} to {d.environment} ({d.deploy_id})" for d in deploys) if deploys else ""


def _partitions(connection: Connection, query: Select[Any], size: int, fetch: int) -> Iterator[list[Any]]:
    """The query's rows as records, `size` at a time, fetched `fetch` at a time."""
    fetched = READERS.get(connection.dialect.name, _read)(connection, query, fetch)
    if fetch == size:
        yield from fetched
        return
    for rows in fetched:
        for first in range(0, len(rows), size):
            yield rows[first : first + size]


def _read(connection: Connection, query: Select[Any], fetch: int) -> Iterator[list[Any]]:
    """Through SQLAlchemy's result (`yield_per`), each row made a record."""
    result = connection.execute(query.execution_options(yield_per=fetch))
    record = _record(result)
    for partition in result.partitions():
        yield list(map(record._make, partition))


_CURSORS = itertools.count(1)


def _read_postgresql(connection: Connection, query: Select[Any], fetch: int) -> Iterator[list[Any]]:
    """Through psycopg's own server-side cursor, in the transaction of `connection`, rows in binary and
    made records by the driver: the server writes no text of a time or a number and the driver parses
    none, and no SQLAlchemy row is built on the way (together, a quarter of the client's reading).
    The query's parameters are the period's bounds (aware UTC, see `batches`) and literal texts, which
    need no conversion of SQLAlchemy's."""
    from psycopg.rows import namedtuple_row  # only where PostgreSQL is read

    compiled = query.compile(dialect=connection.dialect)
    driver = connection.connection.driver_connection
    with driver.cursor(f"ecm_export_{next(_CURSORS)}", row_factory=namedtuple_row) as cursor:
        cursor.execute(compiled.string, compiled.params, binary=True)
        while rows := cursor.fetchmany(fetch):
            yield rows


READERS: dict[str, Callable[[Connection, Select[Any], int], Iterator[list[Any]]]] = {
    "postgresql": _read_postgresql
}
"""How each database's rows are read, `fetch` at a time (another database: `_read`)."""


def _stream(connection: Connection, query: Select[Any], size: int, fetch: int) -> Iterator[Any]:
    return itertools.chain.from_iterable(_partitions(connection, query, size, fetch))


class _Following:
    """A child table's rows, read in the order of the changes (joined to them, ordered as they are):
    each change takes the run of rows that follows for it."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self._runs = itertools.groupby(rows, key=_CHANGE_ID)
        self._id, self._run = next(self._runs, _END)

    def of(self, change_id: int) -> list[Any]:
        if self._id != change_id:
            return []
        run = list(self._run)
        self._id, self._run = next(self._runs, _END)
        return run

    def one(self, change_id: int) -> Any | None:
        """The first of the change's rows (a post-mortem, a count), None without one."""
        run = self.of(change_id)
        return run[0] if run else None


_CHANGE_ID = operator.attrgetter("change_id")
_END = (None, iter(()))


def _columns(table: Table, dialect: str, skipped: frozenset[str] = frozenset()) -> list[Any]:
    time = TIMES.get(dialect)
    return [
        time(c).label(c.name) if time and isinstance(c.type, UTCDateTime) else c
        for c in table.c
        if c.name not in skipped
    ]


def _utc_text(column: Column[Any]) -> ColumnElement[Any]:
    """`'2026-01-02 03:04:05.000000' || '+00:00'`, parsed (`fromisoformat`) as aware UTC; NULL stays NULL."""
    return type_coerce(type_coerce(column, String()).concat(literal("+00:00", String())), PLAIN_TIME)


def _plain_time(column: Column[Any]) -> ColumnElement[Any]:
    return type_coerce(column, PLAIN_TIME)


AS_TEXT = {"changes": ("created_at", "deployed_at", "closed_at"), "postmortems": ("due_at", "done_at")}
"""The times the export's row shows, read a second time as `iso()`'s text, `<name>_iso`."""


def _as_text(table: Table, dialect: str) -> list[ColumnElement[Any]]:
    text = ISO_TEXT.get(dialect, _no_text)
    return [text(table.c[name]).label(name + "_iso") for name in AS_TEXT.get(table.name, ())]


def _sqlite_iso(column: Column[Any]) -> ColumnElement[Any]:
    """`2026-01-02 03:04:05.000000` (naive UTC, as `UTCDateTime` stores it) -> `2026-01-02T03:04:05.000000Z`;
    NULL for any other text, which `iso()` then writes from the moment."""
    return case((func.length(column) == 26, func.replace(column, " ", "T").concat("Z")), else_=None)


def _postgresql_iso(column: Column[Any]) -> ColumnElement[Any]:
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')


def _no_text(column: Column[Any]) -> ColumnElement[Any]:
    return literal(None, String())


ISO_TEXT = {"sqlite": _sqlite_iso, "postgresql": _postgresql_iso}


TIMES: dict[str, Callable[[Column[Any]], ColumnElement[Any]]] = {
    "sqlite": _utc_text,
    "postgresql": _plain_time,
}
"""How each database's times are read as aware UTC without `UTCDateTime` (see the module's docstring)."""


def _record(result: CursorResult[Any]) -> type[tuple[Any, ...]]:
    return _record_of(tuple(result.keys()))


@functools.cache
def _record_of(columns: tuple[str, ...]) -> type[tuple[Any, ...]]:
    return namedtuple("Record", columns)  # noqa: PYI024 - the columns are known at run time


def iso(moment: datetime | None) -> str | None:
    """`packet.iso` of the stored moment: ISO 8601 UTC with microseconds and a `Z`."""
    if moment is None:
        return None
    if moment.tzinfo is UTC:  # as `batches` reads them
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    if moment.tzinfo is None:
        return moment.isoformat(timespec="microseconds") + "Z"
    return iso_utc(moment)
