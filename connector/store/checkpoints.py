"""Signed checkpoints of the audit chain, stored in the database and appended to an anchor outside it.

A checkpoint says "the chain ended at entry `seq` whose hash is `hash`, at time `at`", names the checkpoint
before it (`prev_seq`, 0 for the first) and the key (`key_id`), and carries an Ed25519 signature of the
canonical JSON of those five fields. The signing key lives in a file the database does not hold, so
someone who can rewrite the database can neither recompute a valid checkpoint after rewriting the chain
nor hide a truncated tail; the anchor file (append-only, fsynced after every line) keeps a copy of
every checkpoint where a database user cannot reach it, so deleting checkpoints shows as well.

Checkpoints are signed by the jobs process (`Checkpointer.run`, a scheduled job polling every few
seconds), never in a webhook's transaction: a checkpoint is due once `every_entries` entries are unsigned
or the oldest unsigned entry is `every_seconds` old. The database row is committed first, then the line
is appended; a line lost to a crash in between is appended on the next run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.store.audit import iso_utc
from connector.store.db import Database
from connector.store.signing import key_id, sign
from connector.store.tables import AuditRow, CheckpointRow

if TYPE_CHECKING:
    from connector.config import Settings

PAYLOAD_FIELDS = ("seq", "hash", "at", "prev_seq", "key_id")


class AnchorError(Exception):
    """An anchor file that cannot be read, or a line in it that is not a checkpoint (names the line)."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # ISO 8601 UTC, exactly as signed
    prev_seq: int
    key_id: str
    signature: str

    def payload(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PAYLOAD_FIELDS}

    def as_json(self) -> dict[str, Any]:
        return {**self.payload(), "signature": self.signature}

    @classmethod
    def from_row(cls, row: CheckpointRow) -> Checkpoint:
        return cls(row.seq, row.hash, iso_utc(row.at), row.prev_seq, row.key_id, row.signature)

    @classmethod
    def from_json(cls, value: Any) -> Checkpoint:
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        try:
            seq, prev_seq = value["seq"], value["prev_seq"]
            texts = [value[name] for name in ("hash", "at", "key_id", "signature")]
        except KeyError as exc:
            raise ValueError(f"no {exc.args[0]!r}") from None
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (seq, prev_seq)):
            raise ValueError("seq and prev_seq must be whole numbers")
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("hash, at, key_id and signature must be strings")
        return cls(seq, texts[0], texts[1], prev_seq, texts[2], texts[3])


def signed(key: Ed25519PrivateKey, *, seq: int, hash: str, at: datetime, prev_seq: int) -> Checkpoint:
    unsigned = Checkpoint(seq, hash, iso_utc(at), prev_seq, key_id(key.public_key()), "")
    return Checkpoint(**{**unsigned.payload(), "signature": sign(key, unsigned.payload())})


class Anchor:
    """An append-only JSON-lines file of checkpoints, fsynced after each line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoints: list[Checkpoint]) -> None:
        if not checkpoints:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(c.as_json(), sort_keys=True) + "\n" for c in checkpoints)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(descriptor, "a", encoding="utf-8") as file:
            file.write(lines)
            file.flush()
            os.fsync(file.fileno())

    def read(self) -> list[Checkpoint]:
        """Every checkpoint in the file, in file order; [] when there is no file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise AnchorError(f"{self.path}: cannot read the anchor file: {exc}") from None
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(Checkpoint.from_json(json.loads(line)))
            except ValueError as exc:
                raise AnchorError(f"{self.path}:{number}: not a checkpoint: {exc}") from None
        return found

    def exists(self) -> bool:
        return self.path.exists()


def any_checkpoint(session: Session) -> bool:
    """Has the log a signed checkpoint stored?"""
    return session.scalar(select(CheckpointRow.seq).limit(1)) is not None


def newest_checkpoint(session: Session) -> Checkpoint | None:
    """The last checkpoint signed, or None before the first."""
    row = session.scalar(select(CheckpointRow).order_by(CheckpointRow.seq.desc()).limit(1))
    return Checkpoint.from_row(row) if row is not None else None


def covering_checkpoint(session: Session, seq: int) -> Checkpoint | None:
    """The first checkpoint at or after entry `seq`: the one whose signed hash covers it."""
    query = select(CheckpointRow).where(CheckpointRow.seq >= seq).order_by(CheckpointRow.seq).limit(1)
    row = session.scalar(query)
    return Checkpoint.from_row(row) if row is not None else None


def stored_checkpoints(session: Session) -> list[Checkpoint]:
    rows = session.scalars(select(CheckpointRow).order_by(CheckpointRow.seq))
    return [Checkpoint.from_row(row) for row in rows]


class Checkpointer:
    """Signs a checkpoint when one is due and appends it to the anchor (see the module docstring)."""

    def __init__(
        self,
        database: Database,
        key: Ed25519PrivateKey,
        anchor: Anchor,
        *,
        clock: Callable[[], datetime],
        every_entries: int = 100,
        every_seconds: float = 60.0,
    ) -> None:
        self.database, self.key, self.anchor, self.clock = database, key, anchor, clock
        self.every_entries, self.every = every_entries, timedelta(seconds=every_seconds)
        self._anchored_seq: int | None = None  # the newest seq known to be in the anchor file

    def run(self) -> str:
        """One scheduled run: a short summary for the job log, "" when nothing was due."""
        made = self.sign(force=False)
        return f"checkpoint seq={made.seq}" if made else ""

    def sign(self, *, force: bool = True) -> Checkpoint | None:
        """Sign the chain's newest entry if it is unsigned (and, unless `force`, a checkpoint is due)."""
        with self.database.session() as session:
            made = self._sign_in(session, force)
            if made is not None:
                try:
                    session.commit()
                except IntegrityError:  # another signer took this seq first
                    session.rollback()
                    made = None
            missing = self._not_yet_anchored(session)
        self.anchor.append(missing)
        if missing:
            self._anchored_seq = missing[-1].seq
        return made

    def _sign_in(self, session: Session, force: bool) -> Checkpoint | None:
        newest = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1))
        last = newest.first()
        previous = session.scalar(select(CheckpointRow.seq).order_by(CheckpointRow.seq.desc()).limit(1)) or 0
        if last is None or last.seq <= previous:
            return None
        if not force and last.seq - previous < self.every_entries:
            oldest_unsigned = session.scalar(select(AuditRow.at).where(AuditRow.seq == previous + 1))
            if oldest_unsigned is not None and self.clock() - oldest_unsigned < self.every:
                return None
        made = signed(self.key, seq=last.seq, hash=last.hash, at=self.clock(), prev_seq=previous)
        session.add(
            CheckpointRow(
                seq=made.seq,
                hash=made.hash,
                at=datetime.fromisoformat(made.at),
                prev_seq=made.prev_seq,
                key_id=made.key_id,
                signature=made.signature,
            )
        )
        return made

    def _not_yet_anchored(self, session: Session) -> list[Checkpoint]:
        if self._anchored_seq is None:
            in_file = self.anchor.read()
            self._anchored_seq = max((c.seq for c in in_file), default=0)
        rows = session.scalars(
            select(CheckpointRow).where(CheckpointRow.seq > self._anchored_seq).order_by(CheckpointRow.seq)
        )
        return [Checkpoint.from_row(row) for row in rows]


def checkpointer_from_settings(
    settings: Settings, database: Database, clock: Callable[[], datetime]
) -> Checkpointer:
    """The service's checkpointer: the key from ECM_AUDIT_SIGNING_KEY_FILE (created in the data directory
    when unset and missing, with a warning), the anchor from ECM_AUDIT_ANCHOR."""
    from connector.store.signing import load_or_create_signing_key

    return Checkpointer(
        database,
        load_or_create_signing_key(settings.signing_key_path),
        Anchor(settings.anchor_path),
        clock=clock,
        every_entries=settings.audit_checkpoint_entries,
        every_seconds=settings.audit_checkpoint_seconds,
    )
