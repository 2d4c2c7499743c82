"""Receiving one delivery: a webhook, or an event that reconciliation rebuilt from a query.

    outcome = deliveries.receive(connector.database, connector.tools, delivery, event)

One transaction: the delivery is recorded (a delivery id seen before is a duplicate, nothing more is
done), an event whose subject (a comment, a changelog entry) was processed before under another
delivery id is a duplicate too, the event is translated by its tool into commands, and each command is
handled by `connector.services.handle`. The outcome is "handled", "ignored" or "duplicate".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector import services
from connector.inbound.events import Delivery, Event, Ignored
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
    row = _record(uow, delivery)
    if row is None:
        return "duplicate"
    if not _first_sight(uow, delivery, event):
        uow.deliveries.mark(row, "duplicate", f"already processed: {event.subject_id}")
        return "duplicate"
    ctx = tools[delivery.source].ctx
    uow.audit.lock()  # before any change row is locked: one lock order for every writer
    outcomes = [services.handle(uow, command, ctx) for command in commands]
    uow.deliveries.mark(row, "handled", "; ".join(outcomes)[:2000])
    return "handled"


def commands_for(
    tools: Mapping[str, ToolRuntime], delivery: Delivery, event: Event | Ignored
) -> list[Any] | Ignored:
    """The commands the delivery's tool translates its event into, or why it is ignored (no I/O)."""
    if isinstance(event, Ignored):
        return event
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
