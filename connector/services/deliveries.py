"""Receiving deliveries: a process's webhooks, written together (`Intake`, the group commit), or one
event that reconciliation rebuilt from a query (`receive`).

    intake = Intake(connector)                    # one per process (per gunicorn worker), after the fork
    outcome = intake.receive(delivery, event)     # a webhook: once it is committed with its batch
    outcome = deliveries.receive(connector.database, connector.tools, delivery, event)  # alone

Receiving one delivery (`process`, in the caller's transaction): the delivery is recorded (a delivery id
seen before is a duplicate, nothing more is done), an event whose subject (a comment, a changelog entry)
was processed before under another delivery id is a duplicate too, the event is translated by its tool
into commands (`commands_for`, no I/O, before the delivery is queued), and each command is handled by
`handle`: the use case its type names in `HANDLERS`. The outcome is "handled", "ignored", "duplicate",
or for a replayed event "deferred" (left to a catch-up, nothing recorded).
A comment that would be refused, made after a step that waits to be judged again (its revert is
pending) or on a change whose stored stage is not the one the webhook shows, is left to a catch-up from
the tool (`connector/services/doubts.py`), so it is judged after the moves that came before it.

Group commit: the webhook deliveries of one process are written a batch per transaction, and each
request is answered once its batch is on disk. A request thread translates its event and queues the
delivery. If no batch is being written, that thread writes one itself: everything queued (up to
`max_batch`), in one transaction, one commit (one fsync for the batch), and then releases every request
of the batch with its outcome. Requests that arrive while a batch is written queue and wait; when the
batch is committed its writer hands the writing on to the oldest of them, which writes the next batch
(its own delivery and everything queued meanwhile). Under load a batch grows to what arrived during one
commit; a delivery alone waits for nothing but its own commit and is written by its own thread, with no
hand-over to another thread on the way. On a SQLite file the writers of several processes take turns
through a file lock (`Database.writer_turn`) rather than SQLite's busy handler.

What a batch does, in one transaction:
- Deliveries with commands are processed as `receive` processes one, each in a savepoint of its own,
  after the audit chain's lock is taken once for the batch (the lock every writer takes first). One that
  raises is rolled back alone and its request gets the error (a 5xx, so the tool sends it again); the
  others go on.
- Deliveries known to be ignored are recorded with their outcome in one multi-row
  `INSERT … ON CONFLICT DO NOTHING` (a delivery id recorded before is a duplicate); a batch of nothing
  else is that one statement, committed by the database as it ends (autocommit: no `BEGIN`, no
  `COMMIT`, one round trip on PostgreSQL), without a unit of work, on a connection the intake keeps
  between batches (`DeliveryWriter`).
- A delivery id queued twice is left for the next batch, so it is decided once the first one is.
If the transaction or its commit fails, every request of the batch gets the error; nothing of it is
stored.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from connector import commands as c
from connector.inbound.events import (
    Delivery,
    DeployReported,
    Event,
    Ignored,
    ProtectionRuleRequested,
)
from connector.services import deploys, doubts, gates, missing, protection
from connector.services.approvals import confirm_approval, record_approval, record_rejection, record_review
from connector.services.changes import answer_command, record_link, record_transition, register_change
from connector.services.deploys import record_deploy, register_bypass
from connector.services.doubts import REPLAY
from connector.services.people import remember_people
from connector.services.postmortems import record_postmortem_created, update_postmortem
from connector.services.steps import request_step
from connector.store.db import Database
from connector.store.repositories import DeliveryWriter
from connector.store.tables import DeliveryRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolContext, ToolRuntime

if TYPE_CHECKING:
    from connector.config import Settings

logger = logging.getLogger(__name__)
WAIT_SECONDS = 120.0  # far beyond any batch; a request is never left waiting for ever


class Connector(Protocol):
    settings: Settings
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
        commands = commands_for(
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
                pending.outcome = process(
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


def receive(
    database: Database, tools: Mapping[str, ToolRuntime], delivery: Delivery, event: Event | Ignored
) -> str:
    """Record the delivery and process it in one transaction: "handled", "ignored" or "duplicate"."""
    commands = commands_for(tools, delivery, event)
    with UnitOfWork(database) as uow:
        outcome = process(uow, tools, delivery, event, commands)
        uow.commit()
    return outcome


def handle(uow: UnitOfWork, command: c.Command, ctx: ToolContext) -> str:
    """Apply one command (a delivery's, or one the dispatcher builds from a tool's answer) inside the
    caller's unit of work: "handled", "ignored: …" or "refused: …"."""
    remember_people(uow, command, ctx)  # who they are, as the tool names them now
    outcome = HANDLERS[type(command)](uow, command, ctx)
    if not isinstance(command, c.RestoreGate):
        gates.mirror(uow, command, ctx)  # the steps the tool may offer now, where it checks them itself
    missing.show(uow, command, ctx)  # the next step and what it still needs, kept current on the ticket
    return outcome


HANDLERS: dict[type, Callable[..., str]] = {  # the use case by the command's type
    c.RegisterChange: register_change,
    c.RecordTransition: record_transition,
    c.RecordApproval: record_approval,
    c.ConfirmApproval: confirm_approval,
    c.RecordRejection: record_rejection,
    c.RecordReview: record_review,
    c.RecordLink: record_link,
    c.RecordPostMortemCreated: record_postmortem_created,
    c.UpdatePostMortem: update_postmortem,
    c.AnswerCommand: answer_command,
    c.RestoreGate: gates.restore_gate,
    c.RequestStep: request_step,
    c.RecordDeploy: record_deploy,
    c.RegisterBypass: register_bypass,
}


def process(
    uow: UnitOfWork,
    tools: Mapping[str, ToolRuntime],
    delivery: Delivery,
    event: Event | Ignored,
    commands: list[Any] | Ignored,
) -> str:
    """Everything `receive` does inside the transaction, without committing it (`Intake`
    runs several deliveries in one transaction, each in a savepoint of its own)."""
    if isinstance(commands, Ignored):  # recorded with its outcome in one statement
        row = _record(uow, delivery, outcome="ignored", detail=commands.reason)
        return "ignored" if row is not None else "duplicate"
    # The chain's lock before any row: the delivery, the subject's marker, an outbox row and the change
    # are then locked in one order by every writer (a webhook's batch holds the lock while it inserts the
    # marker a replay of the same comment inserts too; taken after it, the two would deadlock).
    uow.audit.lock()
    if delivery.delivery_id.startswith(REPLAY) and doubts.postmortem_not_known_yet(uow, event, commands):
        return "deferred"  # nothing recorded: replayed again by the next reconciliation
    if doubts.first_heard_of_in_a_comment(uow, event, commands):
        doubts.queue_first_read(uow, delivery, event)
        return _deferred(uow, delivery, "first heard of in a comment; its history is read first")
    tool = tools.get(delivery.source)  # none for a pipeline's deploy report
    doubt = doubts.in_doubt(uow, tool, delivery, event) if tool is not None else None
    if doubt is None:
        return _process(uow, tools, delivery, event, commands)
    try:  # judged now; only a refusal waits for the catch-up
        with uow.savepoint():
            return _process(uow, tools, delivery, event, commands, refusal_waits=True)
    except _WouldRefuse:
        tag, why = doubt
        doubts.queue_catch_up(uow, delivery, event, tag)
        return _deferred(uow, delivery, f"{why}; caught up first")


def _deferred(uow: UnitOfWork, delivery: Delivery, why: str) -> str:
    """A delivery left to a catch-up. A replayed one leaves nothing (the catch-up replays it under the
    same delivery id); a webhook's is recorded as deferred."""
    if delivery.delivery_id.startswith(REPLAY):
        return "deferred"
    row = _record(uow, delivery)
    if row is None:
        return "duplicate"
    uow.deliveries.mark(row, "handled", f"deferred: {why}")
    return "handled"


class _WouldRefuse(Exception):
    """The comment would be refused, on facts that are in doubt: rolled back and deferred."""


def _process(
    uow: UnitOfWork,
    tools: Mapping[str, ToolRuntime],
    delivery: Delivery,
    event: Event,
    commands: list[Any],
    *,
    refusal_waits: bool = False,
) -> str:
    row = _record(uow, delivery)
    if row is None:
        return "duplicate"
    if commands and isinstance(commands[0], c.ReportDeploy | c.ReviewDeployment):  # a pipeline's: no tool
        detail = "; ".join(_pipeline(uow, tools, request) for request in commands)
        uow.deliveries.mark(row, "handled", detail[:2000])
        return "handled"
    if doubts.postmortem_not_known_yet(uow, event, commands):
        uow.deliveries.mark(row, "ignored", "a post-mortem the connector does not know (yet); not marked")
        return "ignored"
    if not _first_sight(uow, delivery, event):
        uow.deliveries.mark(row, "duplicate", f"already processed: {event.subject_id}")
        return "duplicate"
    ctx = tools[delivery.source].ctx  # `commands_for` ignored the delivery of a tool without a mapping
    outcomes = [handle(uow, command, ctx) for command in commands]
    if refusal_waits and any(doubts.waits(event, outcome) for outcome in outcomes):
        raise _WouldRefuse()
    uow.deliveries.mark(row, "handled", "; ".join(outcomes)[:2000])
    return "handled"


def _pipeline(
    uow: UnitOfWork, tools: Mapping[str, ToolRuntime], request: c.ReportDeploy | c.ReviewDeployment
) -> str:
    if isinstance(request, c.ReviewDeployment):
        return protection.review_deployment(uow, tools, request)
    return deploys.report_deploy(uow, tools, request, handle)


def commands_for(
    tools: Mapping[str, ToolRuntime],
    delivery: Delivery,
    event: Event | Ignored,
    *,
    github_app_missing: Sequence[str] = (),
) -> list[Any] | Ignored:
    """The commands the delivery's tool translates its event into, or why it is ignored (no I/O).
    `github_app_missing`: the GitHub App settings not set (`Settings.github_app_missing`)."""
    if isinstance(event, Ignored):
        return event
    if isinstance(event, DeployReported):
        return deploys.translate(tools, event, delivery.delivery_id, delivery.received_at)
    if isinstance(event, ProtectionRuleRequested):
        return protection.translate(tools, event, delivery.delivery_id, app_missing=github_app_missing)
    tool = tools.get(delivery.source)
    if tool is None:
        return Ignored(f"no {delivery.source} mapping is configured")
    return tool.translate(event, delivery.delivery_id)


def _record(
    uow: UnitOfWork, delivery: Delivery, *, outcome: str = "received", detail: str | None = None
) -> DeliveryRow | None:
    """The new delivery row, or None when this delivery id was recorded before."""
    return uow.deliveries.record(
        delivery.source,
        delivery.delivery_id,
        event_type=delivery.event_type,
        issue_key=delivery.issue_key,
        body=delivery.body,
        received_at=delivery.received_at,
        outcome=outcome,
        detail=detail,
    )


def _first_sight(uow: UnitOfWork, delivery: Delivery, event: Event) -> bool:
    """False when the event's subject (a comment, a changelog entry) was processed before."""
    subject = getattr(event, "subject_id", None)
    if not subject:
        return True
    return uow.markers.first(
        "subject", f"{event.tool}:{subject}", at=delivery.received_at, issue_key=delivery.issue_key
    )
