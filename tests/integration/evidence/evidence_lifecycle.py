"""Drive emergency changes through ENG-PROC-004 with the service layer, for the evidence tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from connector import commands as c
from connector import services
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Method, ReviewKind, Role, Stage
from connector.procedure.policy import Policy
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolContext
from tests.fakes import StaticDirectory

STATUSES = {stage: stage.value.replace("_", " ").title() for stage in Stage}


def context() -> ToolContext:
    return ToolContext(
        tool="jira",
        calendar=BusinessCalendar(ZoneInfo("America/New_York")),
        policy=Policy(),
        directory=StaticDirectory(
            leads=frozenset({"lead.liam"}),
            security=frozenset({"sec.sara"}),
            names=(("eng.emma", "Emma Engineer"), ("lead.liam", "Liam Lead"), ("sec.sara", "Sara Security")),
        ),
        account=lambda: "ecm-bot",
        statuses=STATUSES,
        group_names={"leads": "engineering-leads", "security": "security-team"},
        recipients_by_kind={},
    )


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


class Driver:
    def __init__(self, database, key: str = "EMG-1", ctx: ToolContext | None = None) -> None:
        self.database, self.key, self.ctx, self.n = database, key, ctx or context(), 0

    def __call__(self, command_type, actor, when, key=None, **fields) -> str:
        self.n += 1
        command = command_type(
            tool="jira", key=key or self.key, actor=actor, at=when, origin=f"{self.key}-d{self.n}", **fields
        )
        with UnitOfWork(self.database) as uow:
            outcome = services.handle(uow, command, self.ctx)
            uow.commit()
        return outcome

    def move(self, actor: str, stage: Stage, when: datetime) -> str:
        return self(c.RecordTransition, actor, when, to_stage=stage, to_status=STATUSES[stage])

    def register(self, **overrides) -> str:
        fields = dict(
            engineer="eng.emma",
            title="Checkout outage",
            category="Service outage",
            impact="Nobody can pay",
            project="SHOP",
            url=f"https://jira.example.com/browse/{self.key}",
            stage=Stage.IDENTIFIED,
            remote_status="Identified",
        )
        return self(c.RegisterChange, "eng.emma", at(1), **{**fields, **overrides})

    def deliver_notifications(self, when: datetime) -> None:
        """What the outbox dispatcher does once the tool accepted the notify calls."""
        with UnitOfWork(self.database) as uow:
            uow.session.execute(
                update(OutboxRow).where(OutboxRow.action == "notify").values(status="done", done_at=when)
            )
            uow.commit()

    def until_deployed(self) -> None:
        self.register()
        self.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
        self.move("eng.emma", Stage.DEPLOYED, at(1, 11))  # too early: reverted (R6, R9)
        self(
            c.RecordApproval,
            "eng.emma",
            at(1, 12),
            role=Role.LEAD,
            method=Method.VERBAL,
            approver="lead.liam",
            channel="phone",
            evidence="comment:5",
        )
        self(c.ConfirmApproval, "lead.liam", at(1, 15), evidence="comment:6")
        self(c.RecordApproval, "sec.sara", at(1, 13), role=Role.SECURITY, evidence="comment:7")
        self.move("lead.liam", Stage.APPROVED, at(1, 16))
        self.move("eng.emma", Stage.IN_REVIEW, at(1, 16))
        self(c.RecordReview, "lead.liam", at(1, 17), kind=ReviewKind.PEER, evidence="comment:8")
        self(c.RecordReview, "sec.sara", at(1, 17), kind=ReviewKind.SECURITY, evidence="comment:9")
        self.move("eng.emma", Stage.REVIEWED, at(1, 18))
        self.move("eng.emma", Stage.DEPLOYED, at(1, 19))
        self(c.RecordPostMortemCreated, "ecm-bot", at(1, 19), postmortem_key=f"PM-{self.key}")

    def whole_lifecycle(self) -> None:
        self.until_deployed()
        self(c.RecordLink, "eng.emma", at(2), kind="pr", url="https://git.example.com/shop/pull/7")
        self(c.RecordLink, "eng.emma", at(2), kind="docs", url="https://wiki.example.com/changes/1")
        self(
            c.UpdatePostMortem,
            "eng.emma",
            at(3),
            key=f"PM-{self.key}",
            done=True,
            report_url="https://wiki.example.com/pm/1",
        )
        self.move("eng.emma", Stage.POSTMORTEM, at(3, 11))
        self.move("eng.emma", Stage.CLOSED, at(3, 12))
        self.deliver_notifications(at(3, 13))


ADMIN_TOKEN = "admin-token-for-tests-0123456789"
NOW = datetime(2026, 12, 20, 12, tzinfo=UTC)
