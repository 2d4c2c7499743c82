"""`ecm outbox list|retry`: an admin sees what is stuck and puts a dead action back in the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from connector.cli import cli
from connector.outbox import Notify, Revert, Target
from connector.store.tables import AuditRow, OutboxRow
from connector.store.uow import UnitOfWork

from .conftest import add_change

NOW = datetime(2025, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
def ecm(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("ECM_DATABASE_URL", database_url)
    monkeypatch.setenv("ECM_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


ACTIONS = {"notify": Notify("created", "EMG-1 raised", "…"), "revert": Revert("Awaiting Approval")}


def add_row(database, change_id, action, status, error=None):
    with UnitOfWork(database) as uow:
        row = uow.outbox.add(
            tool="jira",
            target=Target("EMG-1"),
            action=ACTIONS[action],
            idempotency_key=f"k:{action}:{status}",
            change_id=change_id,
            now=NOW,
        )
        row.status, row.attempts, row.last_error = status, 8 if status == "dead" else 0, error
        uow.commit()
        return row.id


def test_outbox_list_shows_each_action_with_its_change_status_and_last_error(database, ecm):
    change = add_change(database, "EMG-1", NOW)
    add_row(database, change, "notify", "done")
    add_row(database, change, "revert", "dead", "Unavailable: transition EMG-1: HTTP 503")
    result = ecm("outbox", "list")
    assert result.exit_code == 0
    header, *lines = result.output.splitlines()
    assert header.split() == [
        "id",
        "change",
        "action",
        "status",
        "attempts",
        "next",
        "attempt",
        "last",
        "error",
    ]
    assert "EMG-1" in lines[0] and "revert" in lines[0] and "dead" in lines[0] and "HTTP 503" in lines[0]
    assert len(lines) == 2


def test_outbox_list_filters_by_status(database, ecm):
    change = add_change(database, "EMG-1", NOW)
    add_row(database, change, "notify", "done")
    add_row(database, change, "revert", "dead", "boom")
    lines = ecm("outbox", "list", "--status", "dead").output.splitlines()[1:]
    assert len(lines) == 1 and "revert" in lines[0]
    assert "No outbox rows with status pending." in ecm("outbox", "list", "--status", "pending").output


def test_outbox_retry_puts_a_dead_action_back_to_pending_now_and_audits_it(database, ecm):
    change = add_change(database, "EMG-1", NOW)
    dead = add_row(database, change, "revert", "dead", "boom")
    result = ecm("outbox", "retry", str(dead))
    assert result.exit_code == 0 and "pending again" in result.output
    with UnitOfWork(database) as uow:
        row = uow.session.get(OutboxRow, dead)
        assert (row.status, row.attempts) == ("pending", 0)
        assert NOW < row.next_attempt_at <= datetime.now(UTC)
        assert "outbox-retry" in uow.session.scalars(select(AuditRow.action)).all()


def test_outbox_retry_refuses_rows_that_are_not_dead(database, ecm):
    change = add_change(database, "EMG-1", NOW)
    done = add_row(database, change, "notify", "done")
    runner = CliRunner()
    result = runner.invoke(cli, ["outbox", "retry", str(done)])
    assert result.exit_code == 1 and "only dead rows are retried" in result.output
    result = runner.invoke(cli, ["outbox", "retry", "999"])
    assert result.exit_code == 1 and "no outbox row 999" in result.output
