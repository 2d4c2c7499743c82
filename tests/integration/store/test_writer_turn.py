"""`Database.writer_turn`: the intake writers of several processes on one SQLite file take turns through a
file lock beside it (another process trying the lock meanwhile is refused); elsewhere it locks nothing."""

from __future__ import annotations

import fcntl
import os

import pytest

from connector.store.db import Database


def try_lock(path: str) -> bool:
    """Whether another open file (as another process has) gets the lock right now."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_a_sqlite_file_writer_holds_the_lock_beside_the_file_for_its_turn_only(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'ecm.sqlite3'}")
    lock = f"{tmp_path / 'ecm.sqlite3'}-writer.lock"
    try:
        with database.writer_turn():
            assert not try_lock(lock)
        assert try_lock(lock)
        with database.writer_turn():  # and again, after the turn
            assert not try_lock(lock)
    finally:
        database.dispose()


def test_other_databases_take_no_file_lock(database, tmp_path):
    if database.dialect == "sqlite":
        pytest.skip("the suite's SQLite file is covered above")
    with database.writer_turn():
        assert list(tmp_path.iterdir()) == []


def test_an_in_memory_sqlite_database_takes_no_file_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    database = Database("sqlite://")
    with database.writer_turn():
        assert list(tmp_path.iterdir()) == []
    database.dispose()
