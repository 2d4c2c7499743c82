"""The unit of work: one transaction, its repositories and the audit log.

    with UnitOfWork(database) as uow:
        row = uow.changes.get("jira", "ECM-12", for_update=True)
        ...
        uow.commit()

Leaving the block without `commit()` (or by an exception) rolls everything back. A change row carries a
version number: if another transaction updated the same change since it was read, the flush raises
`sqlalchemy.orm.exc.StaleDataError` and nothing of this unit of work is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from connector.store.audit import AuditLog
from connector.store.db import Database
from connector.store.repositories import (
    AlertRepository,
    ChangeRepository,
    DeliveryRepository,
    DeployRepository,
    MarkerRepository,
    OutboxRepository,
    PeopleRepository,
    ViolationRepository,
    WatermarkRepository,
)
from connector.store.sla import SlaRepository

CONFLICTS = (StaleDataError, DBAPIError)
"""What a unit of work raises when another transaction changed the same rows first (a version that
moved on, a lock or a unique key lost): the work is to be done again, or left to the winner."""


class UnitOfWork:
    """The database's unit of work; the services use it as `connector.services.ports.UnitOfWork`."""

    session: Session
    changes: ChangeRepository
    deliveries: DeliveryRepository
    deploys: DeployRepository
    markers: MarkerRepository
    outbox: OutboxRepository
    alerts: AlertRepository
    violations: ViolationRepository
    people: PeopleRepository
    sla: SlaRepository
    watermarks: WatermarkRepository
    audit: AuditLog

    def __init__(self, database: Database) -> None:
        self.database = database

    def __enter__(self) -> UnitOfWork:
        self.session = self.database.session()
        self.changes = ChangeRepository(self.session)
        self.deliveries = DeliveryRepository(self.session)
        self.deploys = DeployRepository(self.session)
        self.markers = MarkerRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.alerts = AlertRepository(self.session)
        self.violations = ViolationRepository(self.session)
        self.people = PeopleRepository(self.session)
        self.sla = SlaRepository(self.session)
        self.watermarks = WatermarkRepository(self.session)
        self.audit = AuditLog(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()  # a no-op after commit()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: what fails inside is rolled back alone. After it the session forgets
        the rows it loaded, so the next piece of work reads them from the database again."""
        try:
            with self.session.begin_nested():
                yield
        finally:
            self.session.expunge_all()

    def rollback(self) -> None:
        self.session.rollback()
