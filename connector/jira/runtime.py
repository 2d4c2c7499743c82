"""The Jira runtime: gateway, directory, tool context, translator and actions wired from a mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from connector.config import Settings
from connector.mapping import Mapping as MappingFile
from connector.procedure.model import Stage
from connector.tools import ToolAdapter, ToolContext, ToolRuntime, recipients_by_kind

if TYPE_CHECKING:
    from connector.jira.gateway import JiraGateway


def build(
    adapter: ToolAdapter[JiraGateway], settings: Settings, mapping: MappingFile, gateway: JiraGateway | None
) -> ToolRuntime[JiraGateway]:
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

    directory = CachedDirectory(
        members, mapping.groups.leads, mapping.groups.security, describe=describe, background=True
    )
    statuses = {Stage(stage): name for stage, name in section.statuses.model_dump().items()}
    flavor = getattr(gateway, "flavor", settings.jira_flavor.value)
    ctx = ToolContext(
        tool="jira",
        calendar=mapping.calendar.build(),
        policy=mapping.policy(),
        directory=directory,
        account=lambda: mapping.groups.connector_account or gateway.myself().id,
        statuses=statuses,
        group_names={"leads": mapping.groups.leads, "security": mapping.groups.security},
        recipients_by_kind=recipients_by_kind(mapping),
        create_postmortem_on=section.create_postmortem_on,
        command_words=mapping.commands.words(),
        requests_approvals=adapter.requests_approvals,
        # Cloud's installed Deploy and Close check the gate field; Data Center's guarded transitions are
        # the connector's own (performed on request), so there is no field to keep.
        gate_field="gate" if flavor == "cloud" else None,
        gate_names_engineer=flavor == "cloud",
        performs_on_request=flavor == "datacenter",  # Deploy and Close are the connector's there
    )
    field_ids = LazyFieldIds(
        lambda: {f.name: f.id for f in gateway.fields()},
        {k: v["name"] for k, v in section.fields.model_dump().items()},
    )
    translator = JiraTranslator(ctx, section, field_ids, settings.jira_url or gateway.url)
    actions = JiraActions(
        gateway, section, field_ids, bypass=mapping.deploys.bypass if mapping.deploys else None
    )
    return ToolRuntime("jira", mapping, ctx, translator, actions, gateway, adapter)


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

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
