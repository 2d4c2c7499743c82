"""`ecm doctor` for ServiceNow: can the connector work with this instance, and is its configuration intact?

Each check reads only; a failing one says how to fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.errors import ApiError, ConnectorError
from connector.install_plan import Check
from connector.mapping import Mapping
from connector.servicenow.installer import (
    QUEUE_TABLE,
    SECRET_PROPERTY,
    URL_PROPERTY,
    Desired,
    desired_records,
)

if TYPE_CHECKING:  # pragma: no cover
    from connector.config import Settings
    from connector.servicenow.gateway import ServiceNowGateway, SnRecord

INSTALL = "run `ecm install --mapping FILE`"
# admin, or for running without it: itil (change requests, tasks) with approval_admin (the approvals the
# connector requests for the approver groups). The Table API role only counts where its ACL was activated,
# so it is shown but not required; rest_service is its older name.
ENOUGH_ROLES = ({"admin"}, {"itil", "approval_admin"})
SHOWN_ROLES = {
    "admin",
    "security_admin",
    "itil",
    "approval_admin",
    "snc_platform_rest_api_access",
    "rest_service",
}
WHERE = {  # table: where an admin finds it in ServiceNow
    "sys_script": "System Definition > Business Rules",
    "sys_properties": "System Properties (sys_properties.list)",
    "sysevent_register": "System Policy > Events > Registry",
    "sysevent_email_action": "System Notification > Email > Notifications",
    "cmn_schedule": "System Scheduler > Schedules",
    "sysauto_script": "System Definition > Scheduled Jobs",
    "sys_db_object": "System Definition > Tables",
    "sys_dictionary": "System Definition > Dictionary",
    "contract_sla": "Service Level Management > SLA Definitions",
    "sys_security_acl": "System Security > Access Control (ACL)",
}


def doctor(mapping: Mapping, gateway: ServiceNowGateway, *, settings: Settings | None = None) -> list[Check]:
    try:
        account = gateway.user_by_name(gateway.user)
    except ApiError as e:
        fix = f"check ECM_SERVICENOW_URL ({gateway.url}), ECM_SERVICENOW_USER and ECM_SERVICENOW_PASSWORD"
        return [Check("connection", False, str(e), fix, transient=e.retryable)]
    checks = [Check("connection", True, f"{gateway.url} as {gateway.user}")]
    checks.append(_roles(gateway, account))
    checks += [_group(gateway, name) for name in (mapping.groups.leads, mapping.groups.security)]
    try:
        if settings is None:
            from connector.config import load_settings

            settings = load_settings()
        wanted = desired_records(mapping, settings, gateway.user)
    except ConnectorError as e:
        return [*checks, Check("configuration", False, str(e), "set what the message names, then run again")]
    checks += [_record(gateway, desired) for desired in wanted]
    return [*checks, _undelivered(gateway)]


def _roles(gateway: ServiceNowGateway, account: SnRecord | None) -> Check:
    name = f"roles of {gateway.user}"
    if account is None:
        return Check(
            name,
            False,
            "the account cannot read its own sys_user record",
            "give the account the admin role (or itil and approval_admin)",
        )
    roles = {r.strip() for r in account.get("roles").split(",") if r.strip()}
    if not roles:
        links = gateway.find("sys_user_has_role", f"user={account.sys_id}", limit=500)
        ids = ",".join(link.get("role") for link in links)
        found = gateway.find("sys_user_role", f"sys_idIN{ids}", limit=500) if ids else ()
        roles = {role.get("name") for role in found}
    if any(needed <= roles for needed in ENOUGH_ROLES):
        detail = ", ".join(sorted(roles & SHOWN_ROLES))
        note = "" if "admin" in roles else " (ecm install needs admin)"
        if "security_admin" not in roles:
            note += " (ecm install needs security_admin for the gate field's ACL, or create it by hand)"
        return Check(name, True, detail + note)
    fix = f"give {gateway.user} the admin role, or itil and approval_admin (User Administration > Users)"
    return Check(name, False, f"has {', '.join(sorted(roles)) or 'no roles'}", fix)


def _group(gateway: ServiceNowGateway, group_name: str) -> Check:
    name = f"group {group_name}"
    try:
        members = gateway.group_members(group_name)
    except ApiError as e:
        fix = f"create the group {group_name!r} (User Administration > Groups)"
        return Check(name, False, str(e), fix, transient=e.retryable)
    if not members:
        return Check(name, False, "has no members", f"add the approvers to {group_name!r}")
    return Check(name, True, f"{len(members)} members")


def _record(gateway: ServiceNowGateway, desired: Desired) -> Check:
    name = f"{desired.kind} {desired.name}"
    where = WHERE.get(desired.table, desired.table)
    found = gateway.find_one(desired.table, desired.query)
    if found is None:
        return Check(name, False, "missing", f"{INSTALL} (it creates the {desired.kind} in {where})")
    if found.get("active", "true") != "true":
        return Check(name, False, "inactive", f"activate it in {where}, or {INSTALL}")
    if desired.table == "sys_script":
        moved = [
            f
            for f in ("collection", "when", "action_insert", "action_update")
            if found.get(f) != desired.fields[f]
        ]
        if moved:
            detail = ", ".join(f"{f} is {found.get(f)!r}, expected {desired.fields[f]!r}" for f in moved)
            return Check(name, False, detail, f"{INSTALL} (it sets them back)")
    if desired.table == "sys_security_acl":
        loosened = [
            f for f in ("admin_overrides", "script") if found.get(f).strip() != desired.fields[f].strip()
        ]
        if loosened:
            detail = ", ".join(f"{f} is {found.get(f)!r}" for f in loosened)
            return Check(
                name, False, f"{detail}: others may write the gate", f"{INSTALL} (it sets them back)"
            )
    if desired.table == "sysevent_email_action" and not _has_recipients(found):
        return Check(
            name,
            False,
            "sends to nobody: neither event parm is marked as containing recipients and it has no users "
            "or groups",
            f"tick 'Event parm 1 contains recipient' and 'Event parm 2 contains recipient' under Who will "
            f"receive in {where}, or {INSTALL}",
        )
    if desired.name == URL_PROPERTY and found.get("value") != desired.fields["value"]:
        return Check(name, False, f"is {found.get('value')!r}, expected {desired.fields['value']!r}", INSTALL)
    if desired.name == SECRET_PROPERTY and not found.get("value"):
        return Check(name, False, "empty", INSTALL)
    return Check(name, True, "active" if "active" in desired.fields else "present")


def _has_recipients(notification: SnRecord) -> bool:
    return any(notification.get(f) == "true" for f in ("event_parm_1", "event_parm_2")) or any(
        notification.get(f) for f in ("recipient_users", "recipient_groups")
    )


def _undelivered(gateway: ServiceNowGateway) -> Check:
    """Notifications the instance gave up on after its last attempt (docs/servicenow-notify-contract.md)."""
    name = f"notification queue {QUEUE_TABLE}"
    try:
        failed = gateway.find(QUEUE_TABLE, "u_state=error^ORDERBYDESCsys_created_on", limit=100)
    except ApiError as e:
        return Check(name, False, str(e), INSTALL, transient=e.retryable)
    if not failed:
        return Check(name, True, "nothing undelivered")
    last = failed[0].get("u_last_status") or "no answer"
    return Check(
        name,
        False,
        f"{len(failed)}{'+' if len(failed) == 100 else ''} notification(s) not delivered "
        f"(last answer: {last})",
        f"make {URL_PROPERTY} reachable from the instance, then set u_state=ready on them in "
        f"{QUEUE_TABLE}.list (the resend job delivers them; reconciliation catches up meanwhile)",
    )
