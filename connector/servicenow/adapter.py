"""ServiceNow as the connector uses it: the one `ToolAdapter` this package exports
(`connector.servicenow.ADAPTER`).

The client library is imported only when a gateway is built (`connector/servicenow/gateway.py`), so
the command line starts without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.install_plan import Check, Plan, PlanItem
from connector.mapping import Mapping
from connector.mapping.common import AlertKind
from connector.outbox import Action, Comment, Notify
from connector.procedure.model import Stage
from connector.servicenow import runtime
from connector.tools import History, ToolRuntime

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.servicenow.gateway import ServiceNowGateway
    from connector.services.sla import Alert


class ServiceNowAdapter:
    name = "servicenow"
    requests_approvals = True  # on entering Authorize the connector asks both groups (sysapproval_approver)
    # The installed before-update rules refuse Scheduled, Implement and Closed while the connector's
    # gate field does not list the step (connector/servicenow/installer.py, GATE_RULES).
    blocks_natively = frozenset({Stage.APPROVED, Stage.DEPLOYED, Stage.CLOSED})

    def gateway(self, settings: Settings) -> ServiceNowGateway:
        from connector.servicenow.gateway import gateway_from_settings

        return gateway_from_settings(settings)

    def runtime(
        self, settings: Settings, mapping: Mapping, gateway: ServiceNowGateway | None = None
    ) -> ToolRuntime[ServiceNowGateway]:
        return runtime.build(self, settings, mapping, gateway)

    def history(self, tool: ToolRuntime[ServiceNowGateway], since: datetime, now: datetime) -> History:
        from connector.servicenow.history import servicenow_deliveries

        return servicenow_deliveries(tool, since, now)

    def change_history(self, tool: ToolRuntime[ServiceNowGateway], key: str, now: datetime) -> History:
        from connector.servicenow.history import servicenow_one_change

        return servicenow_one_change(tool, key, now)

    def alert_actions(
        self, tool: ToolRuntime[ServiceNowGateway], alert: Alert, users: list[str], groups: list[str]
    ) -> list[Action]:
        """The mapped `sysevent` of the kind, whose installed notification mails the recipients (the
        notify action turns them into user sys_ids when it fires it: a notification reads no names from
        an event parm), and a work note on the change saying what was sent."""
        notice = alert.notice
        return [
            Notify(alert.kind, notice.subject, notice.body, tuple(users), tuple(groups)),
            Comment(f"{notice.subject}\n\n{notice.body}"),
        ]

    def drift_actions(self, tool: ToolRuntime[ServiceNowGateway], check: Check) -> list[Action]:
        """The drift alert to the mapping's drift recipients: the notify action fires the mapping's
        `drift` event with their user sys_ids in its parms, which the installed notification reads as
        its recipients (the check itself is in the audit log and `ecm doctor`)."""
        _, groups = tool.ctx.recipients(AlertKind.DRIFT.value, engineer="", assignee=None)
        subject = f"ECM Connector configuration changed: {check.name}"
        return [
            Notify(AlertKind.DRIFT.value, subject, f"{check.detail} | fix: {check.fix}", (), tuple(groups))
        ]

    def plan(self, mapping: Mapping, gateway: ServiceNowGateway, *, settings: Settings | None = None) -> Plan:
        from connector.servicenow import installer

        return installer.plan(mapping, gateway, settings=settings)

    def install(
        self,
        mapping: Mapping,
        gateway: ServiceNowGateway,
        *,
        settings: Settings | None = None,
        progress: Callable[[PlanItem], None] = lambda _: None,
        **options: Any,
    ) -> Plan:
        from connector.servicenow import installer

        return installer.install(mapping, gateway, settings=settings, progress=progress, **options)

    def doctor(
        self, mapping: Mapping, gateway: ServiceNowGateway, *, settings: Settings | None = None
    ) -> list[Check]:
        from connector.servicenow.doctor import doctor

        return doctor(mapping, gateway, settings=settings)


ADAPTER = ServiceNowAdapter()
