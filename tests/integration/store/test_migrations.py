"""The Alembic history builds exactly the schema of tables.py, and readiness tells when it does not."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from connector.store.db import Database
from connector.store.tables import Base

POSTGRES_URL = os.environ.get("ECM_TEST_DATABASE_URL")


def test_migrated_schema_matches_the_tables_exactly(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_readiness_is_ok_once_the_schema_is_at_the_newest_revision(database: Database) -> None:
    assert database.readiness() == (True, "ok")


def test_readiness_asks_for_an_upgrade_on_an_empty_database(tmp_path: Path) -> None:
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    ok, detail = fresh.readiness()
    assert not ok
    assert "ecm db upgrade" in detail
    fresh.upgrade()
    fresh.upgrade()  # a second run changes nothing
    assert fresh.readiness() == (True, "ok")


def test_readiness_reports_an_unreachable_database_without_its_password() -> None:
    unreachable = Database("postgresql+psycopg://ecm:hunter2@127.0.0.1:1/nowhere?connect_timeout=2")
    ok, detail = unreachable.readiness()
    assert not ok
    assert detail.startswith("database unreachable")
    assert "hunter2" not in detail and "hunter2" not in repr(unreachable)


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_migration_scripts_ship_with_the_package() -> None:
    import connector.store

    package = Path(connector.store.__file__).parent / "migrations"
    assert (package / "env.py").is_file()
    assert (package / "script.py.mako").is_file()
    assert list((package / "versions").glob("0001_*.py"))


@pytest.mark.postgres
def test_a_postgresql_schema_can_be_chosen_and_is_created_on_upgrade() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs ECM_TEST_DATABASE_URL (PostgreSQL)")
    schema = f"ecm_test_{secrets.token_hex(4)}_own"
    db = Database(POSTGRES_URL, schema=schema)
    try:
        db.upgrade()
        assert db.readiness() == (True, "ok")
        with db.engine.connect() as connection:
            tables = connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
            ).scalar()
        assert tables == len(Base.metadata.tables) + 1  # and alembic_version
    finally:
        with db.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.dispose()


def test_a_schema_name_that_is_not_a_plain_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid schema name"):
        Database("postgresql+psycopg://ecm@db/ecm", schema='x"; DROP TABLE y; --')
