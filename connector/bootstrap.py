"""Composition root: settings, database, mappings and gateways wired into one `Connector`.

Nothing is created at import time; `bootstrap()` builds everything, lazily where it needs the
network (field ids, the connector's own account, group members are read on first use and cached).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector import services
from connector.config import Settings, load_settings
from connector.context import ToolContext
from connector.inbound.events import Delivery, Event, Ignored
from connector.mapping import Mapping as MappingFile
from connector.mapping import load_mapping
from connector.procedure.model import Stage
from connector.store.db import Database
from connector.store.uow import UnitOfWork

log = logging.getLogger("connector")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class ToolRuntime:
    """Everything the connector uses for one tool."""

    name: str
    mapping: MappingFile
    ctx: ToolContext
    translate: Callable[[Event, str], list[Any] | Ignored]
    actions: Any  # perform(action, payload, idempotency_key) -> dict
    gateway: Any


class Connector:
    def __init__(self, settings: Settings, database: Database, tools: dict[str, ToolRuntime], clock: Clock):
        self.settings, self.database, self.tools, self.clock = settings, database, tools, clock

    def receive(self, delivery: Delivery, event: Event | Ignored) -> str:
        """Record the delivery and process it in one transaction: "handled", "ignored" or "duplicate"."""
        with UnitOfWork(self.database) as uow:
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
            commands = self._commands(delivery, event)
            if isinstance(commands, Ignored):
                uow.deliveries.mark(row, "ignored", commands.reason)
                uow.commit()
                return "ignored"
            tool = self.tools[delivery.source]
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
            outcome = services.handle(uow, command, self.tools[tool].ctx)
            uow.commit()
        return outcome


def _jira_runtime(settings: Settings, mapping: MappingFile, gateway: Any | None) -> ToolRuntime:
    from connector.directory import CachedDirectory
    from connector.jira.actions import JiraActions
    from connector.jira.gateway import JiraGateway
    from connector.jira.translate import JiraTranslator

    section = mapping.jira
    assert section is not None
    if gateway is None:
        if not settings.jira_url or settings.jira_token is None:
            raise ValueError("a Jira mapping is configured but ECM_JIRA_URL / ECM_JIRA_TOKEN are not set")
        gateway = JiraGateway(
            settings.jira_url,
            flavor=settings.jira_flavor.value,
            user=settings.jira_user,
            token=settings.jira_token.get_secret_value(),
        )

    def members(group: str) -> list[tuple[str, str, str | None]]:
        return [(u.id, u.display_name, u.email) for u in gateway.group_members(group)]

    def describe(user: str) -> tuple[str, str, str | None]:
        found = gateway.user(user)
        return (found.id or user, found.display_name or user, found.email)

    directory = CachedDirectory(members, mapping.groups.leads, mapping.groups.security, describe=describe)
    statuses = {Stage(stage): name for stage, name in section.statuses.model_dump().items()}
    ctx = ToolContext(
        tool="jira",
        calendar=mapping.calendar.build(),
        policy=mapping.policy(),
        directory=directory,
        account=lambda: mapping.groups.connector_account or gateway.myself().id,
        statuses=statuses,
        group_names={"leads": mapping.groups.leads, "security": mapping.groups.security},
        recipients_by_kind={k: tuple(str(r) for r in v) for k, v in mapping.recipients.model_dump().items()},
        create_postmortem_on=section.create_postmortem_on,
        command_words=mapping.commands.words(),
    )
    field_ids = LazyFieldIds(
        lambda: {f.name: f.id for f in gateway.fields()},
        {k: v["name"] for k, v in section.fields.model_dump().items()},
    )
    translator = JiraTranslator(ctx, section, field_ids, settings.jira_url or gateway.url)
    return ToolRuntime("jira", mapping, ctx, translator, JiraActions(gateway, section, field_ids), gateway)


class LazyFieldIds(Mapping[str, str]):
    """Logical field name -> the tool's field id, read from the tool on first use."""

    def __init__(self, fetch: Callable[[], dict[str, str]], names: dict[str, str]) -> None:
        self._fetch, self._names = fetch, names
        self._ids: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._ids is None:
            by_name = self._fetch()
            self._ids = {logical: by_name[name] for logical, name in self._names.items() if name in by_name}
        return self._ids

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def __iter__(self) -> Any:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _servicenow_runtime(settings: Settings, mapping: MappingFile, gateway: Any | None) -> ToolRuntime:
    from connector.directory import CachedDirectory
    from connector.servicenow.actions import ServiceNowActions
    from connector.servicenow.gateway import gateway_from_settings
    from connector.servicenow.translate import ServiceNowTranslator

    section = mapping.servicenow
    assert section is not None
    gateway = gateway or gateway_from_settings(settings)

    def members(group: str) -> list[tuple[str, str, str | None]]:
        names = gateway.group_members(group)
        if not names:
            return []
        people = gateway.find("sys_user", f"user_nameIN{','.join(names)}", limit=len(names))
        found = {p.get("user_name"): p for p in people}
        return [
            (name, found[name].get("name") or name, found[name].get("email") or None)
            if name in found
            else (name, name, None)
            for name in names
        ]

    def describe(user: str) -> tuple[str, str, str | None]:
        found = gateway.user_by_name(user)
        if found is None:
            return (user, user, None)
        return (user, found.get("name") or user, found.get("email") or None)

    directory = CachedDirectory(members, mapping.groups.leads, mapping.groups.security, describe=describe)
    statuses = {stage: value for value, stage in section.states.items()}
    ctx = ToolContext(
        tool="servicenow",
        calendar=mapping.calendar.build(),
        policy=mapping.policy(),
        directory=directory,
        account=lambda: mapping.groups.connector_account or gateway.user,
        statuses=statuses,
        group_names={"leads": mapping.groups.leads, "security": mapping.groups.security},
        recipients_by_kind={k: tuple(str(r) for r in v) for k, v in mapping.recipients.model_dump().items()},
        create_postmortem_on=section.create_postmortem_on,
        command_words=mapping.commands.words(),
    )
    group_names: dict[str, str | None] = {}

    def group_name(sys_id: str) -> str | None:
        if sys_id not in group_names:
            found = gateway.find_one("sys_user_group", f"sys_id={sys_id}")
            group_names[sys_id] = found.get("name") if found else None
        return group_names[sys_id]

    translator = ServiceNowTranslator(
        ctx, section, lambda sys_id: gateway.user_names([sys_id]).get(sys_id), group_name, gateway.url
    )
    return ToolRuntime("servicenow", mapping, ctx, translator, ServiceNowActions(gateway, section), gateway)


RUNTIMES: dict[str, Callable[..., ToolRuntime]] = {"jira": _jira_runtime, "servicenow": _servicenow_runtime}


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
        build = RUNTIMES.get(mapping.tool)
        if build is None:
            log.warning("mapping-tool-not-available", extra={"mapping": str(path), "tool": mapping.tool})
            continue
        tools[mapping.tool] = build(settings, mapping, (gateways or {}).get(mapping.tool))
    return Connector(settings, database, tools, clock)
