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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, and_, any_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from connector.outbox import Notify, RaiseEvent, enqueue
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Method, Stage
from connector.procedure.rules import retroactive_items
from connector.procedure.sla import ReminderPoint, due_thresholds, horizon
from connector.services import notices
from connector.store.facts import facts_of
from connector.store.tables import AlertRow, ApprovalRow, ChangeRow, PostMortemRow
from connector.store.uow import UnitOfWork

ACTOR = "ecm-connector"
OPEN_AFTER_DEPLOY = (Stage.DEPLOYED.value, Stage.POSTMORTEM.value)
# Written into the SQL as literals, so that PostgreSQL matches the partial index whatever plan it caches.
_OPEN_STAGES = bindparam("open_after_deploy", OPEN_AFTER_DEPLOY, expanding=True, literal_execute=True)


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


def run_sla(connector: Any, now: datetime | None = None) -> SlaReport:
    """One pass over every configured tool: send each alert whose threshold has come, once."""
    now = now or connector.clock()
    report = SlaReport()
    for tool in connector.tools.values():
        for change_id, alerts in _due_alerts(connector.database, tool, now, report):
            _send(connector.database, tool, change_id, alerts, now, report)
    return report


# --- what is due -----------------------------------------------------------------------------------


def _due_alerts(database: Any, tool: Any, now: datetime, report: SlaReport) -> Iterator[tuple[int, list]]:
    calendar, reminders = tool.ctx.calendar, tool.mapping.reminders
    with UnitOfWork(database) as uow:
        horizon = _horizon(calendar, reminders.before, now)
        found: list[tuple[int, list[Alert]]] = []
        open_ids = None
        if database.dialect == "postgresql":
            open_ids = list(uow.session.scalars(open_postmortems_due(horizon)))
        candidates = [
            row
            for query in postmortems_due(tool.name, horizon, open_ids)
            for row in uow.session.execute(query)
        ]
        sent = _sent(uow, [change.id for _, change in candidates])
        for pm, change in candidates:
            report.checked += 1
            items = retroactive_items(facts_of(change, (), (), pm), tool.ctx.policy)  # R8 reads no approval
            alerts = postmortem_alerts(change.key, pm.due_at, items, now, calendar, reminders)
            alerts = [a for a in alerts if (change.id, a.threshold) not in sent] if items else []
            if alerts:
                found.append((change.id, alerts))
        for approval, change in uow.session.execute(verbal_unconfirmed(tool.name, now)):
            report.checked += 1
            notice = notices.unconfirmed_verbal(
                change.key, tool.ctx.display(approval.approver), calendar.local(approval.confirm_by)
            )
            alert = Alert("unconfirmed_verbal", f"approval:{approval.id}", notice, approval.approver)
            found.append((change.id, [alert]))
    return iter(found)


def _sent(uow: UnitOfWork, change_ids: list[int]) -> set[tuple[int, str]]:
    """(change, threshold) already alerted: skipped without a write (the constraint still decides races)."""
    sent: set[tuple[int, str]] = set()
    for start in range(0, len(change_ids), 1000):
        chunk = change_ids[start : start + 1000]
        query = select(AlertRow.change_id, AlertRow.threshold).where(AlertRow.change_id.in_(chunk))
        sent.update((row.change_id, row.threshold) for row in uow.session.execute(query))
    return sent


def open_postmortems_due(horizon: datetime) -> Any:
    """Ids of the open post-mortems due before `horizon` (index on done_at, due_at).

    PostgreSQL is asked for them on their own: joined to their changes in one query it takes done_at and
    due_at as independent, expects thousands of rows where there are tens (open ones are due in the
    future, done ones in the past), and scans every change or starts parallel workers (bench/sla_scan.py:
    a hash join over a million changes, 600 ms, or a parallel plan, 33-39 ms, against a few ms)."""
    return select(PostMortemRow.id).where(PostMortemRow.done_at.is_(None), PostMortemRow.due_at <= horizon)


def postmortems_due(tool: str, horizon: datetime, open_ids: list[int] | None = None) -> list[Any]:
    """Open post-mortems due before `horizon` — the ones in `open_ids` when given (PostgreSQL: one array
    parameter, so the plan is made for that many), else found by a subquery — and done ones whose change
    is still open after deploy and may miss an R8 item (the partial index ix_changes_open_undocumented)."""
    if open_ids is None:
        open_pm = PostMortemRow.id.in_(open_postmortems_due(horizon))
    else:
        open_pm = PostMortemRow.id == any_(bindparam("open_ids", open_ids, type_=ARRAY(BigInteger)))
    done_but_open_change = and_(  # the predicate of ix_changes_open_undocumented, and more
        ChangeRow.stage.in_(_OPEN_STAGES),
        PostMortemRow.done_at.is_not(None),
        PostMortemRow.due_at <= horizon,
        or_(ChangeRow.pr_url.is_(None), ChangeRow.docs_url.is_(None)),
    )
    return [
        select(PostMortemRow, ChangeRow)
        .join(ChangeRow, ChangeRow.id == PostMortemRow.change_id)
        .where(ChangeRow.tool == tool, condition)
        for condition in (open_pm, done_but_open_change)
    ]


def verbal_unconfirmed(tool: str, now: datetime) -> Any:
    return (
        select(ApprovalRow, ChangeRow)
        .join(ChangeRow, ChangeRow.id == ApprovalRow.change_id)
        .where(
            ApprovalRow.confirmed_at.is_(None),
            ApprovalRow.confirm_by <= now,
            ApprovalRow.method == Method.VERBAL.value,
            ChangeRow.tool == tool,
        )
    )


def _points(reminders: Any) -> tuple[ReminderPoint, ...]:
    return tuple(ReminderPoint(p.business_days or 0, p.hours or 0) for p in reminders.before)


def _horizon(calendar: BusinessCalendar, points: tuple[Any, ...], now: datetime) -> datetime:
    return horizon(calendar, tuple(ReminderPoint(p.business_days or 0, p.hours or 0) for p in points), now)


def postmortem_alerts(
    key: str,
    due: datetime,
    items: tuple[str, ...],
    now: datetime,
    calendar: BusinessCalendar,
    reminders: Any,
) -> list[Alert]:
    """The alerts whose threshold has come (decided by the procedure core), with their words (the
    deadline in the calendar's zone, where it was set)."""
    due = calendar.local(due)
    thresholds = due_thresholds(
        due, now, calendar, _points(reminders), escalate=reminders.escalate_every_business_day
    )
    texts = {
        "reminder": lambda t: notices.reminder(key, due, items, t.label),
        "breach": lambda t: notices.breach(key, due, items),
        "escalation": lambda t: notices.breach(key, due, items, t.escalation),
    }
    return [Alert(t.kind, t.name, texts[t.kind](t)) for t in thresholds]


# --- sending, exactly once ----------------------------------------------------------------------------


def _send(database: Any, tool: Any, change_id: int, alerts: list[Alert], now: datetime, report: SlaReport):
    with UnitOfWork(database) as uow:
        change = uow.session.get(ChangeRow, change_id)
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
                enqueue(uow, tool.name, change, action, f"sla:{alert.threshold}", now=now)
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
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        return False
    return True
