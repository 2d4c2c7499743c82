"""Repositories over one session: changes, webhook deliveries, once-only markers, the outbox, alerts,
violations and people. Every query a use case needs is a method here (the services write no SQL).

Duplicates (a delivery seen before, a marker set before, an outbox row with a known idempotency key) are
detected by the
database's unique constraints with `INSERT … ON CONFLICT DO NOTHING`, which stays correct when two
processes race: the loser's insert waits for the winner's commit, then inserts nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, and_, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, make_transient_to_detached
from sqlalchemy.sql.dml import ReturningInsert

from connector.outbox import (
    Action,
    AddLabel,
    Comment,
    Notify,
    Revert,
    SetGate,
    ShowMissing,
    Target,
    UpdateFields,
    address,
)
from connector.procedure.model import Change
from connector.store.db import Database
from connector.store.facts import change_facts
from connector.store.outbox import decode, encode
from connector.store.people import remember
from connector.store.tables import (
    AlertRow,
    ChangeRow,
    DeliveryRow,
    DeployRow,
    MarkerRow,
    OutboxRow,
    PostMortemRow,
    ViolationRow,
    WatermarkRow,
)

DELIVERY_OUTCOMES = frozenset({"received", "handled", "ignored", "duplicate", "failed"})
PENDING = "pending"
RowT = TypeVar("RowT", DeliveryRow, DeployRow, MarkerRow, OutboxRow)


def _insert_unless_duplicate(session: Session, row: RowT) -> RowT | None:
    """Insert `row` unless a unique key says it exists: one `INSERT … ON CONFLICT DO NOTHING RETURNING`
    statement (no savepoint), correct under concurrency on both databases. The row is then attached to
    the session as persistent, so later attribute changes are plain UPDATEs."""
    table = type(row).__table__
    values = {column.key: getattr(row, column.key) for column in table.columns if column.key in row.__dict__}
    statement = _insert_statement(session.get_bind().dialect.name, table, tuple(values))
    new_id = session.execute(statement, values).scalar()
    if new_id is None:
        return None
    row.id = new_id
    make_transient_to_detached(row)
    session.add(row)
    return row


@functools.lru_cache(maxsize=32)
def _insert_statement(dialect: str, table: Table, columns: tuple[str, ...]) -> ReturningInsert[Any]:
    """Built once per table and column set, so SQLAlchemy's compiled-statement cache is hit every time."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing().returning(table.c.id)


@functools.lru_cache(maxsize=8)
def _insert_many_statement(dialect: str, table: Table) -> ReturningInsert[Any]:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing().returning(table.c.source, table.c.delivery_id)


# The actions a revert may pass in its change's queue: the gate field, the "what is missing" comment,
# other fields, labels, comments and mails. None moves the change's status or reads it back, and each
# writes what it was queued with whichever status the issue is in by then.
REVERT_PASSES = (
    SetGate.ACTION,
    ShowMissing.ACTION,
    UpdateFields.ACTION,
    AddLabel.ACTION,
    Comment.ACTION,
    Notify.ACTION,
)


class ChangeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tool: str, key: str, *, for_update: bool = False) -> ChangeRow | None:
        """The change, locked until commit with `for_update` (SELECT … FOR UPDATE on PostgreSQL)."""
        query = select(ChangeRow).where(ChangeRow.tool == tool, ChangeRow.key == key)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).one_or_none()

    def add(self, row: ChangeRow) -> ChangeRow:
        self.session.add(row)
        self.session.flush()
        return row

    def to_facts(self, row: ChangeRow) -> Change:
        return change_facts(row)

    def created_between(self, start: datetime, end: datetime) -> int:
        """How many changes were created in [start, end)."""
        query = select(func.count()).where(ChangeRow.created_at >= start, ChangeRow.created_at < end)
        return self.session.scalar(query) or 0

    def postmortem(self, tool: str, key: str) -> PostMortemRow | None:
        """The post-mortem whose task in the tool has this key (its change is `.change`)."""
        query = select(PostMortemRow).join(ChangeRow).where(ChangeRow.tool == tool, PostMortemRow.key == key)
        return self.session.scalar(query)


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        source: str,
        delivery_id: str,
        *,
        event_type: str | None,
        issue_key: str | None,
        body: str | bytes | None,
        received_at: datetime,
        outcome: str = "received",
        detail: str | None = None,
    ) -> DeliveryRow | None:
        """The new delivery row, or None when (source, delivery_id) was recorded before. An outcome
        known up front (an ignored event) is written with it, in the one statement."""
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"delivery outcome must be one of {sorted(DELIVERY_OUTCOMES)}, not {outcome!r}")
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        row = DeliveryRow(
            source=source,
            delivery_id=delivery_id,
            event_type=event_type,
            issue_key=issue_key,
            body=body,
            received_at=received_at,
            outcome=outcome,
            detail=detail,
        )
        return _insert_unless_duplicate(self.session, row)

    def record_many(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert many deliveries, each given as the record's keyword arguments (`source`, `delivery_id`,
        `event_type`, `issue_key`, `body`, `received_at`, `outcome`, `detail`), in one multi-row
        `INSERT … ON CONFLICT DO NOTHING RETURNING`; the (source, delivery_id) of those inserted, the
        others being recorded before."""
        values = _delivery_values(rows)
        if not values:
            return set()
        return _insert_deliveries(self.session.connection(), values)  # Core on the session's connection

    def recorded(self, source: str, delivery_ids: Collection[str]) -> set[str]:
        """Those of `delivery_ids` recorded before (one query)."""
        if not delivery_ids:
            return set()
        query = select(DeliveryRow.delivery_id).where(
            DeliveryRow.source == source, DeliveryRow.delivery_id.in_(list(delivery_ids))
        )
        return set(self.session.scalars(query))

    def mark(self, row: DeliveryRow, outcome: str, detail: str | None = None) -> None:
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"delivery outcome must be one of {sorted(DELIVERY_OUTCOMES)}, not {outcome!r}")
        row.outcome = outcome
        row.detail = detail


class DeliveryWriter:
    """`DeliveryRepository.record_many` as one statement that is its own transaction, on one connection
    kept between calls (the webhook intake's batches of ignored deliveries): the one `INSERT … VALUES
    (…), (…) ON CONFLICT DO NOTHING RETURNING` runs in autocommit on the driver's cursor, so the database
    commits it when it ends, and it is on disk when the call returns (`synchronous=FULL` on SQLite,
    `synchronous_commit=on` on PostgreSQL). A single statement is atomic on both databases: all of its
    rows are stored or none. No `BEGIN` or `COMMIT` is sent (on PostgreSQL one round trip a batch instead
    of two), no pool checkout, no ping of the server, no ORM session. SQLite starts a transaction for a
    statement outside one and commits it when the statement finishes; a first statement that writes starts
    a write transaction, waiting for another writer in the busy handler as `BEGIN IMMEDIATE` does
    (https://www.sqlite.org/lang_transaction.html). PostgreSQL commits an extended query outside a
    transaction block at its Sync, before it answers ReadyForQuery
    (https://www.postgresql.org/docs/current/protocol-flow.html, "Extended Query"). The text is made once
    per dialect and number of rows and its values bound by the columns' own types. One caller at a time.
    A call that fails drops the connection (the driver's error is raised as it came); the next one takes
    a new one."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Any = None  # the pool's connection, its driver's in autocommit
        dialect = database.engine.dialect
        columns = DeliveryRow.__table__.c
        self._binds = [(name, columns[name].type.bind_processor(dialect)) for name in _DELIVERY_COLUMNS]

    def record(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        values = _delivery_values(rows)
        if not values:
            return set()
        params = [
            bind(value[name]) if bind is not None else value[name]
            for value in values
            for name, bind in self._binds
        ]
        statement = _insert_deliveries_text(self.database.dialect, len(values))
        connection, self._connection = self._connection or self._autocommit(), None
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(statement, params)
                stored = {(source, delivery_id) for source, delivery_id in cursor.fetchall()}
            finally:
                cursor.close()
        except BaseException:
            connection.invalidate()
            raise
        self._connection = connection
        return stored

    def _autocommit(self) -> Any:
        """A connection of its own, never given back to the pool (so no other user finds it in autocommit);
        dropped (invalidated) when a statement fails. SQLite's are in autocommit already (the store's
        "begin" event issues `BEGIN IMMEDIATE` itself, `db._configure_sqlite`)."""
        connection = self.database.engine.raw_connection()
        if self.database.dialect == "postgresql":
            connection.driver_connection.autocommit = True
        return connection


_DELIVERY_COLUMNS = (
    "source",
    "delivery_id",
    "event_type",
    "issue_key",
    "body",
    "received_at",
    "outcome",
    "detail",
)


@functools.lru_cache(maxsize=64)
def _insert_deliveries_text(dialect: str, rows: int) -> str:
    """`rows` deliveries in one INSERT, a delivery id recorded before skipped, the new ones returned."""
    mark = "?" if dialect == "sqlite" else "%s"  # sqlite3's and psycopg's parameter styles
    row = "(" + ", ".join([mark] * len(_DELIVERY_COLUMNS)) + ")"
    columns = ", ".join(_DELIVERY_COLUMNS)
    values = ", ".join([row] * rows)
    # Names and placeholders only: every value is bound.
    into = f"INSERT INTO {DeliveryRow.__tablename__} ({columns}) VALUES {values}"  # noqa: S608
    return f"{into} ON CONFLICT DO NOTHING RETURNING source, delivery_id"


def _delivery_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    values = []
    for row in rows:
        if row["outcome"] not in DELIVERY_OUTCOMES:
            raise ValueError(
                f"delivery outcome must be one of {sorted(DELIVERY_OUTCOMES)}, not {row['outcome']!r}"
            )
        body = row["body"]
        values.append(
            {**row, "body": body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body}
        )
    return values


def _insert_deliveries(connection: Connection, values: list[dict[str, Any]]) -> set[tuple[str, str]]:
    statement = _insert_many_statement(connection.dialect.name, DeliveryRow.__table__)
    return {(source, delivery_id) for source, delivery_id in connection.execute(statement, values)}


class MarkerRepository:
    """Things done once that are not deliveries: a comment or changelog entry processed, a drift problem
    alerted today."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def first(
        self, kind: str, key: str, *, at: datetime, issue_key: str | None = None, detail: str | None = None
    ) -> bool:
        """Set the marker (kind, key); True the first time, False when it was set before."""
        row = MarkerRow(kind=kind, key=key, at=at, issue_key=issue_key, detail=detail)
        return _insert_unless_duplicate(self.session, row) is not None

    def seen(self, kind: str, key: str) -> bool:
        """Whether the marker (kind, key) is set; nothing is set here."""
        query = select(MarkerRow.id).where(MarkerRow.kind == kind, MarkerRow.key == key).limit(1)
        return self.session.scalar(query) is not None

    def seen_of(self, kind: str, keys: Collection[str]) -> set[str]:
        """Those of `keys` whose marker of `kind` is set (one query); nothing is set here."""
        if not keys:
            return set()
        query = select(MarkerRow.key).where(MarkerRow.kind == kind, MarkerRow.key.in_(list(keys)))
        return set(self.session.scalars(query))


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        tool: str,
        target: Target,
        action: Action,
        idempotency_key: str,
        change_id: int | None,
        now: datetime,
    ) -> OutboxRow | None:
        """The new pending row, or None when a row with this idempotency key exists already (`enqueue`
        makes the key; a row that is about something else than a change, such as a catch-up before its
        change is registered, names its own)."""
        row = OutboxRow(
            tool=tool,
            action=action.ACTION,
            payload=encode(target, action),
            idempotency_key=idempotency_key,
            change_id=change_id,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        return _insert_unless_duplicate(self.session, row)

    def enqueue(
        self, tool: str, change: ChangeRow | None, action: Action, tag: str, *, now: datetime
    ) -> bool:
        """Queue `action` about `change` once, under the key `connector.outbox.address` makes from `tag`.
        False when it was queued before."""
        target, key, change_id = address(tool, change, action, tag)
        added = self.add(
            tool=tool, target=target, action=action, idempotency_key=key, change_id=change_id, now=now
        )
        return added is not None

    def pending(self, idempotency_key: str) -> OutboxRow | None:
        query = select(OutboxRow).where(
            OutboxRow.idempotency_key == idempotency_key, OutboxRow.status == PENDING
        )
        return self.session.scalar(query)

    def pending_of(self, change_id: int, action: str) -> list[tuple[OutboxRow, Action]]:
        """The change's pending rows of this kind with their actions, oldest first."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.change_id == change_id, OutboxRow.action == action, OutboxRow.status == PENDING)
            .order_by(OutboxRow.id)
        )
        return [(row, decode(row.action, row.payload)[1]) for row in self.session.scalars(query)]

    def last(self, change_id: int, action: str) -> Action | None:
        """The newest action of this kind queued for the change, whatever its status."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.change_id == change_id, OutboxRow.action == action)
            .order_by(OutboxRow.id.desc())
            .limit(1)
        )
        row = self.session.scalars(query).first()
        return None if row is None else decode(row.action, row.payload)[1]

    def depth(self) -> int:
        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.status == PENDING)
        return self.session.scalar(query) or 0

    def get(self, row_id: int, *, for_update: bool = False) -> OutboxRow | None:
        """The row, locked until commit with `for_update`."""
        return self.session.get(OutboxRow, row_id, with_for_update=for_update)

    def newest(self, limit: int, *, status: str | None = None) -> list[tuple[OutboxRow, str | None]]:
        """The newest rows (of one status), each with the key of its change (None without one)."""
        query = (
            select(OutboxRow, ChangeRow.key)
            .outerjoin(ChangeRow, ChangeRow.id == OutboxRow.change_id)
            .order_by(OutboxRow.id.desc())
            .limit(limit)
        )
        if status:
            query = query.where(OutboxRow.status == status)
        return [(row, key) for row, key in self.session.execute(query)]

    def claim_next(self, now: datetime, *, lock: bool = True) -> OutboxRow | None:
        """The oldest due action whose change has no older pending action, locked for this worker (unless
        `lock` is false: a look at what comes next). A revert does not wait for the older actions that
        only write beside the status (REVERT_PASSES): a violation is moved back without waiting out
        their retries; it keeps its place behind a status move, a catch-up or another revert."""
        earlier = aliased(OutboxRow)
        query = (
            select(OutboxRow)
            .where(
                OutboxRow.status == PENDING,
                OutboxRow.next_attempt_at <= now,
                ~exists().where(
                    and_(
                        earlier.change_id == OutboxRow.change_id,
                        earlier.status == PENDING,
                        earlier.id < OutboxRow.id,
                        or_(OutboxRow.action != Revert.ACTION, earlier.action.not_in(REVERT_PASSES)),
                    )
                ),
            )
            .order_by(OutboxRow.id)
            .limit(1)
        )
        if lock:
            query = query.with_for_update(skip_locked=True, of=OutboxRow)
        return self.session.scalar(query)

    def claim_again(self, row_id: int) -> OutboxRow | None:
        """The row, locked for this worker again after its transaction was committed, if it is still
        pending and no other worker holds it."""
        query = select(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.status == PENDING)
        return self.session.scalar(query.with_for_update(skip_locked=True, of=OutboxRow))

    def following_updates(self, row: OutboxRow, now: datetime, limit: int) -> list[OutboxRow]:
        """The due rows of `row`'s action (`update_fields`, `show_missing`) of the same change right after
        `row`, up to the first other row (at most `limit`): they are performed with `row` as one write.
        Nobody else can claim them while `row` is pending."""
        if row.change_id is None:
            return []
        later = self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.change_id == row.change_id, OutboxRow.status == PENDING, OutboxRow.id > row.id)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        merged: list[OutboxRow] = []
        for candidate in later:
            if candidate.action != row.action or candidate.next_attempt_at > now:
                break
            merged.append(candidate)
        return merged


class AlertRepository:
    """Alerts sent: one row per (change, kind, threshold), the unique key that makes each alert once."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: AlertRow) -> bool:
        """True when `row` is new; False when this (change, kind, threshold) was alerted before: a second
        identical alert is nothing, not an error."""
        return _insert_unless_duplicate(self.session, row) is not None

    def withdraw(self, change_id: int, kind: str, threshold: str) -> None:
        """The alert is not to be sent after all (a withdrawn violation)."""
        self.session.execute(
            delete(AlertRow).where(
                AlertRow.change_id == change_id, AlertRow.kind == kind, AlertRow.threshold == threshold
            )
        )


class ViolationRepository:
    """Attempts that broke the procedure, as the rules named them, blocked or reverted."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ViolationRow) -> None:
        self.session.add(row)

    def withdraw(self, change_id: int, at: datetime, to_stage: str) -> list[str]:
        """Remove the violation of moving the change to `to_stage` at `at`; the rules it named."""
        found = self.session.scalars(
            select(ViolationRow).where(
                ViolationRow.change_id == change_id, ViolationRow.at == at, ViolationRow.to_stage == to_stage
            )
        ).all()
        for row in found:
            self.session.delete(row)
        return sorted({rule for row in found for rule in row.rules})


class WatermarkRepository:
    """How far a periodic reading of the tools got: one moment per name ("reconcile:jira")."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, name: str) -> datetime | None:
        row = self.session.get(WatermarkRow, name)
        return datetime.fromisoformat(row.value) if row is not None else None

    def advance(self, name: str, moment: datetime) -> None:
        """Move the watermark to `moment`, never back (the row is locked until commit)."""
        row = self.session.get(WatermarkRow, name, with_for_update=True)
        if row is None:
            self.session.add(WatermarkRow(name=name, value=moment.isoformat(), updated_at=moment))
        elif datetime.fromisoformat(row.value) < moment:
            row.value, row.updated_at = moment.isoformat(), moment


class PeopleRepository:
    """Who each identity is (display name, e-mail), recorded when a fact about them is."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(self, tool: str, identity: str, name: str, email: str | None, at: datetime) -> None:
        remember(self.session, tool, identity, name, email, at)


class DeployRepository:
    """Production deploys reported by pipelines, one row per deploy (`source`, `deploy_id`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, row: DeployRow) -> DeployRow | None:
        """The new row, or None when this deploy was recorded before (a retry, its other event)."""
        return _insert_unless_duplicate(self.session, row)

    def get(self, source: str, deploy_id: str) -> DeployRow | None:
        return self.session.scalar(
            select(DeployRow).where(DeployRow.source == source, DeployRow.deploy_id == deploy_id)
        )

    def of_change(self, change_id: int) -> list[DeployRow]:
        """The pipeline deploys recorded on the change (named by it, or opened as its bypass)."""
        query = select(DeployRow).where(
            (DeployRow.change_id == change_id) | (DeployRow.bypass_change_id == change_id)
        )
        return list(self.session.scalars(query.order_by(DeployRow.deployed_at, DeployRow.id)))
