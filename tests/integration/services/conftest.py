"""A Jira-shaped tool context with fixed people, and a helper to run commands in a unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from connector import services
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Stage
from connector.procedure.policy import Policy
from connector.store.uow import UnitOfWork
from connector.tools import ToolContext
from tests.fakes import StaticDirectory

STATUSES = {stage: stage.value.replace("_", " ").title() for stage in Stage}
PEOPLE = (
    ("eng.emma", "Emma Engineer"),
    ("peer.pete", "Pete Peer"),
    ("lead.liam", "Liam Lead"),
    ("sec.sara", "Sara Security"),
    ("dual.dana", "Dana Dual"),
    ("ecm-bot", "ECM Connector"),
)


@pytest.fixture
def ctx() -> ToolContext:
    return ToolContext(
        tool="jira",
        calendar=BusinessCalendar(ZoneInfo("America/New_York")),
        policy=Policy(),
        directory=StaticDirectory(
            leads=frozenset({"lead.liam", "dual.dana"}),
            security=frozenset({"sec.sara", "dual.dana"}),
            names=PEOPLE,
        ),
        account=lambda: "ecm-bot",
        statuses=STATUSES,
        group_names={"leads": "engineering-leads", "security": "security-team"},
        recipients_by_kind={},
    )


class Runner:
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
