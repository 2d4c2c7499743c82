"""Composition root: settings, database, mappings and gateways wired into one `Connector`.

Nothing is created at import time; `bootstrap()` builds everything, lazily where it needs the
network (field ids, the connector's own account, group members are read on first use and cached).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connector import services
from connector.config import Settings, load_settings
from connector.context import ToolRuntime
from connector.inbound.events import Delivery, Event, Ignored
from connector.mapping import load_mapping
from connector.store.db import Database
from connector.store.uow import UnitOfWork

log = logging.getLogger("connector")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Connector:
    def __init__(self, settings: Settings, database: Database, tools: dict[str, ToolRuntime], clock: Clock):
        self.settings, self.database, self.tools, self.clock = settings, database, tools, clock

    def receive(self, delivery: Delivery, event: Event | Ignored) -> str:
        """Record the delivery and process it in one transaction: "handled", "ignored" or "duplicate"."""
        commands = self._commands(delivery, event)
        with UnitOfWork(self.database) as uow:
            if isinstance(commands, Ignored):  # recorded with its outcome in one statement
                row = uow.deliveries.record(
                    delivery.source,
                    delivery.delivery_id,
                    event_type=delivery.event_type,
                    issue_key=delivery.issue_key,
                    body=delivery.body,
                    received_at=delivery.received_at,
                    outcome="ignored",
                    detail=commands.reason,
                )
                uow.commit()
                return "ignored" if row is not None else "duplicate"
            row = uow.deliveries.record(
                delivery.source,
                delivery.delivery_id,
                event_type=delivery.event_type,
                issue_key=delivery.issue_key,
                body=delivery.body.decode("utf-8", "replace"),
                received_at=delivery.received_at,
            )
            if row is None or not self._first_sight(uow, delivery, event):
                if row is not None:
                    uow.deliveries.mark(row, "duplicate", f"already processed: {event.subject_id}")
                    uow.commit()
                return "duplicate"
            tool = self.tools[delivery.source]
            uow.audit.lock()  # before any change row is locked: one lock order for every writer
            outcomes = [services.handle(uow, command, tool.ctx) for command in commands]
            uow.deliveries.mark(row, "handled", "; ".join(outcomes)[:2000])
            uow.commit()
        return "handled"

    @staticmethod
    def _first_sight(uow: UnitOfWork, delivery: Delivery, event: Event | Ignored) -> bool:
        """False when the event's subject (a comment, a changelog entry) was processed before."""
        subject = getattr(event, "subject_id", None)
        if not subject:
            return True
        seen = uow.deliveries.record(
            "subject",
            f"{event.tool}:{subject}",
            event_type=delivery.event_type,
            issue_key=delivery.issue_key,
            body=None,
            received_at=delivery.received_at,
        )
        return seen is not None

    def _commands(self, delivery: Delivery, event: Event | Ignored) -> list[Any] | Ignored:
        if isinstance(event, Ignored):
            return event
        tool = self.tools.get(delivery.source)
        if tool is None:
            return Ignored(f"no {delivery.source} mapping is configured")
        return tool.translate(event, delivery.delivery_id)

    def handle(self, tool: str, command: Any) -> str:
        """Run one command in its own transaction (jobs and the dispatcher use this)."""
        with UnitOfWork(self.database) as uow:
            uow.audit.lock()
            outcome = services.handle(uow, command, self.tools[tool].ctx)
            uow.commit()
        return outcome


# Tool name -> the module whose `build(settings, mapping, gateway)` makes its ToolRuntime.
RUNTIMES: dict[str, str] = {"jira": "connector.jira.runtime", "servicenow": "connector.servicenow.runtime"}


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock = system_clock,
    gateways: dict[str, Any] | None = None,
    upgrade: bool = True,
) -> Connector:
    settings = settings or load_settings()
    database = database or Database.from_settings(settings)
    if upgrade:
        database.upgrade()
    tools: dict[str, ToolRuntime] = {}
    for path in settings.mapping_files:
        mapping = load_mapping(path)
        module = RUNTIMES.get(mapping.tool)
        if module is None:
            log.warning("mapping-tool-not-available", extra={"mapping": str(path), "tool": mapping.tool})
            continue
        build = importlib.import_module(module).build
        tools[mapping.tool] = build(settings, mapping, (gateways or {}).get(mapping.tool))
    return Connector(settings, database, tools, clock)
