"""The demo's one clock (real pace, moved forward on demand, never back) and the SLA points it visits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from connector.demo.clock import DemoClock
from connector.demo.overdue import points
from connector.procedure.calendar import BusinessCalendar

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def test_the_clock_starts_where_it_is_told_and_runs_at_real_pace():
    clock = DemoClock(START)
    first, second = clock(), clock()
    assert START <= first <= second < START + timedelta(seconds=5)


def test_advancing_moves_now_to_the_moment_and_it_keeps_running_from_there():
    clock = DemoClock(START)
    later = START + timedelta(days=3, hours=2)
    assert later <= clock.advance_to(later) < later + timedelta(seconds=5)
    assert clock() >= later


def test_the_clock_never_goes_back():
    clock = DemoClock(START)
    clock.advance_to(START + timedelta(days=2))
    before = clock()
    assert clock.advance_to(START) >= before


def test_points_are_the_reminders_the_deadline_and_the_end_of_the_next_business_day_in_order():
    calendar = BusinessCalendar(ZoneInfo("America/New_York"))
    due = calendar.end_of(date(2026, 12, 4))  # Friday 23:59:59
    reminders = SimpleNamespace(
        before=[SimpleNamespace(business_days=None, hours=4), SimpleNamespace(business_days=1, hours=None)],
        escalate_every_business_day=True,
    )
    found = points(due, calendar, reminders)
    assert [(p.kind, p.label) for p in found] == [
        ("reminder", "1 business day before the deadline"),
        ("reminder", "4 hours before the deadline"),
        ("breach", "the deadline"),
        ("escalation", "the end of the next business day"),
    ]
    local = [f"{p.at.astimezone(calendar.tz):%a %H:%M:%S}" for p in found]
    assert local == ["Thu 23:59:59", "Fri 19:59:59", "Fri 23:59:59", "Mon 23:59:59"]  # over the weekend


def test_without_escalation_the_points_end_at_the_deadline():
    calendar = BusinessCalendar(ZoneInfo("America/New_York"))
    due = calendar.end_of(date(2026, 12, 4))
    reminders = SimpleNamespace(before=[], escalate_every_business_day=False)
    assert [p.kind for p in points(due, calendar, reminders)] == ["breach"]
