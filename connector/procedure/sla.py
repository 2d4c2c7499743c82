"""R10 as a pure function: which SLA thresholds of a post-mortem deadline have come at a moment.

Before the deadline: the latest reminder point already passed (earlier points missed meanwhile are
stale and not sent). At and after the deadline: the breach, and the latest escalation — escalation n
is due when the n-th business day after the deadline has ended. A deadline that passed unseen gets
its breach, never the reminders it missed. Standard library only; time and calendar are arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.procedure.calendar import BusinessCalendar


@dataclass(frozen=True)
class ReminderPoint:
    business_days: int = 0
    hours: float = 0.0

    def label(self, short: bool = False) -> str:
        if self.business_days:
            n = self.business_days
            return f"{n}bd" if short else f"{n} business day{'s' if n != 1 else ''}"
        hours = f"{self.hours:g}"
        return f"{hours}h" if short else f"{hours} hour{'s' if self.hours != 1 else ''}"


@dataclass(frozen=True)
class Threshold:
    kind: str  # "reminder" | "breach" | "escalation"
    name: str  # stable id of the threshold: "reminder:1bd", "breach", "escalation:2"
    label: str = ""  # for people: "1 business day"
    escalation: int = 0


def due_thresholds(
    due: datetime,
    now: datetime,
    calendar: BusinessCalendar,
    points: Sequence[ReminderPoint],
    *,
    escalate: bool = True,
) -> list[Threshold]:
    """The thresholds whose time has come at `now` (at most one reminder, or breach + latest escalation)."""
    if now < due:
        passed = [(calendar.shift(due, p.business_days, p.hours), p) for p in points]
        passed = [(moment, p) for moment, p in passed if moment <= now]
        if not passed:
            return []
        _, latest = max(passed, key=lambda pair: pair[0])
        return [Threshold("reminder", f"reminder:{latest.label(short=True)}", latest.label())]
    thresholds = [Threshold("breach", "breach")]
    n = escalations_passed(calendar, due, now) if escalate else 0
    if n:
        thresholds.append(Threshold("escalation", f"escalation:{n}", escalation=n))
    return thresholds


def escalations_passed(calendar: BusinessCalendar, due: datetime, now: datetime) -> int:
    """How many business days have ended since the deadline."""
    n = 0
    while calendar.shift(due, business_days=-(n + 1)) <= now:
        n += 1
    return n


def horizon(calendar: BusinessCalendar, points: Sequence[ReminderPoint], now: datetime) -> datetime:
    """The latest deadline that can have a reminder point at or before `now`: `hours` before it, or
    `business_days` before it (a deadline on the non-business days after that business day included)."""
    days = max((p.business_days for p in points), default=0)
    hours = max((p.hours for p in points), default=0)
    latest = now + timedelta(hours=hours)
    if days:
        following = calendar.add_business_days(calendar.local(now).date(), days + 1)
        latest = max(latest, calendar.end_of(following - timedelta(days=1)))
    return latest
