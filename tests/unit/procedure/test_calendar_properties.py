"""Properties of every post-mortem deadline, on several real calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mapping.calendar import build_calendar

CALENDARS = [
    build_calendar("America/New_York", "US", None, ()),
    build_calendar("Europe/Berlin", "DE", "BY", ()),
    build_calendar("Asia/Kolkata", "IN", None, ()),
    build_calendar("Pacific/Auckland", "NZ", None, ()),
]
deploys = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), deployed_at=deploys, business_days=st.integers(1, 15))
def test_deadline_is_a_business_day_exactly_n_business_days_after_the_deploy_day(
    calendar, deployed_at, business_days
):
    deadline = calendar.deadline(deployed_at, business_days)
    deploy_day, due_day = deployed_at.astimezone(calendar.tz).date(), deadline.date()

    assert calendar.is_business_day(due_day)
    assert due_day > deploy_day
    between = (deploy_day + timedelta(days=n) for n in range(1, (due_day - deploy_day).days + 1))
    assert sum(calendar.is_business_day(d) for d in between) == business_days
    assert deadline.time().isoformat() == "23:59:59"
    assert deadline.astimezone(UTC).astimezone(calendar.tz).utcoffset() == deadline.utcoffset()
    assert calendar.business_time_left(deadline, deployed_at) > timedelta()
