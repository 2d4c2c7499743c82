"""Post-mortem deadlines (R7) and reminder points (R10) on real calendars, with explicit dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connector.mapping.calendar import build_calendar
from connector.procedure.calendar import BusinessCalendar

NEW_YORK = ZoneInfo("America/New_York")
US = build_calendar("America/New_York", "US", None, ())
US_MA = build_calendar("America/New_York", "US", "MA", ())
DE = build_calendar("Europe/Berlin", "DE", None, ())
DE_BY = build_calendar("Europe/Berlin", "DE", "BY", ())


def iso(calendar: BusinessCalendar, deployed_at: str, business_days: int = 3) -> str:
    return calendar.deadline(datetime.fromisoformat(deployed_at), business_days).isoformat()


@pytest.mark.parametrize(
    ("calendar", "deployed_at", "deadline"),
    [
        # Thanksgiving Thu Nov 26 is a holiday; Fri Nov 27 is not one in the US federal calendar.
        (US, "2026-11-25T14:00:00-05:00", "2026-12-01T23:59:59-05:00"),
        # Christmas Fri Dec 25 skipped with the weekend: Thu 24, Mon 28, Tue 29.
        (US, "2026-12-23T10:00:00-05:00", "2026-12-29T23:59:59-05:00"),
        (US, "2026-12-24T10:00:00-05:00", "2026-12-30T23:59:59-05:00"),
        # Year end: Thu Dec 31, New Year's Day Fri Jan 1 skipped, Mon Jan 4, Tue Jan 5.
        (US, "2026-12-30T16:00:00-05:00", "2027-01-05T23:59:59-05:00"),
        # Late evening in New York is already the next day in UTC: the local deploy day counts.
        (US, "2026-11-24T03:00:00+00:00", "2026-11-27T23:59:59-05:00"),
        # Weekend deploy: Saturday, so Monday is day 1.
        (US, "2026-06-13T11:00:00-04:00", "2026-06-17T23:59:59-04:00"),
        # Weekend deploy before Veterans Day (Wed Nov 11): Mon 9, Tue 10, Thu 12.
        (US, "2026-11-07T11:00:00-05:00", "2026-11-12T23:59:59-05:00"),
        # US daylight saving starts Sun Mar 8 and ends Sun Nov 1: the deadline has the new offset.
        (US, "2026-03-06T15:00:00-05:00", "2026-03-11T23:59:59-04:00"),
        (US, "2026-10-29T10:00:00-04:00", "2026-11-03T23:59:59-05:00"),
        # Europe/Berlin switches on Sun Mar 29 and Sun Oct 25.
        (DE, "2026-03-26T10:00:00+01:00", "2026-03-31T23:59:59+02:00"),
        (DE, "2026-10-22T10:00:00+02:00", "2026-10-27T23:59:59+01:00"),
        # Subdivisions: Patriots' Day (Mon Apr 20) only in Massachusetts,
        # Corpus Christi (Thu Jun 4) in Bavaria.
        (US, "2026-04-17T12:00:00-04:00", "2026-04-22T23:59:59-04:00"),
        (US_MA, "2026-04-17T12:00:00-04:00", "2026-04-23T23:59:59-04:00"),
        (DE, "2026-06-03T12:00:00+02:00", "2026-06-08T23:59:59+02:00"),
        (DE_BY, "2026-06-03T12:00:00+02:00", "2026-06-09T23:59:59+02:00"),
    ],
)
def test_post_mortem_is_due_three_business_days_after_the_deploy_day(calendar, deployed_at, deadline):
    assert iso(calendar, deployed_at) == deadline


def test_extra_closures_from_the_mapping_are_skipped():
    closed = build_calendar("America/New_York", "US", None, [date(2026, 6, 10)])
    assert iso(closed, "2026-06-08T09:00:00-04:00") == "2026-06-12T23:59:59-04:00"
    assert iso(US, "2026-06-08T09:00:00-04:00") == "2026-06-11T23:59:59-04:00"
    # Juneteenth (Fri Jun 19) and a closure on Wed Jun 17 together: Tue 16, Thu 18, Mon 22.
    closed_again = build_calendar("America/New_York", "US", None, [date(2026, 6, 17)])
    assert iso(closed_again, "2026-06-15T09:00:00-04:00") == "2026-06-22T23:59:59-04:00"


def test_business_day_count_comes_from_the_caller():
    assert iso(US, "2026-11-25T14:00:00-05:00", 1) == "2026-11-27T23:59:59-05:00"
    assert iso(US, "2026-11-25T14:00:00-05:00", 5) == "2026-12-03T23:59:59-05:00"


def test_deadline_refuses_a_time_without_offset_and_a_count_below_one():
    with pytest.raises(ValueError, match="no UTC offset"):
        US.deadline(datetime(2026, 11, 25, 14))
    with pytest.raises(ValueError, match="at least 1"):
        US.deadline(datetime(2026, 11, 25, 14, tzinfo=NEW_YORK), 0)


def test_custom_weekend_is_respected():
    friday_saturday_off = BusinessCalendar(ZoneInfo("Asia/Jerusalem"), weekend=frozenset({4, 5}))
    deadline = friday_saturday_off.deadline(datetime.fromisoformat("2026-06-10T12:00:00+03:00"), 3)
    assert deadline.isoformat() == "2026-06-15T23:59:59+03:00"  # Thu 11, Sun 14, Mon 15


DEADLINE = datetime.fromisoformat("2026-12-01T23:59:59-05:00")  # Tuesday after Thanksgiving


@pytest.mark.parametrize(
    ("business_days", "hours", "moment"),
    [
        (1, 0, "2026-11-30T23:59:59-05:00"),  # reminder 1 business day before
        (0, 4, "2026-12-01T19:59:59-05:00"),  # reminder 4 hours before
        (2, 0, "2026-11-27T23:59:59-05:00"),  # over the weekend
        (3, 0, "2026-11-25T23:59:59-05:00"),  # over Thanksgiving
        (-1, 0, "2026-12-02T23:59:59-05:00"),  # escalation 1 business day after
        (-4, 0, "2026-12-07T23:59:59-05:00"),  # escalation over a weekend
    ],
)
def test_shift_gives_reminder_and_escalation_points_in_business_days(business_days, hours, moment):
    assert US.shift(DEADLINE, business_days, hours).isoformat() == moment


def test_shift_keeps_wall_clock_time_across_daylight_saving():
    deadline = datetime.fromisoformat("2026-03-11T23:59:59-04:00")
    assert US.shift(deadline, 3).isoformat() == "2026-03-06T23:59:59-05:00"
    assert US.shift(datetime.fromisoformat("2026-03-08T05:00:00-04:00"), 0, 2.5).isoformat() == (
        "2026-03-08T03:30:00-04:00"  # 02:30 does not exist that night: moved past the gap
    )


@pytest.mark.parametrize(
    ("now", "left"),
    [
        ("2026-11-27T12:00:00-05:00", timedelta(days=2, hours=11, minutes=59, seconds=59)),
        ("2026-11-28T12:00:00-05:00", timedelta(days=1, hours=23, minutes=59, seconds=59)),
        ("2026-12-01T23:59:59-05:00", timedelta()),
        ("2026-12-02T06:00:00-05:00", -timedelta(hours=6, seconds=1)),
        ("2026-12-05T10:00:00-05:00", -timedelta(days=3, seconds=1)),
    ],
)
def test_business_time_left_counts_business_days_only(now, left):
    assert US.business_time_left(DEADLINE, datetime.fromisoformat(now)) == left


def test_business_time_left_counts_the_short_day_of_a_daylight_saving_switch_as_23_hours():
    every_day = BusinessCalendar(ZoneInfo("Europe/Berlin"), weekend=frozenset())
    start = datetime.fromisoformat("2026-03-29T00:00:00+01:00")
    end = datetime.fromisoformat("2026-03-30T00:00:00+02:00")
    assert every_day.business_time_left(end, start) == timedelta(hours=23)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Mars/Base", "US", None), "unknown time zone 'Mars/Base'"),
        (("UTC", "XX", None), "unknown country 'XX'"),
        (("UTC", "US", "ZZ"), "unknown subdivision 'ZZ' for country 'US'"),
    ],
)
def test_unknown_calendar_names_are_refused_clearly(args, message):
    with pytest.raises(ValueError) as raised:
        build_calendar(*args, ())
    assert str(raised.value) == message


def test_calendar_names_are_matched_without_regard_to_case():
    assert not build_calendar("America/New_York", "us", "ma", ()).is_business_day(date(2026, 4, 20))
