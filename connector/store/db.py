"""The database: engine, sessions, readiness and migrations, for SQLite and PostgreSQL.

SQLite (the zero-set-up default): WAL journal, foreign keys on, `busy_timeout` 5 s, and every transaction
starts with `BEGIN IMMEDIATE`, so writers queue for the single write lock instead of failing half-way (this
is also what serialises audit appends on SQLite). PostgreSQL goes through psycopg 3.

A PostgreSQL schema other than `public` is chosen with `Database(url, schema="name")` (from the setting
`ECM_DATABASE_SCHEMA`), which sets the connection's `search_path`; a URL carrying
`?options=-csearch_path%3Dname` works as well. `upgrade()` creates the schema when it is missing.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

    from connector.config import Settings

DatabaseError = SQLAlchemyError
"""Every error the database layer raises (unreachable, refused, a statement that failed)."""
MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MIGRATION_LOCK_ID = 0x45434D_4D494752  # "ECM" "MIGR": one upgrade at a time when instances start together
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000")


class Database:
    def __init__(self, url: str | URL, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = _with_driver(make_url(url))
        self.schema = schema
        if schema is not None and not SCHEMA_NAME.match(schema):
            raise ValueError(f"not a valid schema name: {schema!r}")
        self.engine = _create_engine(self.url, schema, echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_thread_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.effective_database_url, schema=settings.database_schema)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    @contextmanager
    def writer_turn(self) -> Iterator[None]:
        """Around a write transaction of a busy writer (the webhook intake's): on a SQLite file, an exclusive
        lock on `<file>-writer.lock`, so the writers of several processes (gunicorn workers) wait their turn
        in the kernel and go as soon as the other commits, instead of polling in SQLite's busy handler, which
        sleeps 1, 2, 5, 10 … ms between tries. Released when the process dies. Elsewhere: nothing."""
        path = self.url.database if self.dialect == "sqlite" else None
        if not path or path == ":memory:":
            yield
            return
        with self._writer_thread_lock:
            descriptor = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                os.close(descriptor)  # closing releases the lock

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (default: the newest) with Alembic."""
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                if self.schema:
                    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            config = alembic_config(connection)
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def readiness(self) -> tuple[bool, str]:
        """(True, "ok") when the database answers and its schema is at the newest revision."""
        head = newest_revision()
        try:
            current = self.current_revision()
        except SQLAlchemyError as exc:
            return False, f"database unreachable: {_first_line(exc)}"
        if current != head:
            found = current or "none"
            return False, f"database schema at revision {found}, expected {head}: run `ecm db upgrade`"
        return True, "ok"

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r}, schema={self.schema!r})"


@functools.cache
def newest_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration built in code (no alembic.ini); `connection` is handed to env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _with_driver(url: URL) -> URL:
    """`postgresql://` means psycopg 3 here (psycopg2 is not installed)."""
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def _create_engine(url: URL, schema: str | None, echo: bool) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}"
