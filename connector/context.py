"""What the service layer needs to know about one tool (`ToolContext`: calendar, policy, people) and what
the composition root builds for it (`ToolRuntime`). A fixed `Directory` for tests is in tests/fakes.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Groups, Stage
from connector.procedure.policy import Policy


class Directory(Protocol):
    """Who is who in the tool. Implementations cache; the service layer never calls the tool itself."""

    def groups(self) -> Groups: ...

    def resolve(self, reference: str) -> str | None:
        """The authenticated identity (accountId / user name) for `@name`, an email or a mention."""

    def display(self, user: str) -> str: ...


RECIPIENT_GROUPS = {"leads": "leads", "security": "security"}


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

    @cached_property
    def connector_account(self) -> str:
        return self.account()

    def groups(self) -> Groups:
        return self.directory.groups()

    def display(self, user: str) -> str:
        return self.directory.display(user)

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


@dataclass
class ToolRuntime:
    """Everything the connector uses for one tool."""

    name: str
    mapping: Any  # connector.mapping.Mapping
    ctx: ToolContext
    translate: Callable[[Any, str], Any]  # (event, origin) -> list of commands | Ignored
    actions: Any  # perform(action, payload, idempotency_key) -> dict
    gateway: Any
