"""`ecm deadline` as an admin runs it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connector.cli.deadline import deadline

BASE = ["--timezone", "America/New_York", "--country", "US"]


def run(*args: str):
    return CliRunner().invoke(deadline, list(args))


def test_prints_the_deadline_with_the_local_offset():
    result = run("--deployed-at", "2026-12-24T10:00:00-05:00", *BASE)
    assert result.exit_code == 0
    assert result.stdout == "2026-12-30T23:59:59-05:00\n"


def test_accepts_utc_z_closures_subdivision_and_business_days():
    result = run(
        "--deployed-at", "2026-04-17T16:00:00Z", *BASE, "--subdivision", "MA",
        "--business-days", "2", "--closure", "2026-04-21",
    )  # fmt: skip
    # Patriots' Day Mon 20 and the closure Tue 21 skipped: Wed 22, Thu 23.
    assert (result.exit_code, result.stdout) == (0, "2026-04-23T23:59:59-04:00\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deployed-at", "2026-12-24T10:00:00", *BASE], "'2026-12-24T10:00:00' has no UTC offset"),
        (["--deployed-at", "Christmas Eve", *BASE], "'Christmas Eve' is not an ISO 8601 date and time"),
        (
            ["--deployed-at", "2026-12-24T10:00Z", "--timezone", "Mars/Base", "--country", "US"],
            "unknown time zone",
        ),
        (
            ["--deployed-at", "2026-12-24T10:00Z", "--timezone", "UTC", "--country", "XX"],
            "unknown country 'XX'",
        ),
        (["--deployed-at", "2026-12-24T10:00Z", *BASE, "--subdivision", "ZZ"], "unknown subdivision 'ZZ'"),
        (["--deployed-at", "2026-12-24T10:00Z", *BASE, "--business-days", "0"], "0 is not in the range x>=1"),
        (["--deployed-at", "2026-12-24T10:00Z", *BASE, "--closure", "24.12.2026"], "closures are dates"),
        ([*BASE], "Missing option '--deployed-at'"),
    ],
    ids=["naive", "unparseable", "zone", "country", "subdivision", "zero-days", "closure", "missing"],
)
def test_bad_input_exits_2_with_a_clear_error(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_help_describes_the_command():
    result = run("--help")
    assert result.exit_code == 0
    assert "post-mortem deadline" in result.stdout and "Nth business day" in result.stdout
    assert "--closure" in result.stdout
