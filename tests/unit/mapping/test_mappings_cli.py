"""`ecm mappings check` and `ecm mappings schema`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.mapping import mapping_json_schema

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_reports_each_valid_file_with_its_target_and_version(runner):
    files = [str(MAPPINGS / name) for name in ("jira-cloud.yaml", "servicenow.yaml")]

    result = runner.invoke(cli, ["mappings", "check", *files])

    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{files[0]}: ok (jira-cloud, version 1)",
        f"{files[1]}: ok (servicenow, version 1)",
    ]


def test_check_prints_every_problem_and_exits_1(runner, tmp_path):
    broken = tmp_path / "broken.yaml"
    text = (MAPPINGS / "jira-datacenter.yaml").read_text()
    broken.write_text(text.replace("America/New_York", "Mars/Base").replace("country: US", "country: XX"))

    result = runner.invoke(cli, ["mappings", "check", str(MAPPINGS / "servicenow.yaml"), str(broken)])

    assert result.exit_code == 1
    assert f"{broken}:calendar.timezone: unknown time zone 'Mars/Base'" in result.output
    assert f"{broken}:calendar.country: unknown holiday country 'XX'" in result.output
    assert "servicenow.yaml: ok (servicenow, version 1)" in result.output


def test_check_of_an_unreadable_file_exits_2(runner, tmp_path):
    result = runner.invoke(cli, ["mappings", "check", str(tmp_path / "absent.yaml")])

    assert result.exit_code == 2
    assert "absent.yaml: cannot read the file" in result.output


def test_check_without_files_is_a_usage_error(runner):
    assert runner.invoke(cli, ["mappings", "check"]).exit_code == 2


def test_schema_prints_the_json_schema_of_mappings(runner):
    result = runner.invoke(cli, ["mappings", "schema"])

    assert result.exit_code == 0
    assert json.loads(result.output) == mapping_json_schema()
