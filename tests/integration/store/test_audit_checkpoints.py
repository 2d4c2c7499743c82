"""Signed checkpoints: when they are due, what they sign, the anchor outside the database, and the
verification that reads them (on SQLite, and on PostgreSQL with ECM_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from connector.store.audit_verify import verify_log
from connector.store.checkpoints import Anchor, Checkpointer, stored_checkpoints
from connector.store.db import Database
from connector.store.signing import load_or_create_signing_key, load_public_key, public_pem
from connector.store.uow import UnitOfWork

from .store_rows import T0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):
        return self.now


def append(database: Database, count: int, clock: Clock) -> None:
    with UnitOfWork(database) as uow:
        for n in range(count):
            uow.audit.append(
                actor="lena", action="approved", change_key="ECM-1", tool="jira", data={"n": n}, at=clock()
            )
        uow.commit()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def checkpointer(database: Database, key, clock, tmp_path: Path) -> Checkpointer:
    anchor = Anchor(tmp_path / "anchors.jsonl")
    return Checkpointer(database, key, anchor, clock=clock, every_entries=5, every_seconds=60)


def test_no_checkpoint_is_due_below_n_entries_and_before_t_seconds(database, checkpointer, clock) -> None:
    append(database, 4, clock)
    clock.now += timedelta(seconds=59)
    assert checkpointer.run() == ""
    with database.session() as session:
        assert stored_checkpoints(session) == []


def test_n_unsigned_entries_make_a_checkpoint_due(database, checkpointer, clock) -> None:
    append(database, 5, clock)
    assert checkpointer.run() == "checkpoint seq=5"
    assert checkpointer.run() == ""  # nothing new since


def test_an_entry_unsigned_for_t_seconds_makes_a_checkpoint_due(database, checkpointer, clock) -> None:
    append(database, 1, clock)
    clock.now += timedelta(seconds=60)
    assert checkpointer.run() == "checkpoint seq=1"


def test_a_checkpoint_is_signed_stored_and_appended_to_the_anchor(database, checkpointer, key, clock) -> None:
    append(database, 3, clock)
    first = checkpointer.sign()
    append(database, 2, clock)
    second = checkpointer.sign()
    lines = [json.loads(line) for line in checkpointer.anchor.path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [3, 5] and [line["prev_seq"] for line in lines] == [0, 3]
    with database.session() as session:
        assert stored_checkpoints(session) == [first, second]
        report = verify_log(session, key.public_key(), checkpointer.anchor)
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.anchored, report.newest_signed_seq) == (5, 2, 2, 5)


def test_a_line_lost_between_commit_and_anchor_is_appended_on_the_next_run(
    database, key, clock, tmp_path: Path
) -> None:
    class Broken(Anchor):
        def append(self, checkpoints):
            raise OSError("disk full")

    append(database, 2, clock)
    with pytest.raises(OSError):
        Checkpointer(database, key, Broken(tmp_path / "a.jsonl"), clock=clock).sign()
    again = Checkpointer(database, key, Anchor(tmp_path / "a.jsonl"), clock=clock)
    assert again.sign() is None  # nothing new to sign, but the stored checkpoint reaches the anchor
    assert [c.seq for c in again.anchor.read()] == [2]


def test_entries_after_the_newest_checkpoint_are_reported_as_not_signed_yet(
    database, checkpointer, key, clock
) -> None:
    append(database, 2, clock)
    checkpointer.sign()
    append(database, 3, clock)
    with database.session() as session:
        report = verify_log(session, key.public_key(), checkpointer.anchor)
    assert report.ok and report.summary().endswith("3 newer entries not signed yet")


def test_a_checkpoint_signed_with_another_key_is_named_as_forged(database, checkpointer, clock) -> None:
    append(database, 2, clock)
    checkpointer.sign()
    stranger = Ed25519PrivateKey.generate().public_key()
    with database.session() as session:
        report = verify_log(session, stranger, checkpointer.anchor)
    assert not report.ok and report.problems[0].startswith("forged: checkpoint seq=2 names key")


def test_a_deleted_checkpoint_in_the_middle_is_named_by_the_next_one(
    database, checkpointer, key, clock
) -> None:
    for _ in range(3):
        append(database, 1, clock)
        checkpointer.sign()
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_checkpoints WHERE seq = 2"))
    with database.session() as session:
        report = verify_log(session, key.public_key(), None)  # no anchor at hand
    assert report.problems == [
        "deleted: checkpoint seq=2 (named by checkpoint seq=3) is missing from the database"
    ]


def test_a_new_key_file_is_private_and_its_public_half_loads_for_auditors(tmp_path: Path, caplog) -> None:
    path = tmp_path / "keys" / "audit.pem"
    key = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_signing_key(path).public_key() == key.public_key()  # loaded, not replaced
    [warning] = [r for r in caplog.records if r.getMessage() == "audit-signing-key-created"]
    assert "ECM_AUDIT_SIGNING_KEY_FILE" in warning.advice
    assert "PRIVATE" not in " ".join(str(v) for v in vars(warning).values())
    public = tmp_path / "public.pem"
    public.write_text(public_pem(key.public_key()))
    assert load_public_key(public) == key.public_key()
