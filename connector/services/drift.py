"""The drift use case: run each configured tool's doctor checks; a failing check is logged, audited and
alerted to Security and the Engineering Leads, once per day per problem (the jobs process runs it daily
and at start, `jobs/drift.py`).

Each tool's adapter says how a problem is alerted besides the log line and the audit entry
(`drift_actions`): ServiceNow by the mapping's `drift` event, which the installed notification mails to
the groups; Jira, which has no notification that is not about an issue, by nothing more than the
`ecm_drift_problems` figure in the job log. `ecm doctor` fails on the same checks.

A check the tool could not answer (429, 5xx, a timeout) is not drift: the doctor is run again after a
pause, a few times, and what still could not be checked is logged and audited as `drift-cannot-check`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connector.errors import ConnectorError
from connector.install_plan import Check
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime

if TYPE_CHECKING:
    from connector.bootstrap import Connector

log = logging.getLogger("jobs.drift")  # the job's own log name, kept for existing log searches
ACTOR = "ecm-connector"
RETRY_PAUSES = (2.0, 10.0, 30.0)  # seconds before each new attempt while the tool's answers are transient


Doctor = Callable[..., list[Check]]  # (mapping, gateway, *, settings) -> checks


@dataclass(frozen=True)
class DriftReport:
    problems: int  # failing checks
    unchecked: int  # checks the tool could not answer (429, 5xx, a timeout), after the retries


def detect_drift(
    connector: Connector,
    doctors: Mapping[str, Doctor] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> DriftReport:
    """Run every tool's doctor (or the one `doctors` names for it); alert each failing check once a day."""
    problems = unchecked = 0
    for name, tool in connector.tools.items():
        doctor = (doctors or {}).get(name) or tool.adapter.doctor
        checks = _checked(lambda d=doctor, t=tool: _doctor(d, t, connector), sleep)
        failing = [check for check in checks if not check.ok and not check.transient]
        cannot = [check for check in checks if not check.ok and check.transient]
        problems += len(failing)
        unchecked += len(cannot)
        _alert(connector, tool, failing)
        _cannot_check(connector, tool, cannot)
    return DriftReport(problems, unchecked)


def _doctor(doctor: Doctor, tool: ToolRuntime, connector: Connector) -> list[Check]:
    try:
        return doctor(tool.mapping, tool.gateway, settings=getattr(connector, "settings", None))
    except ConnectorError as error:
        return [Check("doctor", False, str(error), transient=bool(getattr(error, "retryable", False)))]


def _checked(run_doctor: Callable[[], list[Check]], sleep: Callable[[float], None]) -> list[Check]:
    """The doctor's checks; run again (after a pause) while the tool's answers were transient (429, 5xx,
    a timeout): what is still transient after the last attempt could not be checked, it is not drift."""
    checks = run_doctor()
    for pause in RETRY_PAUSES:
        if not any(check.transient for check in checks):
            break
        sleep(pause)
        again = {check.name: check for check in run_doctor()}
        checks = [again.get(check.name, check) if check.transient else check for check in checks]
    return checks


def _cannot_check(connector: Connector, tool: ToolRuntime, cannot: list[Check]) -> None:
    """Logged and audited (once a day per check) as what it is: the tool did not answer."""
    if not cannot:
        return
    now = connector.clock()
    day = tool.ctx.calendar.local(now).date().isoformat()
    with UnitOfWork(connector.database) as uow:
        for check in cannot:
            log.warning(
                "drift-cannot-check", extra={"tool": tool.name, "check": check.name, "detail": check.detail}
            )
            if not uow.markers.first("drift", f"unchecked:{tool.name}:{check.name}:{day}"[:128], at=now):
                continue
            uow.audit.append(
                actor=ACTOR,
                action="drift-cannot-check",
                change_key=None,
                tool=tool.name,
                data={"check": check.name, "detail": check.detail, "day": day},
                at=now,
            )
        uow.commit()


def _alert(connector: Connector, tool: ToolRuntime, failing: list[Check]) -> None:
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
                uow.outbox.enqueue(tool.name, None, action, f"drift:{marker}", now=now)
        uow.commit()
