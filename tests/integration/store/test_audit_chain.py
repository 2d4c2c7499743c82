"""The audit chain shows any entry changed, removed or inserted behind the connector's back."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from connector.store.audit import GENESIS_HASH, entries, entry_hash, verify
from connector.store.db import Database
from connector.store.tables import AuditRow
from connector.store.uow import UnitOfWork

from .store_rows import T0


def _append(database: Database, count: int, *, key: str = "ECM-1") -> None:
    with UnitOfWork(database) as uow:
        for n in range(count):
            uow.audit.append(
                actor="alice",
                action="approved",
                change_key=key,
                tool="jira",
                data={"n": n, "note": "Zürich ✓", "when": T0},
                at=T0 + timedelta(minutes=n),
            )
        uow.commit()


def _verify(database: Database):
    with database.session() as session:
        return verify(session)


def _sql(database: Database, statement: str, **params: object) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_entries_are_chained_from_a_genesis_hash(database: Database) -> None:
    _append(database, 3)
    with database.session() as session:
        rows = list(entries(session))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert rows[0].data["when"] == "2025-03-03T09:00:00.000000Z"
    assert _verify(database).ok and _verify(database).checked == 3


def test_an_empty_log_verifies(database: Database) -> None:
    result = _verify(database)
    assert result.ok and result.checked == 0


def test_an_edited_entry_is_found(database: Database) -> None:
    _append(database, 4)
    _sql(database, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    result = _verify(database)
    assert not result.ok
    assert result.first_bad_seq == 3 and result.checked == 2
    assert result.problem.startswith("entry seq=3 was changed")


def test_a_deleted_entry_is_found(database: Database) -> None:
    _append(database, 4)
    _sql(database, "DELETE FROM audit_log WHERE seq = 2")
    result = _verify(database)
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert result.problem.startswith("entry seq=2 was removed")


def test_a_deleted_first_entry_is_found(database: Database) -> None:
    _append(database, 2)
    _sql(database, "DELETE FROM audit_log WHERE seq = 1")
    assert _verify(database).problem.startswith("entry seq=1 was removed")


def test_an_entry_inserted_in_the_middle_is_found_even_with_a_correct_hash(database: Database) -> None:
    _append(database, 4)
    _sql(database, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3")
    _sql(database, "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
    with UnitOfWork(database) as uow:
        previous = uow.session.query(AuditRow).filter_by(seq=2).one()
        forged = AuditRow(
            seq=3,
            at=T0,
            change_key="ECM-1",
            tool="jira",
            actor="lena",
            action="approved",
            data={},
            prev_hash=previous.hash,
        )
        forged.hash = entry_hash(forged)
        uow.session.add(forged)
        uow.commit()
    result = _verify(database)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert result.problem.startswith("entry seq=3 was inserted")


def test_an_entry_appended_by_hand_is_found(database: Database) -> None:
    _append(database, 2)
    _sql(
        database,
        "INSERT INTO audit_log (seq, at, actor, action, data, prev_hash, hash) "
        "VALUES (3, :at, 'mallory', 'closed', '{}', :prev, :hash)",
        at=T0,
        prev="f" * 64,
        hash="e" * 64,
    )
    result = _verify(database)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert result.problem.startswith("entry seq=3 was inserted")


def test_concurrent_appends_keep_one_unbroken_chain(database: Database) -> None:
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            _append(database, 5, key=name)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"ECM-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    result = _verify(database)
    assert result.ok and result.checked == 20


def test_entries_can_be_chosen_by_change_and_period(database: Database) -> None:
    _append(database, 3, key="ECM-1")
    _append(database, 2, key="ECM-2")
    with database.session() as session:
        assert [r.seq for r in entries(session, change_key="ECM-2")] == [4, 5]
        period = entries(session, start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=2))
        assert [r.seq for r in period] == [2, 5]


def test_naive_datetimes_are_refused(database: Database) -> None:
    with UnitOfWork(database) as uow, pytest.raises(ValueError, match="timezone-aware"):
        uow.audit.append(
            actor="a", action="b", change_key=None, tool=None, data={}, at=T0.replace(tzinfo=None)
        )
