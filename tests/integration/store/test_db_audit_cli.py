"""`ecm db upgrade`, `ecm audit verify` and `ecm audit export` against the test database."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from connector.cli import cli
from connector.store.db import Database, newest_revision
from connector.store.uow import UnitOfWork

from .store_rows import T0


@pytest.fixture
def run(database_url: str, tmp_path: Path):
    def invoke(*args: str, url: str = database_url):
        env = {"ECM_DATABASE_URL": url, "ECM_DATA_DIR": str(tmp_path / "data")}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def _append(database: Database, count: int) -> None:
    with UnitOfWork(database) as uow:
        for n in range(count):
            uow.audit.append(
                actor="lena",
                action="approved",
                change_key=f"ECM-{n}",
                tool="jira",
                data={"n": n},
                at=T0 + timedelta(days=n),
            )
        uow.commit()


def test_db_upgrade_creates_the_schema_and_can_run_again(run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    assert "NOT READY" in run("db", "status", url=url).output
    first, again = run("db", "upgrade", url=url), run("db", "upgrade", url=url)
    assert first.exit_code == again.exit_code == 0
    assert f"revision {newest_revision()} (newest)" in again.output
    status = run("db", "status", url=url)
    assert (status.exit_code, status.output.strip()) == (0, "OK: ok")


def test_audit_verify_says_how_many_entries_hold(run, database: Database) -> None:
    _append(database, 3)
    result = run("audit", "verify")
    assert (result.exit_code, result.output.strip()) == (
        0,
        "OK: 3 entries verified (no checkpoint signed yet)",
    )


def test_audit_checkpoint_signs_the_newest_entry_and_verify_then_checks_it(run, database: Database) -> None:
    _append(database, 3)
    signed = run("audit", "checkpoint")
    assert signed.exit_code == 0 and "Signed checkpoint seq=3" in signed.output
    assert "WARNING: created the audit signing key" in signed.output  # first use: no key file yet
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 3 entries verified, 1 checkpoints signed by key")


def test_audit_verify_of_a_signed_log_without_any_key_asks_for_the_public_key(
    run, database: Database, tmp_path: Path
) -> None:
    _append(database, 1)
    run("audit", "checkpoint")
    (tmp_path / "data" / "audit-signing-key.pem").unlink()
    result = run("audit", "verify")
    assert result.exit_code == 2 and "give the audit public key with --public-key" in result.output


def test_audit_verify_fails_with_the_entry_that_was_changed(run, database: Database) -> None:
    _append(database, 3)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET action = 'rejected' WHERE seq = 2"))
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert result.output.startswith("FAILED: entry seq=2 was changed:")


def test_audit_verify_fails_with_the_entry_that_was_removed(run, database: Database) -> None:
    _append(database, 3)
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert result.output.startswith("FAILED: entry seq=2 was removed:")


def test_audit_export_writes_the_period_as_json_lines_with_hashes(
    run, database: Database, tmp_path: Path
) -> None:
    _append(database, 4)
    out = tmp_path / "audit.jsonl"
    result = run("audit", "export", "--from", "2025-03-04", "--to", "2025-03-05", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["seq"] for line in lines] == [2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    assert lines[0]["at"] == "2025-03-04T09:00:00.000000Z" and lines[0]["change_key"] == "ECM-1"


def test_audit_export_to_stdout_by_change(run, database: Database) -> None:
    _append(database, 3)
    result = run("audit", "export", "--from", "2025-01-01", "--to", "2025-12-31", "--change", "ECM-2")
    assert [json.loads(line)["seq"] for line in result.output.splitlines()] == [3]


def test_audit_export_refuses_a_period_that_ends_before_it_starts(run) -> None:
    result = run("audit", "export", "--from", "2025-03-05", "--to", "2025-03-01")
    assert result.exit_code == 2 and "--to is before --from" in result.output


def test_a_bad_database_url_is_one_clear_line_and_exit_2(run) -> None:
    result = run("audit", "verify", url="mysql://root:hunter2@db/ecm")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "configuration error: ECM_DATABASE_URL: not a valid database URL (use sqlite:/// or postgresql+psycopg://)"
    ]
    assert "hunter2" not in result.output


def test_audit_verify_on_a_database_never_migrated_migrates_it_and_answers_for_an_empty_log(
    run, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = run("audit", "verify", url=url)
    assert (result.exit_code, result.output.strip()) == (
        0,
        "OK: 0 entries verified (no checkpoint signed yet)",
    )
    assert run("db", "status", url=url).output.strip() == "OK: ok"


def test_outbox_list_on_a_database_never_migrated_lists_nothing(run, tmp_path: Path) -> None:
    result = run("outbox", "list", url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert result.exit_code == 0, result.output
    assert "schema" not in result.output and "ecm db upgrade" not in result.output


def test_audit_verify_on_an_unreachable_database_fails_in_one_line(run) -> None:
    result = run("audit", "verify", url="postgresql+psycopg://ecm:hunter2@127.0.0.1:1/none?connect_timeout=2")
    assert result.exit_code == 1 and "FAILED: database unreachable" in result.output
    assert "hunter2" not in result.output
