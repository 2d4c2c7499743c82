"""Group commit: the webhook deliveries of one process are written a batch per transaction, and each
request is answered once its batch is on disk.

    intake = Intake(connector)                    # one per process (per gunicorn worker), after the fork
    outcome = intake.receive(delivery, event)     # "handled" | "ignored" | "duplicate", once committed

A request thread translates its event (no I/O) and queues the delivery. If no batch is being written, that
thread writes one itself: everything queued (up to `max_batch`), in one transaction, one commit — one fsync
for the batch — and then releases every request of the batch with its outcome. Requests that arrive while
a batch is written queue and wait; when the batch is committed its writer hands the writing on to the
oldest of them, which writes the next batch (its own delivery and everything queued meanwhile). Under load
a batch grows to what arrived during one commit; a delivery alone waits for nothing but its own commit and
is written by its own thread, with no hand-over to another thread on the way.

On a SQLite file the writers of several processes take turns through a file lock
(`Database.writer_turn`) rather than SQLite's busy handler.

What a batch does, in one transaction:
- Deliveries with commands are processed as `deliveries.receive` processes one (record, dedupe the
  subject, translate, handle), each in a savepoint of its own, after the audit chain's lock is taken
  once for the batch (the lock every writer takes first). One that raises is rolled back alone and its
  request gets the error (a 5xx, so the tool sends it again); the others go on.
- Deliveries known to be ignored are recorded with their outcome in one multi-row
  `INSERT … ON CONFLICT DO NOTHING` (a delivery id recorded before is a duplicate); a batch of nothing
  else is that one statement in a transaction of its own, without a unit of work, on a connection the
  intake keeps between batches (`DeliveryWriter`).
- A delivery id queued twice is left for the next batch, so it is decided once the first one is.
If the transaction or its commit fails, every request of the batch gets the error; nothing of it is
stored. `deliveries.receive` (one delivery, its own transaction) stays what reconciliation uses.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from connector.inbound.events import Delivery, Event, Ignored
from connector.services import deliveries
from connector.store.db import Database
from connector.store.repositories import DeliveryWriter
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime

logger = logging.getLogger(__name__)
WAIT_SECONDS = 120.0  # far beyond any batch; a request is never left waiting for ever


class Connector(Protocol):
    database: Database
    tools: Mapping[str, ToolRuntime]


@dataclass(eq=False)
class Pending:
    delivery: Delivery
    event: Event | Ignored
    commands: list[Any] | Ignored
    outcome: str | None = None
    error: BaseException | None = None
    done: bool = False  # written (or failed) with its batch
    writes: bool = False  # handed the writing of the next batch
    # Held from the start; released once, when the delivery is done or its request is to write a batch.
    _wake: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._wake.acquire()

    @property
    def key(self) -> tuple[str, str]:
        return self.delivery.source, self.delivery.delivery_id


class Intake:
    def __init__(self, connector: Connector, *, max_batch: int = 256) -> None:
        self.connector = connector
        self.max_batch = max_batch
        self._queue: deque[Pending] = deque()
        self._lock = threading.Lock()
        self._writing = False  # a request thread is writing a batch
        self._ignored_writer = DeliveryWriter(connector.database)  # used by the one writing

    def receive(self, delivery: Delivery, event: Event | Ignored) -> str:
        """Queue the delivery and return its outcome once its batch is committed (written by this thread
        when no other is writing)."""
        commands = deliveries.commands_for(
            self.connector.tools,
            delivery,
            event,
            github_app_missing=self.connector.settings.github_app_missing,
        )
        pending = Pending(delivery, event, commands)
        with self._lock:
            self._queue.append(pending)
            pending.writes, self._writing = not self._writing, True
        while not pending.done:
            if pending.writes:
                self._write_until_done(pending)
            elif not pending._wake.acquire(timeout=WAIT_SECONDS):
                self._give_up(pending)
        if pending.error is not None:
            raise pending.error
        assert pending.outcome is not None
        return pending.outcome

    def _write_until_done(self, mine: Pending) -> None:
        """Write batches until `mine` is written, then hand the writing on."""
        try:
            while not mine.done:
                with self._lock:
                    batch = self._take()
                try:
                    self._write(batch)
                finally:
                    for pending in batch:
                        pending.done = True
                        if pending is not mine:
                            pending._wake.release()
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        """The writing to the oldest delivery still queued, or to the next one that arrives."""
        with self._lock:
            if not self._queue:
                self._writing = False
                return
            following = self._queue[0]
            following.writes = True
        following._wake.release()

    def _give_up(self, pending: Pending) -> None:
        """Waited `WAIT_SECONDS`: a delivery still queued leaves the queue unwritten and its request
        hears so (the tool sends it again); one handed the writing meanwhile writes."""
        with self._lock:
            if pending.writes or pending.done:
                return
            if pending in self._queue:  # else it is in the batch being written, its outcome not yet known
                self._queue.remove(pending)
        raise TimeoutError(f"delivery {pending.delivery.delivery_id} not written within {WAIT_SECONDS:.0f} s")

    def _take(self) -> list[Pending]:
        """Up to `max_batch` queued deliveries, a repeated delivery id left queued for the next batch."""
        batch: list[Pending] = []
        keys: set[tuple[str, str]] = set()
        later: list[Pending] = []
        while self._queue and len(batch) < self.max_batch:
            pending = self._queue.popleft()
            if pending.key in keys:
                later.append(pending)
                continue
            keys.add(pending.key)
            batch.append(pending)
        self._queue.extendleft(reversed(later))
        return batch

    def _write(self, batch: list[Pending]) -> None:
        acting = [p for p in batch if not isinstance(p.commands, Ignored)]
        ignored = [p for p in batch if isinstance(p.commands, Ignored)]
        database = self.connector.database
        try:
            with database.writer_turn():
                if not acting:  # the common batch: one statement, no unit of work
                    self._mark_ignored(ignored, self._ignored_writer.record(self._ignored_rows(ignored)))
                    return
                with UnitOfWork(database) as uow:
                    uow.audit.lock()  # first, as every writer does: one lock order
                    for pending in acting:
                        self._process(uow, pending)
                    if ignored:
                        self._mark_ignored(ignored, uow.deliveries.record_many(self._ignored_rows(ignored)))
                    uow.commit()
        except Exception as exc:  # the whole batch is lost: every request hears so
            logger.warning(
                "intake-batch-failed", extra={"deliveries": len(batch), "error": type(exc).__name__}
            )
            for pending in batch:
                pending.outcome, pending.error = None, pending.error or exc

    def _process(self, uow: UnitOfWork, pending: Pending) -> None:
        try:  # flushed or rolled back; the next delivery then starts from the database, as alone
            with uow.savepoint():
                pending.outcome = deliveries.process(
                    uow, self.connector.tools, pending.delivery, pending.event, pending.commands
                )
        except Exception as exc:  # rolled back to the savepoint: this delivery alone is not stored
            pending.error = exc

    @staticmethod
    def _ignored_rows(batch: list[Pending]) -> list[dict[str, Any]]:
        return [
            {
                "source": p.delivery.source,
                "delivery_id": p.delivery.delivery_id,
                "event_type": p.delivery.event_type,
                "issue_key": p.delivery.issue_key,
                "body": p.delivery.body,
                "received_at": p.delivery.received_at,
                "outcome": "ignored",
                "detail": p.commands.reason if isinstance(p.commands, Ignored) else None,
            }
            for p in batch
        ]

    @staticmethod
    def _mark_ignored(batch: list[Pending], stored: set[tuple[str, str]]) -> None:
        """Outcomes once the batch is committed: "ignored", or "duplicate" for an id recorded before."""
        for pending in batch:
            pending.outcome = "ignored" if pending.key in stored else "duplicate"
