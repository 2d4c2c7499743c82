"""The ports between the connector and one tool (Jira, ServiceNow).

`ToolAdapter` is what each tool package exports as `ADAPTER` (`connector.jira.ADAPTER`,
`connector.servicenow.ADAPTER`): it builds the tool's runtime from settings, mapping and gateway, and
gives the jobs and the command line the tool's history (reconciliation), alert actions, installer and
doctor. `ToolRuntime` is what the composition root builds for one configured tool; `ToolContext` is
what the service layer needs to know about it (calendar, policy, people). A fixed `Directory` for
tests is in tests/fakes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Groups, Stage
from connector.procedure.policy import Policy

if TYPE_CHECKING:
    from connector.commands import Command
    from connector.config import Settings
    from connector.inbound.events import Delivery, Event, Ignored
    from connector.install_plan import Check, Plan, PlanItem
    from connector.mapping import Mapping
    from connector.outbox import Action, Target
    from connector.services.sla import Alert


class Directory(Protocol):
    """Who is who in the tool. Implementations cache; the service layer never calls the tool itself."""

    def groups(self) -> Groups: ...

    def resolve(self, reference: str) -> str | None:
        """The authenticated identity (accountId / user name) for `@name`, an email or a mention."""

    def display(self, user: str) -> str: ...


RECIPIENT_GROUPS = {"leads": "leads", "security": "security"}


def recipients_by_kind(mapping: Mapping) -> dict[str, tuple[str, ...]]:
    """Alert kind -> who it goes to, from the mapping's `recipients` (and `deploys.alert` for a bypass)."""
    kinds = {k: tuple(str(r) for r in v) for k, v in mapping.recipients.model_dump().items()}
    kinds["bypass"] = (
        tuple(str(r) for r in mapping.deploys.alert) if mapping.deploys else ("leads", "security")
    )
    return kinds


@dataclass
class ToolContext:
    tool: str  # "jira" | "servicenow"
    calendar: BusinessCalendar
    policy: Policy
    directory: Directory
    account: Callable[[], str]  # the connector's own identity in the tool (looked up once, lazily)
    statuses: dict[Stage, str]  # stage -> Jira status name / ServiceNow state value
    group_names: dict[str, str]  # "leads" / "security" -> the tool's group name
    recipients_by_kind: dict[str, tuple[str, ...]]  # alert kind -> ("assignee", "engineer", "leads", ...)
    create_postmortem_on: Stage = Stage.DEPLOYED
    command_words: dict[str, str] | None = None
    requests_approvals: bool = False  # the connector asks both groups on entering awaiting approval
    gate_field: str | None = None  # the tool's connector-owned field listing the steps allowed now
    gate_documented_by: str | None = None  # a field the closing update itself may fill (close code)
    gate_names_engineer: bool = False  # the engineer is written beside the gate (approval refused her)
    performs_on_request: bool = False  # guarded steps are the connector's to take, on /deploy, /close

    @cached_property
    def connector_account(self) -> str:
        return self.account()

    def groups(self) -> Groups:
        return self.directory.groups()

    def display(self, user: str) -> str:
        """The person's name for a text the connector writes; never waits for the tool (a reference the
        dispatcher fills in while the name is not known, `connector.outbox.person_ref`)."""
        return self.directory.display(user)

    def name_of(self, user: str) -> str:
        """The person's name, the tool asked now when it is not known (the outbox dispatcher, the demo)."""
        ask = getattr(self.directory, "name_of", None)
        return ask(user) if ask is not None else self.directory.display(user)

    def person(self, user: str) -> tuple[str, str, str | None]:
        """(identity, display name, e-mail) of `user`, for the record of who did what."""
        lookup = getattr(self.directory, "person", None)
        return lookup(user) if lookup is not None else (user, self.display(user), None)

    def status_of(self, stage: Stage) -> str:
        return self.statuses[stage]

    def stage_of(self, status: str) -> Stage | None:
        wanted = status.casefold()
        return next((s for s, name in self.statuses.items() if name.casefold() == wanted), None)

    def recipients(
        self, kind: str, *, engineer: str, assignee: str | None, approver: str | None = None
    ) -> tuple[list[str], list[str]]:
        """(users, groups) to alert for `kind`, from the mapping's recipients section."""
        people = {"engineer": engineer, "assignee": assignee or engineer, "approver": approver}
        users: list[str] = []
        groups: list[str] = []
        for who in self.recipients_by_kind.get(kind, ("leads", "security")):
            if who in RECIPIENT_GROUPS:
                groups.append(self.group_names[who])
            elif people.get(who) and people[who] not in users:
                users.append(people[who])
        return users, groups


G = TypeVar("G")
"""A tool's own gateway: `connector.jira.gateway.JiraGateway` or `connector.servicenow.gateway.
ServiceNowGateway` (what the adapter's `gateway()` builds and its runtime, installer and doctor use)."""


@dataclass
class ToolRuntime(Generic[G]):
    """Everything the connector uses for one tool."""

    name: str
    mapping: Mapping
    ctx: ToolContext
    translate: Callable[[Event, str], list[Command] | Ignored]  # (event, origin) -> commands or Ignored
    actions: ToolActions
    gateway: G
    adapter: ToolAdapter[G]  # the tool's adapter, which built this runtime: history, alerts, doctor

    def warm(self) -> None:
        """Read now what handling a webhook needs from the tool (the connector's own account, the
        approver groups and their people, the custom field ids), so that a webhook is handled without
        calling the tool (kept fresh in the background after that). The tool's errors propagate."""
        self.ctx.groups()
        _ = self.ctx.connector_account
        field_ids = getattr(self.translate, "field_ids", None)
        if field_ids is not None:
            len(field_ids)


History = Iterator[tuple["Delivery", "Event | Ignored"]]


class ToolActions(Protocol):
    """Performs outbox actions on the tool; each is idempotent under its key (it looks before it writes)."""

    def perform(self, action: Action, target: Target, idempotency_key: str) -> dict[str, Any]: ...


@runtime_checkable
class ToolAdapter(Protocol[G]):
    """One tool as the connector uses it. Building a gateway or a runtime imports the client library
    (`jira`, `pysnow`); nothing else does."""

    name: str  # the mapping's tool: "jira" | "servicenow"
    requests_approvals: bool  # the connector asks the approver groups itself (ServiceNow approvals)
    blocks_natively: frozenset[Stage]  # entering these, the installed configuration refuses by itself

    def gateway(self, settings: Settings) -> G:
        """The tool's gateway from the connection settings; ConfigError names what is missing."""

    def runtime(self, settings: Settings, mapping: Mapping, gateway: G | None = None) -> ToolRuntime[G]:
        """Gateway, directory, context, translator (event -> commands) and actions, from a mapping."""

    def history(self, tool: ToolRuntime[G], since: datetime, now: datetime) -> History:
        """What the tool changed since `since`, as the typed events its webhooks carry (reconciliation)."""

    def change_history(self, tool: ToolRuntime[G], key: str, now: datetime) -> History:
        """One change's whole history as those events (the catch-up before a revert is judged again)."""

    def alert_actions(
        self, tool: ToolRuntime[G], alert: Alert, users: list[str], groups: list[str]
    ) -> list[Action]:
        """The outbox actions that deliver an SLA alert to `users` and `groups` in this tool."""

    def drift_actions(self, tool: ToolRuntime[G], check: Check) -> list[Action]:
        """The outbox actions that alert a failing doctor check (none where the tool has no means)."""

    def plan(self, mapping: Mapping, gateway: G, *, settings: Settings | None = None) -> Plan: ...

    def install(
        self,
        mapping: Mapping,
        gateway: G,
        *,
        settings: Settings | None = None,
        progress: Callable[[PlanItem], None] = ...,
        **options: Any,
    ) -> Plan: ...

    def doctor(self, mapping: Mapping, gateway: G, *, settings: Settings | None = None) -> list[Check]: ...
