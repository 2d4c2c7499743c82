"""Build the organisation's `BusinessCalendar` from the names a mapping (or `ecm deadline`) gives: IANA time
zone, holiday country/region, closures. The `holidays` package lives here, outside the pure core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from connector.procedure.calendar import BusinessCalendar


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or ValueError saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e


def public_holidays(country: str, subdivision: str | None = None) -> holidays.HolidayBase:
    """Public holidays of `country` (ISO 3166-1 alpha-2) and optional `subdivision`, all years."""
    code = (country or "").strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise ValueError(f"unknown country {country!r}")
    subdiv = None
    if subdivision:
        wanted = subdivision.strip().casefold()
        subdiv = next((s for s in supported[code] if s.casefold() == wanted), None)
        if subdiv is None:
            raise ValueError(f"unknown subdivision {subdivision!r} for country {code!r}")
    return holidays.country_holidays(code, subdiv=subdiv)


def build_calendar(
    timezone: str, country: str, subdivision: str | None = None, closures: Iterable[date] = ()
) -> BusinessCalendar:
    return BusinessCalendar(zone(timezone), public_holidays(country, subdivision), closures)
