"""The ServiceNow runtime: gateway, directory, tool context, translator and actions wired from a mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.config import Settings
from connector.mapping import Mapping as MappingFile
from connector.tools import ToolAdapter, ToolContext, ToolRuntime, recipients_by_kind

if TYPE_CHECKING:
    from connector.servicenow.gateway import ServiceNowGateway


def build(
    adapter: ToolAdapter[ServiceNowGateway],
    settings: Settings,
    mapping: MappingFile,
    gateway: ServiceNowGateway | None,
) -> ToolRuntime[ServiceNowGateway]:
    from connector.directory import CachedDirectory
    from connector.servicenow.actions import ServiceNowActions
    from connector.servicenow.gateway import gateway_from_settings
    from connector.servicenow.installer import GATE_FIELD
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

    directory = CachedDirectory(
        members, mapping.groups.leads, mapping.groups.security, describe=describe, background=True
    )
    statuses = {stage: value for value, stage in section.states.items()}
    ctx = ToolContext(
        tool="servicenow",
        calendar=mapping.calendar.build(),
        policy=mapping.policy(),
        directory=directory,
        account=lambda: mapping.groups.connector_account or gateway.user,
        statuses=statuses,
        group_names={"leads": mapping.groups.leads, "security": mapping.groups.security},
        recipients_by_kind=recipients_by_kind(mapping),
        create_postmortem_on=section.create_postmortem_on,
        command_words=mapping.commands.words(),
        requests_approvals=adapter.requests_approvals,
        gate_field=GATE_FIELD,
        gate_documented_by="close_code",
    )
    group_names: dict[str, str | None] = {}

    def group_name(sys_id: str) -> str | None:
        """The group of an approval's `group`: a group approval (sysapproval_group) → its group."""
        if sys_id not in group_names:
            asked = gateway.find_one("sysapproval_group", f"sys_id={sys_id}")
            group = asked.get("assignment_group") if asked else ""
            found = gateway.find_one("sys_user_group", f"sys_id={group}") if group else None
            group_names[sys_id] = found.get("name") if found else None
        return group_names[sys_id]

    translator = ServiceNowTranslator(
        ctx, section, lambda sys_id: gateway.user_names([sys_id]).get(sys_id), group_name, gateway.url
    )
    actions = ServiceNowActions(gateway, section, bypass=mapping.deploys.bypass if mapping.deploys else None)
    return ToolRuntime("servicenow", mapping, ctx, translator, actions, gateway, adapter)
