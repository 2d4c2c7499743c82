"""Jira as the connector uses it: the one `ToolAdapter` this package exports (`connector.jira.ADAPTER`).

The client library is imported only when a gateway is built (`connector/jira/gateway.py`), so the
command line starts without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.install_plan import Check, Plan, PlanItem
from connector.jira import runtime
from connector.mapping import Mapping
from connector.outbox import Action, AddLabel, Comment, Notify
from connector.procedure.model import Stage
from connector.tools import History, ToolRuntime

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.jira.gateway import JiraGateway
    from connector.services.sla import Alert

BREACH_LABEL = "sla-breached"


class JiraAdapter:
    name = "jira"
    requests_approvals = False  # approvals are the group-restricted Approve transition and comments
    # The installed workflow refuses these by itself: Approve and Reject are open to the approver groups
    # alone, Request Approval needs the category and the impact (connector/jira/workflow.py).
    blocks_natively = frozenset({Stage.AWAITING_APPROVAL, Stage.APPROVED, Stage.REJECTED})

    def gateway(self, settings: Settings) -> JiraGateway:
        from connector.jira.gateway import gateway_from_settings

        return gateway_from_settings(settings)

    def runtime(
        self, settings: Settings, mapping: Mapping, gateway: JiraGateway | None = None
    ) -> ToolRuntime[JiraGateway]:
        return runtime.build(self, settings, mapping, gateway)

    def history(self, tool: ToolRuntime[JiraGateway], since: datetime, now: datetime) -> History:
        from connector.jira.history import jira_deliveries

        return jira_deliveries(tool, since, now)

    def change_history(self, tool: ToolRuntime[JiraGateway], key: str, now: datetime) -> History:
        from connector.jira.history import jira_one_issue

        return jira_one_issue(tool, key, now)

    def alert_actions(
        self, tool: ToolRuntime[JiraGateway], alert: Alert, users: list[str], groups: list[str]
    ) -> list[Action]:
        """Jira's notify call to the recipients, a comment on the change, and a label at the breach."""
        text = alert.notice
        actions: list[Action] = [
            Notify(alert.kind, text.subject, text.body, tuple(users), tuple(groups)),
            Comment(f"{text.subject}\n\n{text.body}"),
        ]
        if alert.kind == "breach":
            actions.append(AddLabel(BREACH_LABEL))
        return actions

    def drift_actions(self, tool: ToolRuntime[JiraGateway], check: Check) -> list[Action]:
        """None: Jira has no notification that is not about an issue. The drift job's log line, its
        audit entry and `ecm doctor` carry the problem."""
        return []

    def plan(self, mapping: Mapping, gateway: JiraGateway, *, settings: Settings | None = None) -> Plan:
        from connector.jira import installer

        return installer.plan(mapping, gateway, settings=settings)

    def install(
        self,
        mapping: Mapping,
        gateway: JiraGateway,
        *,
        settings: Settings | None = None,
        progress: Callable[[PlanItem], None] = lambda _: None,
        **options: Any,
    ) -> Plan:
        from connector.jira import installer

        return installer.install(mapping, gateway, settings=settings, progress=progress, **options)

    def doctor(
        self, mapping: Mapping, gateway: JiraGateway, *, settings: Settings | None = None
    ) -> list[Check]:
        from connector.jira.doctor import doctor

        return doctor(mapping, gateway, settings=settings)


ADAPTER = JiraAdapter()
