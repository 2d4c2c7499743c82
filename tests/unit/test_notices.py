"""The words people read: deadlines in the calendar's zone, with UTC beside them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connector.services import notices

NY = ZoneInfo("America/New_York")
DUE = datetime(2026, 12, 4, 23, 59, 59, tzinfo=NY)


def test_a_reminder_names_the_deadline_in_the_calendars_zone_with_utc_beside():
    notice = notices.reminder("EMG-3", DUE, ("post-mortem",), "1 business day")
    assert notice.subject.endswith("due Fri 04 Dec 2026 23:59 EST (2026-12-05 04:59 UTC)")


def test_a_breach_and_its_escalation_say_the_same_deadline_the_same_way():
    first, later = notices.breach("EMG-3", DUE, ("PR link",)), notices.breach("EMG-3", DUE, ("PR link",), 2)
    when = "Fri 04 Dec 2026 23:59 EST (2026-12-05 04:59 UTC)"
    assert when in first.subject and when in first.body and "escalation 2" in later.subject
    assert when in later.body


def test_a_deadline_already_in_utc_is_not_said_twice():
    notice = notices.unconfirmed_verbal("EMG-3", "Sara Security", DUE.astimezone(UTC))
    assert "by Sat 05 Dec 2026 04:59 UTC (" in notice.body
