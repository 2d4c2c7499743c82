"""A connector without network for the job tests: Jira- and ServiceNow-shaped tool runtimes over the
test database, a controllable clock, and helpers that put changes with post-mortems in the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from connector.bootstrap import ADAPTERS
from connector.mapping import load_mapping
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Stage
from connector.procedure.policy import Policy
from connector.store.tables import AlertRow, ApprovalRow, AuditRow, ChangeRow, OutboxRow, PostMortemRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolAdapter, ToolContext
from tests.fakes import StaticDirectory

MAPPINGS = Path(__file__).parents[3] / "mappings"
NEW_YORK = ZoneInfo("America/New_York")
HOLIDAYS = frozenset({date(2026, 11, 26), date(2026, 12, 25)})  # Thanksgiving, Christmas


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


@dataclass
class Tool:
    name: str
    mapping: Any
    ctx: ToolContext
    actions: Any = None
    gateway: Any = None

    @property
    def adapter(self) -> ToolAdapter:
        return ADAPTERS[self.name]


@dataclass
class FakeConnector:
    database: Any
    clock: Clock
    tools: dict[str, Tool] = field(default_factory=dict)


def tool_context(tool: str) -> ToolContext:
    return ToolContext(
        tool=tool,
        calendar=BusinessCalendar(NEW_YORK, holidays=HOLIDAYS),
        policy=Policy(),
        directory=StaticDirectory(leads=frozenset({"lead.liam"}), security=frozenset({"sec.sara"})),
        account=lambda: "ecm-bot",
        statuses={stage: stage.value.title() for stage in Stage},
        group_names={"leads": "engineering-leads", "security": "security-team"},
        recipients_by_kind={
            "reminder": ("assignee", "engineer"),
            "breach": ("assignee", "leads", "security"),
            "escalation": ("assignee", "leads", "security"),
            "unconfirmed_verbal": ("approver", "engineer", "leads"),
        },
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 12, tzinfo=UTC))


@pytest.fixture
def connector(database, clock) -> FakeConnector:
    tools = {
        name: Tool(name, load_mapping(MAPPINGS / f"{file}.yaml"), tool_context(name))
        for name, file in (("jira", "jira-cloud"), ("servicenow", "servicenow"))
    }
    return FakeConnector(database, clock, tools)


def add_change(
    database,
    key: str,
    due_at: datetime,
    *,
    tool: str = "jira",
    done: bool = False,
    pr_url: str | None = None,
    docs_url: str | None = None,
    stage: Stage = Stage.DEPLOYED,
) -> int:
    with UnitOfWork(database) as uow:
        row = ChangeRow(
            tool=tool,
            key=key,
            engineer="eng.emma",
            stage=stage.value,
            title=key,
            created_at=due_at,
            updated_at=due_at,
            pr_url=pr_url,
            docs_url=docs_url,
            deployed_at=due_at,
        )
        row.postmortem = PostMortemRow(
            key=f"PM-{key}",
            due_at=due_at,
            assignee="eng.emma",
            participants=[],
            done_at=due_at if done else None,
            report_url="https://wiki/pm" if done else None,
        )
        uow.changes.add(row)
        uow.commit()
        return row.id


def add_verbal_approval(database, change_id: int, confirm_by: datetime) -> None:
    with UnitOfWork(database) as uow:
        uow.session.add(
            ApprovalRow(
                change_id=change_id,
                approver="lead.liam",
                role="lead",
                method="verbal",
                granted_at=confirm_by,
                recorded_by="eng.emma",
                evidence="comment:1",
                channel="phone",
                confirm_by=confirm_by,
            )
        )
        uow.commit()


def alerts(database) -> list[tuple[str, str, str]]:
    """(change key, kind, threshold) of every alert sent, in order."""
    with UnitOfWork(database) as uow:
        query = select(ChangeRow.key, AlertRow.kind, AlertRow.threshold).join(ChangeRow).order_by(AlertRow.id)
        return [tuple(r) for r in uow.session.execute(query)]


def outbox(database) -> list[tuple[str, dict]]:
    with UnitOfWork(database) as uow:
        return [
            (r.action, dict(r.payload)) for r in uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        ]


def audit_actions(database) -> list[str]:
    with UnitOfWork(database) as uow:
        return list(uow.session.scalars(select(AuditRow.action).order_by(AuditRow.seq)))


def set_done(database, change_id: int, at: datetime, **links: str) -> None:
    with UnitOfWork(database) as uow:
        row = uow.session.get(ChangeRow, change_id)
        row.postmortem.done_at, row.postmortem.report_url = at, "https://wiki/pm"
        for name, value in links.items():
            setattr(row, name, value)
        uow.commit()


def ny(day: date | tuple, hour: int = 12, minute: int = 0) -> datetime:
    d = day if isinstance(day, date) else date(*day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=NEW_YORK)
