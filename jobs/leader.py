"""Only one scheduler is active: the leader lock.

PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a connection of its own. The lock
lives exactly as long as that connection: a leader that exits, crashes or is killed with SIGKILL has
its socket closed by the kernel and the server releases the lock at once; a leader whose machine or
network dies is dropped by TCP keepalives on both ends (about 20 s), so a standby that retries every
few seconds takes over within 30 s. The key is derived from the database and schema, so separate
installations sharing a server do not block each other.

SQLite: one process, enforced with an exclusive `fcntl` lock on `<data dir>/jobs.lock`, released by the
kernel when the process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connector.store.db import Database

log = logging.getLogger("jobs.leader")

KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
SERVER_KEEPALIVES = (  # the server drops a vanished leader's session (and its lock) as quickly
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
)
CHECK_TIMEOUT_MS = 3000


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class PostgresLeaderLock:
    def __init__(self, database: Database) -> None:
        url = database.url.set(drivername="postgresql")
        schema = database.schema or url.query.get("options", "")
        self.conninfo = url.render_as_string(hide_password=False)
        self.key = lock_key(f"{url.host}:{url.port}/{url.database}/{schema}")
        self._connection: Any = None

    def __repr__(self) -> str:
        return f"PostgresLeaderLock(key={self.key})"

    def try_acquire(self) -> bool:
        import psycopg

        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self.conninfo, autocommit=True, connect_timeout=5, **KEEPALIVES
                )
                for statement in SERVER_KEEPALIVES:
                    self._connection.execute(statement)
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as error:
            log.warning("leader-lock-unavailable", extra={"error": type(error).__name__})
            self._close()
            return False
        return bool(row and row[0])

    def still_held(self) -> bool:
        import psycopg

        if self._connection is None or self._connection.closed:
            return False
        try:
            self._connection.execute(f"SET statement_timeout = {CHECK_TIMEOUT_MS}")
            query = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = %s"
            )
            row = self._connection.execute(query, (self.key,)).fetchone()
        except psycopg.Error:
            self._close()
            return False
        return bool(row and row[0])

    def release(self) -> None:
        self._close()  # closing the session releases its advisory locks

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


class FileLeaderLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "jobs.lock"
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"FileLeaderLock({str(self.path)!r})"

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name`."""
    digest = hashlib.sha256(f"ecm-jobs-leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def leader_lock(database: Database, data_dir: Path) -> LeaderLock:
    if database.dialect == "postgresql":
        return PostgresLeaderLock(database)
    return FileLeaderLock(data_dir)
