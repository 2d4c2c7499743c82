"""The services on the in-memory unit of work: their decisions, with no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector import services
from connector.tools import ToolContext
from tests.fakes import FakeUnitOfWork, jira_context


@pytest.fixture
def ctx() -> ToolContext:
    return jira_context()


class FakeRunner:
    """Each command handled in the in-memory unit of work and committed, as one delivery would be."""

    def __init__(self, ctx):
        self.ctx, self.uow, self.n = ctx, FakeUnitOfWork(), 0

    def __call__(self, command_type, actor, when, key="EMG-1", **fields):
        self.n += 1
        command = command_type(tool="jira", key=key, actor=actor, at=when, origin=f"d{self.n}", **fields)
        with self.uow as uow:
            outcome = services.handle(uow, command, self.ctx)
            uow.commit()
        return outcome

    def facts(self):
        return self.uow.changes.to_facts(self.uow.changes.get("jira", "EMG-1"))

    def outbox(self):
        return self.uow.outbox.actions()


@pytest.fixture
def run(ctx) -> FakeRunner:
    return FakeRunner(ctx)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)
