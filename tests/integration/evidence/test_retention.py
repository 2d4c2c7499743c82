"""Audit retention: six years unless explicitly shortened; the check reports, it never deletes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.evidence.retention import RetentionTooShort, checked_years, horizon, retention_report
from connector.store.uow import UnitOfWork


@pytest.fixture
def ecm(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ECM_DATABASE_URL", database_url)
    monkeypatch.setenv("ECM_DATA_DIR", str(tmp_path / "data"))
    return lambda *args: CliRunner().invoke(cli, ["audit", *args])


def append(database, at):
    with UnitOfWork(database) as uow:
        uow.audit.append(
            actor="eng.emma", action="change-registered", change_key="EMG-1", tool="jira", data={}, at=at
        )
        uow.commit()


def test_retention_below_six_years_is_refused_without_the_explicit_flag():
    with pytest.raises(RetentionTooShort, match="--allow-short-retention"):
        checked_years(3)
    assert checked_years(3, allow_short=True) == 3
    assert checked_years(6) == 6 and checked_years(10) == 10


def test_horizon_of_a_leap_day_falls_back_to_the_28th():
    assert horizon(datetime(2028, 2, 29, tzinfo=UTC), 6) == datetime(2022, 2, 28, tzinfo=UTC)


def test_report_counts_entries_past_the_period(database):
    append(database, datetime(2018, 1, 1, tzinfo=UTC))
    append(database, datetime(2026, 1, 1, tzinfo=UTC))
    with database.session() as session:
        report = retention_report(session, 6, datetime(2026, 6, 1, tzinfo=UTC))
    assert (report.total, report.past_horizon) == (2, 1)
    assert report.oldest == datetime(2018, 1, 1, tzinfo=UTC)


def test_retention_command_checks_the_setting_and_deletes_nothing(ecm, database, monkeypatch):
    append(database, datetime(2001, 1, 1, tzinfo=UTC))
    result = ecm("retention")
    assert result.exit_code == 0, result.output
    assert "Retention 6 years" in result.output and "1 past the retention period" in result.output
    assert ecm("verify").output.startswith("OK: 1 entries")
    monkeypatch.setenv("ECM_AUDIT_RETENTION_YEARS", "2")
    refused = ecm("retention")
    assert refused.exit_code == 2 and "below the 6 years" in refused.output
    assert ecm("retention", "--allow-short-retention").exit_code == 0


def test_export_writes_each_entry_with_its_hash(ecm, database, tmp_path):
    append(database, datetime(2026, 12, 1, tzinfo=UTC))
    out = tmp_path / "audit.jsonl"
    assert ecm("export", "--from", "2026-12-01", "--to", "2026-12-01", "--out", str(out)).exit_code == 0
    line = out.read_text().splitlines()[0]
    assert '"hash": "' in line and '"prev_hash": "' in line and '"seq": 1' in line
