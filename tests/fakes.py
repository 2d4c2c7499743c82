"""Fakes of the connector's protocols for the tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connector import commands as c
from connector import services
from connector.outbox import Action, Target, address
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Change, Groups, Stage
from connector.procedure.policy import Policy
from connector.store.db import Database
from connector.store.facts import change_facts
from connector.store.outbox import decode, encode
from connector.store.tables import ChangeRow, DeliveryRow, DeployRow, OutboxRow, PostMortemRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolActions, ToolContext


@dataclass(frozen=True)
class StaticDirectory:
    """A fixed `connector.tools.Directory`: who leads, who is in security, and display names."""

    leads: frozenset[str] = frozenset()
    security: frozenset[str] = frozenset()
    names: tuple[tuple[str, str], ...] = ()  # (identity, display name)

    def groups(self) -> Groups:
        return Groups(leads=self.leads, security=self.security)

    def resolve(self, reference: str) -> str | None:
        wanted = reference.lstrip("@").casefold()
        for identity, name in self.names:
            if wanted in (identity.casefold(), name.casefold()):
                return identity
        return None

    def display(self, user: str) -> str:
        return dict(self.names).get(user, user)


class FakeChanges:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], ChangeRow] = {}

    def get(self, tool: str, key: str, *, for_update: bool = False) -> ChangeRow | None:
        return self.rows.get((tool, key))

    def add(self, row: ChangeRow) -> ChangeRow:
        row.id = len(self.rows) + 1
        self.rows[(row.tool, row.key)] = row
        return row

    def to_facts(self, row: ChangeRow) -> Change:
        return change_facts(row)

    def postmortem(self, tool: str, key: str) -> PostMortemRow | None:
        return next(
            (
                r.postmortem
                for r in self.rows.values()
                if r.tool == tool and r.postmortem and r.postmortem.key == key
            ),
            None,
        )


@dataclass
class FakeOutbox:
    rows: list[OutboxRow] = field(default_factory=list)

    def add(self, *, tool, target, action, idempotency_key, change_id, now) -> OutboxRow | None:
        if any(r.idempotency_key == idempotency_key for r in self.rows):
            return None
        row = OutboxRow(
            id=len(self.rows) + 1,
            tool=tool,
            action=action.ACTION,
            payload=encode(target, action),
            idempotency_key=idempotency_key,
            change_id=change_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.rows.append(row)
        return row

    def enqueue(self, tool, change, action, tag, *, now) -> bool:
        target, key, change_id = address(tool, change, action, tag)
        return (
            self.add(
                tool=tool, target=target, action=action, idempotency_key=key, change_id=change_id, now=now
            )
            is not None
        )

    def pending(self, idempotency_key) -> OutboxRow | None:
        return next(
            (r for r in self.rows if r.idempotency_key == idempotency_key and r.status == "pending"), None
        )

    def actions(self) -> list[tuple[str, dict]]:
        return [(r.action, dict(r.payload)) for r in self.rows]

    def pending_of(self, change_id, action):
        return [
            (r, decode(r.action, r.payload)[1])
            for r in self.rows
            if r.change_id == change_id and r.action == action and r.status == "pending"
        ]

    def last(self, change_id, action):
        found = [r for r in self.rows if r.change_id == change_id and r.action == action]
        return decode(found[-1].action, found[-1].payload)[1] if found else None


@dataclass
class FakeAudit:
    entries: list[dict] = field(default_factory=list)

    def lock(self) -> None:
        pass

    def append(self, *, actor, action, change_key, tool, data, at) -> dict:
        if at.tzinfo is None:
            raise ValueError("the audit log takes timezone-aware datetimes only")
        entry = {
            "actor": actor,
            "action": action,
            "change_key": change_key,
            "tool": tool,
            "data": data,
            "at": at,
        }
        self.entries.append(entry)
        return entry


@dataclass
class FakeDeliveries:
    rows: dict[tuple[str, str], DeliveryRow] = field(default_factory=dict)

    def record(
        self,
        source,
        delivery_id,
        *,
        event_type,
        issue_key,
        body,
        received_at,
        outcome="received",
        detail=None,
    ):
        if (source, delivery_id) in self.rows:
            return None
        row = DeliveryRow(
            source=source,
            delivery_id=delivery_id,
            event_type=event_type,
            issue_key=issue_key,
            body=body,
            received_at=received_at,
            outcome=outcome,
            detail=detail,
        )
        self.rows[(source, delivery_id)] = row
        return row

    def record_many(self, rows: list[dict]) -> set[tuple[str, str]]:
        return {(r["source"], r["delivery_id"]) for r in rows if self.record(**r) is not None}

    def mark(self, row: DeliveryRow, outcome: str, detail: str | None = None) -> None:
        row.outcome, row.detail = outcome, detail


@dataclass
class FakeDeploys:
    def __init__(self) -> None:
        self.rows: list[DeployRow] = []

    def record(self, row: DeployRow) -> DeployRow | None:
        if self.get(row.source, row.deploy_id) is not None:
            return None
        row.id = len(self.rows) + 1
        self.rows.append(row)
        return row

    def get(self, source: str, deploy_id: str) -> DeployRow | None:
        return next((r for r in self.rows if (r.source, r.deploy_id) == (source, deploy_id)), None)

    def of_change(self, change_id: int) -> list[DeployRow]:
        return [r for r in self.rows if change_id in (r.change_id, r.bypass_change_id)]


class FakeMarkers:
    set: set[tuple[str, str]] = field(default_factory=set)

    def first(self, kind, key, *, at, issue_key=None, detail=None) -> bool:
        if (kind, key) in self.set:
            return False
        self.set.add((kind, key))
        return True

    def seen(self, kind, key) -> bool:
        return (kind, key) in self.set


@dataclass
class FakeRows:
    """Rows only added, never asked back by a use case: violations."""

    rows: list = field(default_factory=list)

    def add(self, row) -> None:
        self.rows.append(row)

    def withdraw(self, change_id, at, to_stage) -> list[str]:
        found = [r for r in self.rows if (r.change_id, r.at, r.to_stage) == (change_id, at, to_stage)]
        self.rows = [r for r in self.rows if r not in found]
        return sorted({rule for r in found for rule in r.rules})


@dataclass
class FakeAlerts:
    """Alerts, once per (change, kind, threshold) as the table's unique key has it."""

    rows: list = field(default_factory=list)

    def add(self, row) -> bool:
        if any(
            (r.change_id, r.kind, r.threshold) == (row.change_id, row.kind, row.threshold) for r in self.rows
        ):
            return False
        self.rows.append(row)
        return True

    def withdraw(self, change_id, kind, threshold) -> None:
        self.rows = [
            r for r in self.rows if (r.change_id, r.kind, r.threshold) != (change_id, kind, threshold)
        ]


@dataclass
class FakePeople:
    rows: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def remember(self, tool, identity, name, email, at) -> None:
        newest = next((r for r in reversed(self.rows) if r[:2] == (tool, identity)), None)
        if identity and (newest is None or newest[2:] != (name, email)):
            self.rows.append((tool, identity, name, email))


class FakeUnitOfWork:
    """The store in memory: what the services wrote stays readable across units of work, as after a
    commit; `commits` counts them. ORM rows are used as plain objects, without a session."""

    def __init__(self) -> None:
        self.changes = FakeChanges()
        self.outbox = FakeOutbox()
        self.audit = FakeAudit()
        self.deliveries = FakeDeliveries()
        self.deploys = FakeDeploys()
        self.markers = FakeMarkers()
        self.alerts = FakeAlerts()
        self.violations = FakeRows()
        self.people = FakePeople()
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        yield  # nothing to roll back to: a failing piece of work is the test's to see


JIRA_STATUSES = {stage: stage.value.replace("_", " ").title() for stage in Stage}
JIRA_PEOPLE = (
    ("eng.emma", "Emma Engineer"),
    ("peer.pete", "Pete Peer"),
    ("lead.liam", "Liam Lead"),
    ("sec.sara", "Sara Security"),
    ("dual.dana", "Dana Dual"),
    ("ecm-bot", "ECM Connector"),
)


def jira_context() -> ToolContext:
    """A Jira-shaped tool context: New York's calendar, the seeded people, dual.dana in both groups."""
    return ToolContext(
        tool="jira",
        calendar=BusinessCalendar(ZoneInfo("America/New_York")),
        policy=Policy(),
        directory=StaticDirectory(
            leads=frozenset({"lead.liam", "dual.dana"}),
            security=frozenset({"sec.sara", "dual.dana"}),
            names=JIRA_PEOPLE,
        ),
        account=lambda: "ecm-bot",
        statuses=JIRA_STATUSES,
        group_names={"leads": "engineering-leads", "security": "security-team"},
        recipients_by_kind={},
    )


@dataclass(frozen=True)
class ChangeSteps:
    """One emergency change's commands as the tests tell its life, each `minutes` after `at` and naming
    the delivery it came from (`origin`): Emma raises it (its category and impact given) awaiting
    approval, the approvers approve it, people move it between the statuses of `JIRA_STATUSES`."""

    at: datetime
    tool: str = "jira"
    key: str = "EMG-1"

    def raised(self, origin: str = "d-0", stage: Stage = Stage.AWAITING_APPROVAL) -> c.RegisterChange:
        return c.RegisterChange(
            **self._by("eng.emma", 0, origin),
            engineer="eng.emma",
            title="t",
            category="Service outage",
            impact="checkout is down",
            stage=stage,
        )

    def approval(self, actor: str, minutes: int, origin: str, evidence: str) -> c.RecordApproval:
        return c.RecordApproval(**self._by(actor, minutes, origin), evidence=evidence)

    def moved(self, actor: str, minutes: int, origin: str, to_stage: Stage) -> c.RecordTransition:
        return c.RecordTransition(
            **self._by(actor, minutes, origin), to_stage=to_stage, to_status=JIRA_STATUSES[to_stage]
        )

    def _by(self, actor: str, minutes: int, origin: str) -> dict[str, Any]:
        at = self.at + timedelta(minutes=minutes)
        return {"tool": self.tool, "key": self.key, "actor": actor, "at": at, "origin": origin}


def handled(database: Database, ctx: ToolContext, *commands: c.Command) -> list[str]:
    """Each command handled in turn in one unit of work of the database, committed: their outcomes."""
    with UnitOfWork(database) as uow:
        outcomes = [services.handle(uow, command, ctx) for command in commands]
        uow.commit()
    return outcomes


@dataclass
class RecordingActions:
    """A tool's actions that perform everything at once and keep what they were asked, in order."""

    calls: list[tuple[Target, Action, str]] = field(default_factory=list)

    def perform(self, action: Action, target: Target, idempotency_key: str) -> dict[str, Any]:
        self.calls.append((target, action, idempotency_key))
        return {"ok": True}


@dataclass
class DispatchedTool:
    """What the dispatcher uses of a tool's runtime: its actions, its context, its adapter (history)."""

    actions: ToolActions
    ctx: ToolContext | None = None
    adapter: Any = None


@dataclass
class DispatchedConnector:
    """What the dispatcher uses of the composition root."""

    database: Database
    tools: dict[str, DispatchedTool]
    clock: Any = None
