"""The audit log: append-only and hash-chained, so that any later edit, insertion or deletion shows.

Entry n stores `prev_hash` (the hash of entry n-1, or "0"*64 for the first) and `hash` = SHA-256 of the
canonical JSON of {seq, at, change_key, tool, actor, action, data, prev_hash} (sorted keys, no spaces,
UTF-8, datetimes as ISO 8601 UTC). Appends are serialised: on PostgreSQL by a transaction-scoped advisory
lock, on SQLite by the write lock that every transaction takes (`BEGIN IMMEDIATE`, see db.py).

`verify()` walks the chain in order and names the first entry that was changed, inserted or removed.

A chain without a key cannot show a truncated tail, nor a rewrite that recomputes every hash after the
entry it changed: checkpoints signed with a key the database does not hold, and anchored outside it,
close both gaps (`connector.store.checkpoints`; `connector.store.audit_verify` checks all of it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from connector.store.tables import AuditRow

GENESIS_HASH = "0" * 64
# The chain's lock on PostgreSQL: a transaction-scoped advisory lock whose key is taken from the schema the
# connection writes to, since each schema of a database holds a chain of its own (an installation beside
# a benchmark's or a test run's schema); one key for every schema would make them wait on each other.
CHAIN_LOCK_KEY = "hashtextextended('ecm-audit:' || current_schema(), 0)"
STREAM_BATCH = 500


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return iso_utc(value)
    raise TypeError(f"cannot store {type(value).__name__} in the audit log")


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the audit log takes timezone-aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def entry_hash(row: AuditRow) -> str:
    content = {
        "seq": row.seq,
        "at": iso_utc(row.at),
        "change_key": row.change_key,
        "tool": row.tool,
        "actor": row.actor,
        "action": row.action,
        "data": row.data,
        "prev_hash": row.prev_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def entry_dict(row: AuditRow) -> dict[str, Any]:
    """An entry as exported: everything that is hashed, plus the hash."""
    return {
        "seq": row.seq,
        "at": iso_utc(row.at),
        "change_key": row.change_key,
        "tool": row.tool,
        "actor": row.actor,
        "action": row.action,
        "data": row.data,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self) -> None:
        """Take the chain's lock for the rest of the transaction (PostgreSQL; SQLite's write lock does it).

        A transaction that will lock a change row and append to the chain takes this first, so every
        writer takes the two locks in the same order and two deliveries for one change never deadlock."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY})"))

    def append(
        self,
        *,
        actor: str,
        action: str,
        change_key: str | None,
        tool: str | None,
        data: dict[str, Any],
        at: datetime,
    ) -> AuditRow:
        if at.tzinfo is None:
            raise ValueError("the audit log takes timezone-aware datetimes only")
        self.lock()
        last = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        previous = self.session.execute(last).first()
        row = AuditRow(
            seq=previous.seq + 1 if previous else 1,
            at=at.astimezone(UTC),
            change_key=change_key,
            tool=tool,
            actor=actor,
            action=action,
            data=json.loads(canonical_json(data)),  # store exactly what is hashed
            prev_hash=previous.hash if previous else GENESIS_HASH,
        )
        row.hash = entry_hash(row)
        self.session.add(row)
        self.session.flush()
        return row


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session) -> VerifyResult:
    """Walk the whole chain in order; stop at the first entry that does not hold."""
    checked = 0
    before: tuple[int, str] = (0, GENESIS_HASH)  # (seq, hash) of the previous entry
    before_that: str | None = None  # hash of the entry before the previous one
    chain = select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=STREAM_BATCH)
    for row in session.scalars(chain):
        problem = _problem(row, before, before_that)
        if problem is not None:
            bad_seq, what = problem
            return VerifyResult(False, checked, bad_seq, f"entry seq={bad_seq} was {what}")
        checked += 1
        before_that, before = before[1], (row.seq, row.hash)
    return VerifyResult(True, checked)


def _problem(row: AuditRow, before: tuple[int, str], before_that: str | None) -> tuple[int, str] | None:
    expected_seq, expected_prev = before[0] + 1, before[1]
    if row.seq > expected_seq:
        return expected_seq, f"removed: the chain jumps from seq={before[0]} to seq={row.seq}"
    if row.seq < expected_seq:
        return row.seq, f"inserted: seq={row.seq} appears twice"
    if row.prev_hash != expected_prev:
        if before_that is not None and row.prev_hash == before_that:
            return before[0], f"inserted: entry seq={row.seq} links past it to seq={row.seq - 2}"
        return row.seq, f"inserted: its prev_hash does not match the hash of seq={before[0]}"
    if entry_hash(row) != row.hash:
        return row.seq, "changed: its content does not match its hash"
    return None


def entries(
    session: Session,
    *,
    change_key: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[AuditRow]:
    """Entries in seq order, optionally of one change and within [start, end)."""
    query = select(AuditRow).order_by(AuditRow.seq)
    if change_key is not None:
        query = query.where(AuditRow.change_key == change_key)
    if start is not None:
        query = query.where(AuditRow.at >= start)
    if end is not None:
        query = query.where(AuditRow.at < end)
    yield from session.scalars(query.execution_options(yield_per=STREAM_BATCH))


def segment(session: Session, first: int, last: int) -> list[AuditRow]:
    """The entries from seq `first` to seq `last`, both included, in seq order."""
    query = select(AuditRow).where(AuditRow.seq.between(first, last)).order_by(AuditRow.seq)
    return list(session.scalars(query))


def extent(session: Session, before: datetime) -> tuple[int, datetime | None, int]:
    """(entries, the oldest entry's time, entries older than `before`) of the whole log."""
    total, oldest = session.execute(select(func.count(), func.min(AuditRow.at))).one()
    past = session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.at < before)) or 0
    return total or 0, oldest, past
