"""Shared fixtures: a database for each test, SQLite by default, PostgreSQL when asked.

`ECM_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest` runs every database test on
PostgreSQL, inside a schema of its own (`ecm_test_<random>`, created for the test session and dropped at
its end) so that test runs sharing the server never collide. The schema travels inside the URL
(`?options=-csearch_path%3D<schema>`), so a subprocess given `ECM_DATABASE_URL=<database_url>` lands
there too.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connector.store.db import Database
from connector.store.tables import Base

POSTGRES_URL = os.environ.get("ECM_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def _postgres_schema_url() -> Iterator[str | None]:
    if not POSTGRES_URL:
        yield None
        return
    base = make_url(POSTGRES_URL)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    schema = f"ecm_test_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    migrated = Database(rendered)
    migrated.upgrade()
    migrated.dispose()
    yield rendered
    _truncate_all.close()  # its connection, before the schema is dropped
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session; each test gets a copy (faster than migrating again)."""
    path = tmp_path_factory.mktemp("template") / "ecm.sqlite3"
    template = Database(f"sqlite:///{path}")
    template.upgrade()
    template.dispose()
    return path


@pytest.fixture
def database_url(_postgres_schema_url: str | None, _sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty database for this test: a fresh SQLite file, or the session's PostgreSQL schema."""
    if _postgres_schema_url is not None:
        _truncate_all(_postgres_schema_url)
        return _postgres_schema_url
    path = tmp_path / "ecm.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


class _Emptier:
    """Empties the session's PostgreSQL schema before each test: `DELETE` of every table (children first)
    and each id sequence set back to 1, on one connection kept for the session (1–2 ms a test, where a
    `TRUNCATE` of the 15 tables makes new files for each table and index and took ~40 ms). Every
    `TRUNCATE_EVERY`th test truncates instead, so the dead rows the deletes leave stay few (the test
    server may run without autovacuum)."""

    TRUNCATE_EVERY = 200

    def __init__(self) -> None:
        self.engine = None
        self.url: str | None = None
        self.count = 0
        self.statements = ""

    def __call__(self, url: str) -> None:
        if self.engine is None or self.url != url:
            self._start(url)
        self.count += 1
        tables = Base.metadata.sorted_tables
        if self.count % self.TRUNCATE_EVERY == 0:
            names = ", ".join(f'"{table.name}"' for table in tables)
            statement = f"TRUNCATE {names} RESTART IDENTITY CASCADE"
        else:
            statement = self.statements
        with self.engine.begin() as connection:
            connection.exec_driver_sql(statement)

    def _start(self, url: str) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.engine, self.url = create_engine(url, pool_size=1), url
        with self.engine.connect() as connection:
            sequences = connection.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences"
                    " WHERE sequence_schema = current_schema()"
                )
            ).scalars()
            resets = [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences]
        tables = reversed(Base.metadata.sorted_tables)  # names from the schema's own metadata
        deletes = [f'DELETE FROM "{table.name}"' for table in tables]  # noqa: S608
        self.statements = "; ".join(deletes + resets)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


_truncate_all = _Emptier()


# Every sandbox Jira records its requests; a test fails when the connector's do not conform to the
# Jira OpenAPI document (tests/conformance).
pytest_plugins = ["tests.conformance.plugin"]
