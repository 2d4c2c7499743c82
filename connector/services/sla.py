"""The SLA use case (R10, R4): reminders before the post-mortem deadline, the breach alert at it, an
escalation each business day after it, and the alert for a verbal approval not confirmed in time.

Only what can be due is read, through the indexes: open post-mortems by `due_at` (done post-mortems
whose change still misses a retroactive item, by the partial index of undocumented open changes),
unconfirmed verbal approvals by `confirm_by`. Each alert is sent exactly once per threshold: its
`AlertRow` is inserted first and the unique (change, kind, threshold) constraint decides; the outbox
rows and the audit entry follow in the same transaction. A deadline that passed while the service was
down gets its breach at the next run, not the reminders it missed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from connector.mapping.common import ReminderPoint as MappedPoint
from connector.mapping.common import Reminders
from connector.outbox import Notify, RaiseEvent
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.rules import retroactive_items
from connector.procedure.sla import ReminderPoint, due_thresholds, horizon
from connector.services import notices
from connector.store.db import Database
from connector.store.facts import facts_of
from connector.store.tables import AlertRow, ChangeRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime

if TYPE_CHECKING:
    from connector.bootstrap import Connector

ACTOR = "ecm-connector"


@dataclass(frozen=True)
class Alert:
    kind: str  # reminder | breach | escalation | unconfirmed_verbal
    threshold: str  # "reminder:1bd", "breach", "escalation:2", "approval:17"
    notice: notices.Notice
    approver: str | None = None


@dataclass
class SlaReport:
    sent: dict[str, int] = field(default_factory=dict)
    checked: int = 0

    def count(self, kind: str) -> None:
        self.sent[kind] = self.sent.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def run_sla(connector: Connector, now: datetime | None = None) -> SlaReport:
    """One pass over every configured tool: send each alert whose threshold has come, once."""
    now = now or connector.clock()
    report = SlaReport()
    for tool in connector.tools.values():
        for change_id, alerts in _due_alerts(connector.database, tool, now, report):
            _send(connector.database, tool, change_id, alerts, now, report)
    return report


# --- what is due -----------------------------------------------------------------------------------


def _due_alerts(
    database: Database, tool: ToolRuntime, now: datetime, report: SlaReport
) -> Iterator[tuple[int, list[Alert]]]:
    calendar, reminders = tool.ctx.calendar, tool.mapping.reminders
    with UnitOfWork(database) as uow:
        horizon = _horizon(calendar, reminders.before, now)
        found: list[tuple[int, list[Alert]]] = []
        for pm, change, sent in uow.sla.postmortems_due(tool.name, horizon):
            report.checked += 1
            items = retroactive_items(facts_of(change, (), (), pm), tool.ctx.policy)  # R8 reads no approval
            if not items:
                continue
            alerts = postmortem_alerts(change.key, pm.due_at, items, now, calendar, reminders, sent)
            if alerts:
                found.append((change.id, alerts))
        for approval, change in uow.sla.verbal_unconfirmed(tool.name, now):
            report.checked += 1
            notice = notices.unconfirmed_verbal(
                change.key, tool.ctx.display(approval.approver), calendar.local(approval.confirm_by)
            )
            alert = Alert("unconfirmed_verbal", f"approval:{approval.id}", notice, approval.approver)
            found.append((change.id, [alert]))
    return iter(found)


def _points(reminders: Reminders) -> tuple[ReminderPoint, ...]:
    return tuple(ReminderPoint(p.business_days or 0, p.hours or 0) for p in reminders.before)


def _horizon(calendar: BusinessCalendar, points: Iterable[MappedPoint], now: datetime) -> datetime:
    return horizon(calendar, tuple(ReminderPoint(p.business_days or 0, p.hours or 0) for p in points), now)


def postmortem_alerts(
    key: str,
    due: datetime,
    items: tuple[str, ...],
    now: datetime,
    calendar: BusinessCalendar,
    reminders: Reminders,
    sent: Container[str] = frozenset(),
) -> list[Alert]:
    """The alerts whose threshold has come (decided by the procedure core) and is not among the `sent`
    ones, with their words (the deadline in the calendar's zone, where it was set)."""
    due = calendar.local(due)
    thresholds = due_thresholds(
        due, now, calendar, _points(reminders), escalate=reminders.escalate_every_business_day
    )
    texts = {
        "reminder": lambda t: notices.reminder(key, due, items, t.label),
        "breach": lambda t: notices.breach(key, due, items),
        "escalation": lambda t: notices.breach(key, due, items, t.escalation),
    }
    return [Alert(t.kind, t.name, texts[t.kind](t)) for t in thresholds if t.name not in sent]


# --- sending, exactly once ----------------------------------------------------------------------------


def _send(
    database: Database,
    tool: ToolRuntime,
    change_id: int,
    alerts: list[Alert],
    now: datetime,
    report: SlaReport,
) -> None:
    with UnitOfWork(database) as uow:
        change = uow.sla.change(change_id)
        if change is None:
            return
        for alert in alerts:
            assignee = change.postmortem.assignee if change.postmortem else None
            users, groups = tool.ctx.recipients(
                alert.kind, engineer=change.engineer, assignee=assignee, approver=alert.approver
            )
            if not _claim(uow, change, alert, users + groups, now):
                continue
            for action in tool.adapter.alert_actions(tool, alert, users, groups):
                if isinstance(action, Notify | RaiseEvent):  # raised now (ServiceNow: process_on)
                    action = dataclasses.replace(action, at=now)
                uow.outbox.enqueue(tool.name, change, action, f"sla:{alert.threshold}", now=now)
            uow.audit.append(
                actor=ACTOR,
                action=f"sla-{alert.kind}",
                change_key=change.key,
                tool=tool.name,
                data={"threshold": alert.threshold, "subject": alert.notice.subject, "to": users + groups},
                at=now,
            )
            report.count(alert.kind)
        uow.commit()


def _claim(uow: UnitOfWork, change: ChangeRow, alert: Alert, recipients: list[str], now: datetime) -> bool:
    """Insert the alert row; False when this threshold was alerted before (by this or another process)."""
    row = AlertRow(
        change_id=change.id,
        kind=alert.kind,
        threshold=alert.threshold[:64],
        at=now,
        recipients=recipients,
        subject=alert.notice.subject[:300],
    )
    return uow.sla.claim(row)
