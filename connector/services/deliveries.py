"""Receiving one delivery: a webhook, or an event that reconciliation rebuilt from a query.

    outcome = deliveries.receive(connector.database, connector.tools, delivery, event)

One transaction: the delivery is recorded (a delivery id seen before is a duplicate, nothing more is
done), an event whose subject (a comment, a changelog entry) was processed before under another
delivery id is a duplicate too, the event is translated by its tool into commands, and each command is
handled by `connector.services.handle`. The outcome is "handled", "ignored" or "duplicate".
A comment on a change whose stored stage is not the one the webhook shows is left to a catch-up from
the tool (`_behind`), so it is judged after the moves that came before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector import commands as c
from connector import outbox, services
from connector.inbound.events import (
    CommentAdded,
    Delivery,
    DeployReported,
    Event,
    Ignored,
    ProtectionRuleRequested,
)
from connector.outbox import CatchUp
from connector.services import deploys, protection
from connector.store.db import Database
from connector.store.tables import DeliveryRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime


def receive(
    database: Database, tools: Mapping[str, ToolRuntime], delivery: Delivery, event: Event | Ignored
) -> str:
    """Record the delivery and process it in one transaction: "handled", "ignored" or "duplicate"."""
    commands = commands_for(tools, delivery, event)
    with UnitOfWork(database) as uow:
        outcome = process(uow, tools, delivery, event, commands)
        uow.commit()
    return outcome


def process(
    uow: UnitOfWork,
    tools: Mapping[str, ToolRuntime],
    delivery: Delivery,
    event: Event | Ignored,
    commands: list[Any] | Ignored,
) -> str:
    """Everything `receive` does inside the transaction, without committing it (`connector.services.intake`
    runs several deliveries in one transaction, each in a savepoint of its own)."""
    if isinstance(commands, Ignored):  # recorded with its outcome in one statement
        row = _record(uow, delivery, outcome="ignored", detail=commands.reason)
        return "ignored" if row is not None else "duplicate"
    # The chain's lock before any row: the delivery, the subject's marker, an outbox row and the change
    # are then locked in one order by every writer (a webhook's batch holds the lock while it inserts the
    # marker a replay of the same comment inserts too; taken after it, the two would deadlock).
    uow.audit.lock()
    row = _record(uow, delivery)
    if row is None:
        return "duplicate"
    if commands and isinstance(commands[0], c.ReportDeploy | c.ReviewDeployment):  # a pipeline's: no tool
        uow.audit.lock()
        detail = "; ".join(_pipeline(uow, tools, request) for request in commands)
        uow.deliveries.mark(row, "handled", detail[:2000])
        return "handled"
    behind = _behind(uow, tools[delivery.source], delivery, event)
    if behind is not None:
        uow.deliveries.mark(row, "handled", behind)
        return "handled"
    if not _first_sight(uow, delivery, event):
        uow.deliveries.mark(row, "duplicate", f"already processed: {event.subject_id}")
        return "duplicate"
    ctx = tools[delivery.source].ctx
    outcomes = [services.handle(uow, command, ctx) for command in commands]
    uow.deliveries.mark(row, "handled", "; ".join(outcomes)[:2000])
    return "handled"


def _behind(uow: UnitOfWork, tool: ToolRuntime, delivery: Delivery, event: Event) -> str | None:
    """A comment whose issue, as the webhook shows it, is in another stage than the stored change: a
    webhook before it was lost or is late, and the comment would be judged against a stage the change
    has left (a review refused as "before approval" on a change approved in the tool). It is left to a
    catch-up from the tool, which replays the change's history in order, this comment included (its
    subject is not marked here). Reconciliation's own events are judged as they come."""
    if not isinstance(event, CommentAdded) or not event.status:
        return None
    if delivery.delivery_id.startswith("reconcile:"):
        return None
    stage = tool.ctx.stage_of(event.status)
    change = uow.changes.get(event.tool, event.key)
    if stage is None or change is None or change.stage == stage.value:
        return None
    tag = f"behind:{delivery.delivery_id}"
    outbox.enqueue(uow, change.tool, change, CatchUp(), tag, now=delivery.received_at)
    return f"deferred: the change is {change.stage} here and {event.status} in {event.tool}; caught up first"


def _pipeline(uow: UnitOfWork, tools: Mapping[str, ToolRuntime], request: Any) -> str:
    if isinstance(request, c.ReviewDeployment):
        return protection.review_deployment(uow, tools, request)
    return deploys.report_deploy(uow, tools, request, services.handle)


def commands_for(
    tools: Mapping[str, ToolRuntime], delivery: Delivery, event: Event | Ignored
) -> list[Any] | Ignored:
    """The commands the delivery's tool translates its event into, or why it is ignored (no I/O)."""
    if isinstance(event, Ignored):
        return event
    if isinstance(event, DeployReported):
        return deploys.translate(tools, event, delivery.delivery_id)
    if isinstance(event, ProtectionRuleRequested):
        return protection.translate(tools, event, delivery.delivery_id)
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
