"""The revisions that move data, up and back down, on SQLite and (with ECM_TEST_DATABASE_URL) on
PostgreSQL: 0003 moves the once-only markers out of `deliveries` into `markers`; 0009 gives each change
its post-mortem's done time; 0012 stores new delivery bodies with LZ4 on PostgreSQL, old ones stay
readable."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from connector.store.db import Database, alembic_config

POSTGRES_URL = os.environ.get("ECM_TEST_DATABASE_URL")
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)
JIRA_BODY = (
    Path(__file__).parents[2] / "fixtures/jira/webhooks/webhook-issue-updated-resolved.json"
).read_text()
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@pytest.fixture(params=BACKENDS)
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema yet: a new SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'migrate.sqlite3'}")
        yield db
        db.dispose()
        return
    schema = f"ecm_test_{secrets.token_hex(4)}_data"
    db = Database(POSTGRES_URL, schema=schema)
    yield db
    with db.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    db.dispose()


def insert_delivery(
    db: Database, source: str, delivery_id: str, outcome: str, detail: str | None, body: str | None = None
) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO deliveries (source, delivery_id, received_at, event_type, issue_key, outcome,"
                " detail, body)"
                " VALUES (:source, :id, :at, 'comment_created', :issue, :outcome, :detail, :body)"
            ),
            {
                "source": source,
                "id": delivery_id,
                "at": AT,
                "issue": "EMG-1",
                "outcome": outcome,
                "detail": detail,
                "body": body,
            },
        )


def downgrade(db: Database, revision: str) -> None:
    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def select(db: Database, query: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def test_subject_and_drift_rows_move_to_markers_and_back(blank: Database) -> None:
    blank.upgrade("0002")
    insert_delivery(blank, "jira", "d-1", "handled", "handled")
    insert_delivery(blank, "subject", "jira:comment:10042", "received", None)
    insert_delivery(blank, "drift", "jira:workflow:2026-11-30", "handled", "status missing")

    blank.upgrade()
    assert select(blank, "SELECT source, delivery_id FROM deliveries") == [("jira", "d-1")]
    assert select(blank, "SELECT kind, key, issue_key, detail FROM markers ORDER BY id") == [
        ("subject", "jira:comment:10042", "EMG-1", None),
        ("drift", "jira:workflow:2026-11-30", "EMG-1", "status missing"),
    ]
    assert blank.readiness() == (True, "ok")

    downgrade(blank, "0002")
    assert select(blank, "SELECT source, delivery_id, outcome FROM deliveries ORDER BY id") == [
        ("jira", "d-1", "handled"),
        ("subject", "jira:comment:10042", "received"),
        ("drift", "jira:workflow:2026-11-30", "handled"),
    ]


def insert_change_with_postmortem(db: Database, key: str, done_at: datetime | None) -> None:
    with db.engine.begin() as connection:
        change_id = connection.execute(
            text(
                "INSERT INTO changes (tool, key, engineer, stage, title, project, created_at, updated_at,"
                " version) VALUES ('jira', :key, 'eng.emma', 'postmortem', :key, 'EMG', :at, :at, 1)"
                " RETURNING id"
            ),
            {"key": key, "at": AT},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO postmortems (change_id, key, due_at, participants, done_at)"
                " VALUES (:change, :key, :at, '[]', :done)"
            ),
            {"change": change_id, "key": f"PM-{key}", "at": AT, "done": done_at},
        )


def test_each_change_gets_its_postmortems_done_time_and_the_index_holds_only_the_done_ones(
    blank: Database,
) -> None:
    blank.upgrade("0008")
    insert_change_with_postmortem(blank, "EMG-1", AT)
    insert_change_with_postmortem(blank, "EMG-2", None)

    blank.upgrade()
    done = dict(select(blank, "SELECT key, postmortem_done_at IS NOT NULL FROM changes ORDER BY id"))
    assert done == {"EMG-1": True, "EMG-2": False}
    assert blank.readiness() == (True, "ok")

    downgrade(blank, "0008")
    assert [name for (name,) in select(blank, "SELECT key FROM changes ORDER BY id")] == ["EMG-1", "EMG-2"]


def test_delivery_bodies_written_after_0012_are_lz4_on_postgresql_and_every_body_reads_back(
    blank: Database,
) -> None:
    blank.upgrade("0011")
    insert_delivery(blank, "jira", "before", "ignored", None, JIRA_BODY)
    blank.upgrade()
    insert_delivery(blank, "jira", "after", "ignored", None, JIRA_BODY)
    assert blank.readiness() == (True, "ok")

    bodies = select(blank, "SELECT delivery_id, body FROM deliveries ORDER BY id")
    assert bodies == [("before", JIRA_BODY), ("after", JIRA_BODY)]
    if blank.dialect == "postgresql":
        # pg_column_compression: the method a stored value was compressed with
        # (postgresql.org/docs/15/functions-admin.html)
        methods = select(blank, "SELECT delivery_id, pg_column_compression(body) FROM deliveries ORDER BY id")
        assert methods == [("before", "pglz"), ("after", "lz4")]

    downgrade(blank, "0011")
    insert_delivery(blank, "jira", "down", "ignored", None, JIRA_BODY)
    assert [body for (_, body) in select(blank, "SELECT delivery_id, body FROM deliveries ORDER BY id")] == [
        JIRA_BODY
    ] * 3
    if blank.dialect == "postgresql":
        assert select(
            blank, "SELECT pg_column_compression(body) FROM deliveries WHERE delivery_id = 'down'"
        ) == [("pglz",)]
