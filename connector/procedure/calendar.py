"""The organisation's business-day calendar: time zone, weekend, public holidays, closures.

Pure: holidays and closures come in as date containers (the `holidays` package builds them in
`connector.mapping.calendar`). All results are aware datetimes in the calendar's zone, so the offset of a
deadline is the one in force on that day (daylight saving time is handled by `zoneinfo`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

END_OF_DAY = time(23, 59, 59)
ONE_DAY = timedelta(days=1)


class BusinessCalendar:
    def __init__(
        self,
        tz: tzinfo,
        holidays: Container[date] = frozenset(),
        closures: Iterable[date] = (),
        weekend: frozenset[int] = frozenset({5, 6}),
    ) -> None:
        if len(weekend) >= 7:
            raise ValueError("a calendar needs at least one working weekday")
        self.tz = tz
        self.holidays = holidays
        self.closures = frozenset(closures)
        self.weekend = frozenset(weekend)

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(tz={self.tz!s}, closures={len(self.closures)}, weekend={sorted(self.weekend)})"
        )

    def is_business_day(self, d: date) -> bool:
        return d.weekday() not in self.weekend and d not in self.holidays and d not in self.closures

    def business_days_after(self, d: date) -> Iterator[date]:
        """The business days after `d` (never `d` itself), in order."""
        while True:
            d += ONE_DAY
            if self.is_business_day(d):
                yield d

    def business_days_before(self, d: date) -> Iterator[date]:
        """The business days before `d` (never `d` itself), latest first."""
        while True:
            d -= ONE_DAY
            if self.is_business_day(d):
                yield d

    def add_business_days(self, d: date, n: int) -> date:
        """The `n`-th business day after `d` (`n` < 0: before; 0: `d` itself)."""
        days = self.business_days_after(d) if n > 0 else self.business_days_before(d)
        for _ in range(abs(n)):
            d = next(days)
        return d

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{moment.isoformat()} has no UTC offset; a time zone is required")
        return moment.astimezone(self.tz)

    def end_of(self, d: date) -> datetime:
        return datetime.combine(d, END_OF_DAY, tzinfo=self.tz)

    def deadline(self, deployed_at: datetime, business_days: int = 3) -> datetime:
        """R7: 23:59:59 local on the `business_days`-th business day after the deploy day.

        The deploy day never counts, whatever the hour; a deploy on a weekend or holiday counts
        from the next business day (deploy Saturday: Monday is day 1).
        """
        if business_days < 1:
            raise ValueError(f"business days must be at least 1, not {business_days}")
        deploy_day = self.local(deployed_at).date()
        return self.end_of(self.add_business_days(deploy_day, business_days))

    def shift(self, deadline: datetime, business_days: int = 0, hours: float = 0) -> datetime:
        """The moment `business_days` business days and then `hours` hours before `deadline`.

        Negative values go after it. Business days move the local date over business days only,
        keeping the wall-clock time ("1 business day before" a Tuesday 23:59:59 deadline is Monday
        23:59:59). Hours are then taken off the local wall clock ("4 hours before" 23:59:59 is
        19:59:59 even on a daylight saving day); a time that does not exist locally is moved forward
        past the gap. Used for reminders and for escalations ("each business day after").
        """
        here = self.local(deadline)
        day = self.add_business_days(here.date(), -business_days)
        wall = datetime.combine(day, here.timetz().replace(tzinfo=None)) - timedelta(hours=hours)
        return wall.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def business_time_left(self, deadline: datetime, now: datetime) -> timedelta:
        """Time from `now` to `deadline` counting business days only (negative when overdue)."""
        start, end = self.local(now), self.local(deadline)
        if start > end:
            return -self._business_time(end, start)
        return self._business_time(start, end)

    def _business_time(self, start: datetime, end: datetime) -> timedelta:
        # Arithmetic in UTC: aware datetimes sharing one tzinfo subtract as wall clocks in Python.
        total = timedelta()
        first, last = start.astimezone(UTC), end.astimezone(UTC)
        day = start.date()
        while day <= end.date():
            if self.is_business_day(day):
                opens = datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC)
                closes = datetime.combine(day + ONE_DAY, time(), tzinfo=self.tz).astimezone(UTC)
                total += max(timedelta(), min(last, closes) - max(first, opens))
            day += ONE_DAY
        return total
