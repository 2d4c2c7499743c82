"""The drift job (daily and at start): run each configured tool's doctor checks; a failing check is
logged, audited and alerted to Security and the Engineering Leads, once per day per problem.

Each tool's adapter says how a problem is alerted besides the log line and the audit entry
(`drift_actions`): ServiceNow by the mapping's `drift` event, which the installed notification mails to
the groups; Jira, which has no notification that is not about an issue, by nothing more than the
`ecm_drift_problems` figure in the job log. `ecm doctor` fails on the same checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from connector.errors import ConnectorError
from connector.install_plan import Check
from connector.outbox import enqueue
from connector.store.uow import UnitOfWork

log = logging.getLogger("jobs.drift")
ACTOR = "ecm-connector"


def run(connector: Any, doctors: dict[str, Callable[..., list[Check]]] | None = None) -> str:
    problems = 0
    for name, tool in connector.tools.items():
        doctor = (doctors or {}).get(name) or tool.adapter.doctor
        try:
            checks = doctor(tool.mapping, tool.gateway, settings=getattr(connector, "settings", None))
        except ConnectorError as error:
            checks = [Check("doctor", False, str(error))]
        failing = [check for check in checks if not check.ok]
        problems += len(failing)
        _alert(connector, tool, failing)
    return f"ecm_drift_problems={problems}"


def _alert(connector: Any, tool: Any, failing: list[Check]) -> None:
    now = connector.clock()
    day = tool.ctx.calendar.local(now).date().isoformat()
    _, groups = tool.ctx.recipients("drift", engineer="", assignee=None)
    with UnitOfWork(connector.database) as uow:
        for check in failing:
            log.error(
                "drift-detected", extra={"tool": tool.name, "check": check.name, "detail": check.detail}
            )
            marker = f"{tool.name}:{check.name}:{day}"[:128]  # once per day per problem
            if not uow.markers.first("drift", marker, at=now, detail=check.detail[:2000]):
                continue
            uow.audit.append(
                actor=ACTOR,
                action="drift-detected",
                change_key=None,
                tool=tool.name,
                data={
                    "check": check.name,
                    "detail": check.detail,
                    "fix": check.fix,
                    "day": day,
                    "to": groups,
                },
                at=now,
            )
            for action in tool.adapter.drift_actions(tool, check):
                enqueue(uow, tool.name, None, action, f"drift:{marker}", now=now)
        uow.commit()
