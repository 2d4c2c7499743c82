"""What the use cases need of the store: a unit of work and its repositories, as protocols.

`connector.store.uow.UnitOfWork` is the database's (SQLAlchemy, one transaction); `tests.fakes` has an
in-memory one for the tests of the services' decisions. The services name only these methods, so no
query is written in a use case: a new question of the store is a new repository method.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from connector.outbox import Action, Target
from connector.procedure.model import Change
from connector.store.tables import (
    AlertRow,
    AuditRow,
    ChangeRow,
    DeliveryRow,
    DeployRow,
    OutboxRow,
    PostMortemRow,
    ViolationRow,
)


class Changes(Protocol):
    def get(self, tool: str, key: str, *, for_update: bool = False) -> ChangeRow | None: ...

    def add(self, row: ChangeRow) -> ChangeRow: ...

    def to_facts(self, row: ChangeRow) -> Change: ...

    def postmortem(self, tool: str, key: str) -> PostMortemRow | None:
        """The post-mortem whose task in the tool has this key, with its change."""
        ...


class Outbox(Protocol):
    def add(
        self,
        *,
        tool: str,
        target: Target,
        action: Action,
        idempotency_key: str,
        change_id: int | None,
        now: datetime,
    ) -> OutboxRow | None:
        """The new pending row, or None when its idempotency key was queued before."""
        ...

    def enqueue(
        self, tool: str, change: ChangeRow | None, action: Action, tag: str, *, now: datetime
    ) -> bool:
        """Queue `action` about `change` once under the key `connector.outbox.address` makes from `tag`:
        False when it was queued before."""
        ...

    def pending(self, idempotency_key: str) -> OutboxRow | None:
        """The pending row of this key, if any."""

    def pending_of(self, change_id: int, action: str) -> list[tuple[OutboxRow, Action]]:
        """The change's pending rows of this kind with their actions, oldest first."""
        ...

    def last(self, change_id: int, action: str) -> Action | None:
        """The newest action of this kind queued for the change, whatever its status."""
        ...


class Audit(Protocol):
    def lock(self) -> None: ...

    def append(
        self,
        *,
        actor: str,
        action: str,
        change_key: str | None,
        tool: str | None,
        data: dict[str, Any],
        at: datetime,
    ) -> AuditRow: ...


class Deliveries(Protocol):
    def record(
        self,
        source: str,
        delivery_id: str,
        *,
        event_type: str | None,
        issue_key: str | None,
        body: str | bytes | None,
        received_at: datetime,
        outcome: str = "received",
        detail: str | None = None,
    ) -> DeliveryRow | None: ...

    def record_many(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """The (source, delivery_id) of the rows inserted; the others were recorded before."""
        ...

    def mark(self, row: DeliveryRow, outcome: str, detail: str | None = None) -> None: ...


class Deploys(Protocol):
    def record(self, row: DeployRow) -> DeployRow | None:
        """The new row, or None when this deploy (source, deploy id) was recorded before."""

    def get(self, source: str, deploy_id: str) -> DeployRow | None: ...

    def of_change(self, change_id: int) -> list[DeployRow]: ...


class Markers(Protocol):
    def first(
        self, kind: str, key: str, *, at: datetime, issue_key: str | None = None, detail: str | None = None
    ) -> bool: ...

    def seen(self, kind: str, key: str) -> bool:
        """Whether the marker is set (nothing is set)."""
        ...


class Alerts(Protocol):
    def add(self, row: AlertRow) -> bool:
        """False when this (change, kind, threshold) was alerted before (nothing is added)."""

    def withdraw(self, change_id: int, kind: str, threshold: str) -> None: ...


class Violations(Protocol):
    def add(self, row: ViolationRow) -> None: ...

    def withdraw(self, change_id: int, at: datetime, to_stage: str) -> list[str]:
        """Remove the violation of that move; the rules it named."""


class People(Protocol):
    def remember(self, tool: str, identity: str, name: str, email: str | None, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    changes: Changes
    outbox: Outbox
    audit: Audit
    deliveries: Deliveries
    deploys: Deploys
    markers: Markers
    alerts: Alerts
    violations: Violations
    people: People

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Work inside is rolled back alone when it fails; the store is read afresh after it."""
        ...
