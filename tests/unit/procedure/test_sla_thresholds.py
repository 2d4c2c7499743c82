"""R10 thresholds from the pure core: reminders before the deadline, breach at it, escalations after."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from connector.procedure.calendar import BusinessCalendar
from connector.procedure.sla import ReminderPoint, due_thresholds, escalations_passed

NY = ZoneInfo("America/New_York")
CAL = BusinessCalendar(NY)
POINTS = (ReminderPoint(business_days=1), ReminderPoint(hours=4))
DUE = datetime(2026, 12, 4, 23, 59, 59, tzinfo=NY)  # Friday


def names(now: datetime) -> list[str]:
    return [t.name for t in due_thresholds(DUE, now, CAL, POINTS)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 3, 23, 0, tzinfo=NY), []),
        (datetime(2026, 12, 4, 0, 0, tzinfo=NY), ["reminder:1bd"]),  # 1 business day before: Thu 23:59:59
        (datetime(2026, 12, 4, 20, 0, tzinfo=NY), ["reminder:4h"]),
        (datetime(2026, 12, 5, 0, 0, tzinfo=NY), ["breach"]),
        (datetime(2026, 12, 6, 12, 0, tzinfo=NY), ["breach"]),  # the weekend does not escalate
        (datetime(2026, 12, 8, 0, 0, tzinfo=NY), ["breach", "escalation:1"]),  # Monday has ended
        (datetime(2026, 12, 9, 0, 0, tzinfo=NY), ["breach", "escalation:2"]),
    ],
)
def test_thresholds_come_in_order_over_a_weekend(now, expected):
    assert names(now) == expected


def test_a_deadline_that_passed_unseen_gets_its_breach_not_the_stale_reminders():
    assert names(datetime(2026, 12, 10, 9, 0, tzinfo=NY)) == ["breach", "escalation:3"]


def test_escalation_can_be_switched_off():
    now = datetime(2026, 12, 9, 0, 0, tzinfo=NY)
    assert [t.name for t in due_thresholds(DUE, now, CAL, POINTS, escalate=False)] == ["breach"]


def test_escalations_count_only_business_days_that_ended():
    assert escalations_passed(CAL, DUE, datetime(2026, 12, 7, 23, 0, tzinfo=NY)) == 0
    assert escalations_passed(CAL, DUE, datetime(2026, 12, 8, 0, 0, tzinfo=NY)) == 1
