"""A Jira-shaped tool context with fixed people, and a helper to run commands in a unit of work."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector import services
from connector.store.uow import UnitOfWork
from connector.tools import ToolContext
from tests.fakes import jira_context


@pytest.fixture
def ctx() -> ToolContext:
    return jira_context()


class Runner:
    """Each command in a unit of work of the database, committed."""

    def __init__(self, database, ctx):
        self.database, self.ctx, self.n = database, ctx, 0

    def __call__(self, command_type, actor, when, **fields):
        self.n += 1
        command = command_type(tool="jira", key="EMG-1", actor=actor, at=when, origin=f"d{self.n}", **fields)
        with UnitOfWork(self.database) as uow:
            outcome = services.handle(uow, command, self.ctx)
            uow.commit()
        return outcome

    def facts(self):
        with UnitOfWork(self.database) as uow:
            return uow.changes.to_facts(uow.changes.get("jira", "EMG-1"))

    def outbox(self):
        from sqlalchemy import select

        from connector.store.tables import OutboxRow

        with UnitOfWork(self.database) as uow:
            return [
                (r.action, dict(r.payload))
                for r in uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id))
            ]


@pytest.fixture
def run(database, ctx) -> Runner:
    return Runner(database, ctx)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)
