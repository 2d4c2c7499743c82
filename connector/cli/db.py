"""`ecm db`: bring the database schema up to date, or check that it is."""

from __future__ import annotations

import contextlib

import click

from connector.config import load_settings
from connector.errors import ConfigError
from connector.store.db import Database, DatabaseError


def open_database(*, require_current: bool = False) -> Database:
    """The configured database. A configuration problem ends the command with one line and exit 2. With
    `require_current`, a database whose schema is not the newest is migrated first, as the service does at
    start (a new database is then an empty one), and one that cannot be reached or migrated ends it (exit 1).
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from None
    database = Database.from_settings(settings)
    if require_current and not database.readiness()[0]:
        with contextlib.suppress(DatabaseError):  # a failure is reported just below, in readiness()'s words
            database.upgrade()
        ok, detail = database.readiness()
        if not ok:
            database.dispose()
            click.echo(f"FAILED: {detail}", err=True)
            raise SystemExit(1)
    return database


@click.group()
def db() -> None:
    """Manage the connector's database (SQLite file or PostgreSQL)."""


@db.command()
def upgrade() -> None:
    """Create or migrate the schema to the newest revision (safe to run again)."""
    database = open_database()
    try:
        database.upgrade()
        click.echo(f"Database schema at revision {database.current_revision()} (newest).")
    finally:
        database.dispose()


@db.command()
def status() -> None:
    """Say whether the database answers and its schema is current (exit 1 if not)."""
    database = open_database()
    try:
        ok, detail = database.readiness()
    finally:
        database.dispose()
    click.echo(f"OK: {detail}" if ok else f"NOT READY: {detail}")
    raise SystemExit(0 if ok else 1)


COMMANDS = [db]
