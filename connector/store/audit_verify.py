"""Verify the audit log as a whole: the hash chain, every checkpoint's signature, and the anchor.

    report = verify_log(session, public_key, anchor)
    report.ok, report.problems, report.summary()

Each problem names what happened, in the words an auditor uses:
- `changed` / `inserted` / `removed`: the chain itself does not hold (see `audit.verify`);
- `rewritten`: the chain holds, but the entry a signed checkpoint covers has another hash now, so the
  entries were edited and every later hash recomputed;
- `truncated`: a signed checkpoint covers entries that are no longer there;
- `forged`: a checkpoint whose signature does not verify with the public key;
- `deleted`: a checkpoint in the anchor (or named by the next checkpoint) is missing from the database;
- `anchor`: the anchor file is missing, unreadable, or holds a line whose signature does not verify.

Entries newer than the newest checkpoint are not covered by a signature yet; the summary says how many.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.store.audit import verify
from connector.store.checkpoints import Anchor, AnchorError, Checkpoint, stored_checkpoints
from connector.store.signing import key_id, verify_signature
from connector.store.tables import AuditRow

LOOKUP_BATCH = 500


@dataclass
class LogReport:
    entries: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    anchored: int = 0
    newest_signed_seq: int = 0
    key_id: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        unsigned = self.last_seq - self.newest_signed_seq
        tail = f"; {unsigned} newer entries not signed yet" if unsigned > 0 else ""
        return (
            f"{self.entries} entries verified, {self.checkpoints} checkpoints signed by key {self.key_id} "
            f"up to seq={self.newest_signed_seq}, {self.anchored} found in the anchor{tail}"
        )


def verify_log(session: Session, public_key: Ed25519PublicKey, anchor: Anchor | None) -> LogReport:
    report = LogReport(key_id=key_id(public_key))
    chain = verify(session)
    report.entries = chain.checked
    if not chain.ok:
        report.problems.append(f"{chain.problem} ({chain.checked} entries before it verified)")
    report.last_seq = session.scalar(select(func.max(AuditRow.seq))) or 0
    stored = stored_checkpoints(session)
    report.checkpoints = len(stored)
    genuine = _check_stored(stored, public_key, report)
    anchored = _read_anchor(anchor, bool(stored), public_key, report)
    _check_anchor(anchored, {c.seq: c for c in stored}, report)
    covered = {c.seq: c for c in [*genuine, *anchored]}
    _check_coverage(session, list(covered.values()), report)
    report.newest_signed_seq = max(covered, default=0)
    return report


def _check_stored(
    stored: list[Checkpoint], public_key: Ed25519PublicKey, report: LogReport
) -> list[Checkpoint]:
    """Signatures and the prev_seq links of the database's checkpoints; returns the genuine ones."""
    genuine, before = [], 0
    for checkpoint in stored:
        if checkpoint.key_id != report.key_id:
            report.problems.append(
                f"forged: checkpoint seq={checkpoint.seq} names key {checkpoint.key_id}, not {report.key_id}"
            )
            continue
        if not verify_signature(public_key, checkpoint.payload(), checkpoint.signature):
            report.problems.append(
                f"forged: checkpoint seq={checkpoint.seq} in the database does not verify with the public key"
            )
            continue
        if checkpoint.prev_seq != before:
            report.problems.append(
                f"deleted: checkpoint seq={checkpoint.prev_seq} (named by checkpoint seq={checkpoint.seq}) "
                "is missing from the database"
            )
        genuine.append(checkpoint)
        before = checkpoint.seq
    return genuine


def _read_anchor(
    anchor: Anchor | None, expected: bool, public_key: Ed25519PublicKey, report: LogReport
) -> list[Checkpoint]:
    if anchor is None:
        return []
    if not anchor.exists():
        if expected:
            report.problems.append(f"anchor: {anchor.path} does not exist, but the database has checkpoints")
        return []
    try:
        lines = anchor.read()
    except AnchorError as exc:
        report.problems.append(f"anchor: {exc}")
        return []
    genuine = []
    for checkpoint in lines:
        if checkpoint.key_id == report.key_id and verify_signature(
            public_key, checkpoint.payload(), checkpoint.signature
        ):
            genuine.append(checkpoint)
        else:
            report.problems.append(
                f"anchor: the line for checkpoint seq={checkpoint.seq} does not verify with the public key"
            )
    return genuine


def _check_anchor(anchored: list[Checkpoint], stored: dict[int, Checkpoint], report: LogReport) -> None:
    for checkpoint in anchored:
        in_database = stored.get(checkpoint.seq)
        if in_database is None:
            report.problems.append(
                f"deleted: checkpoint seq={checkpoint.seq} of {checkpoint.at} is in the anchor "
                "but missing from the database"
            )
        elif in_database != checkpoint:
            report.problems.append(f"forged: checkpoint seq={checkpoint.seq} differs from the anchor's copy")
        else:
            report.anchored += 1


def _check_coverage(session: Session, signed: list[Checkpoint], report: LogReport) -> None:
    """Every signed (seq, hash) must still be in the chain, with that hash."""
    signed.sort(key=lambda c: c.seq)
    for start in range(0, len(signed), LOOKUP_BATCH):
        batch = signed[start : start + LOOKUP_BATCH]
        query = select(AuditRow.seq, AuditRow.hash).where(AuditRow.seq.in_([c.seq for c in batch]))
        now = {seq: hash_ for seq, hash_ in session.execute(query)}
        for checkpoint in batch:
            found = now.get(checkpoint.seq)
            if found is None and checkpoint.seq > report.last_seq:
                report.problems.append(
                    f"truncated: checkpoint seq={checkpoint.seq} of {checkpoint.at} signed entries up to "
                    f"seq={checkpoint.seq}, the log now ends at seq={report.last_seq} "
                    f"({checkpoint.seq - report.last_seq} entries removed)"
                )
                return  # later checkpoints say the same
            if found is None:
                report.problems.append(
                    f"removed: entry seq={checkpoint.seq}, signed by a checkpoint, is gone"
                )
            elif found != checkpoint.hash:
                report.problems.append(
                    f"rewritten: entry seq={checkpoint.seq} no longer has the hash signed at {checkpoint.at} "
                    "(entries up to it were edited and their hashes recomputed)"
                )
                return  # every later checkpoint differs too
