"""`ecm evidence`: the packet of one change, the population of a period; tampering is reported."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from connector.cli import cli
from connector.store.tables import AuditRow


@pytest.fixture
def ecm(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ECM_DATABASE_URL", database_url)
    monkeypatch.setenv("ECM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ECM_MAPPINGS", raising=False)

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def test_packet_as_json_on_stdout(ecm, drive):
    drive.whole_lifecycle()
    result = ecm("evidence", "EMG-1", "--format", "json")
    assert result.exit_code == 0
    packet = json.loads(result.stdout)
    assert packet["change"]["key"] == "EMG-1" and packet["audit"]["chain"]["ok"]


def test_packet_as_html_into_a_file(ecm, drive, tmp_path):
    drive.whole_lifecycle()
    out = tmp_path / "EMG-1.html"
    assert ecm("evidence", "EMG-1", "--format", "html", "--out", str(out)).exit_code == 0
    assert "Evidence packet: emergency change EMG-1" in out.read_text()


def test_unknown_change_exits_1_with_a_clear_line(ecm):
    result = ecm("evidence", "NOPE-1")
    assert result.exit_code == 1 and "no emergency change 'NOPE-1'" in result.stderr


def test_population_as_csv_for_a_period(ecm, drive, tmp_path):
    drive.whole_lifecycle()
    out = tmp_path / "december.csv"
    result = ecm(
        "evidence", "--from", "2026-12-01", "--to", "2026-12-31", "--format", "csv", "--out", str(out)
    )
    assert result.exit_code == 0 and "Exported 1 changes" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["key"], r["compliance"]) for r in rows] == [("EMG-1", "compliant")]


def test_population_as_json_carries_the_summary(ecm, drive):
    drive.whole_lifecycle()
    result = ecm("evidence", "--from", "2026-12-01", "--to", "2026-12-31", "--format", "json")
    body = json.loads(result.stdout)
    assert body["count"] == 1 and body["summary"]["count"] == 1 and body["summary"]["breaches"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a change KEY"),
        (("EMG-1", "--from", "2026-12-01"), "not both"),
        (("EMG-1", "--format", "csv"), "json or html"),
        (("--from", "2026-12-31", "--to", "2026-12-01"), "--to is before --from"),
    ],
)
def test_usage_mistakes_exit_2_with_the_reason(ecm, args, message):
    result = CliRunner().invoke(cli, ["evidence", *args])
    assert result.exit_code == 2 and message in result.output


def test_edited_audit_row_is_reported_by_the_packet_and_by_audit_verify(ecm, drive, database):
    drive.whole_lifecycle()
    assert ecm("audit", "verify").exit_code == 0
    with database.session() as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 4).values(data={"forged": True}))
        session.commit()
    packet_run = ecm("evidence", "EMG-1")
    assert packet_run.exit_code == 1 and "audit log tampered" in packet_run.stderr
    assert json.loads(packet_run.stdout)["audit"]["chain"]["first_bad_seq"] == 4
    verify_run = ecm("audit", "verify")
    assert verify_run.exit_code == 1 and "seq=4" in verify_run.stdout
