"""Audit retention: entries are kept at least six years (HIPAA 45 CFR 164.316(b)(2)(i)), by default.

The connector never deletes audit entries itself: a hash chain with its head cut off no longer
verifies from the genesis. `retention_report` tells what the configured period covers and which
entries are past it, to be exported (`ecm audit export`) and archived by the records owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from connector.store.audit import extent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MIN_YEARS = 6


class RetentionTooShort(ValueError):
    """A retention period below the minimum without the explicit override."""


def checked_years(years: int, *, allow_short: bool = False) -> int:
    if years < 1:
        raise RetentionTooShort(f"audit retention must be at least 1 year, not {years}")
    if years < MIN_YEARS and not allow_short:
        raise RetentionTooShort(
            f"audit retention of {years} years is below the {MIN_YEARS} years required for HIPAA and SOC 2 "
            "evidence; pass --allow-short-retention if your records policy really allows it"
        )
    return years


def horizon(now: datetime, years: int) -> datetime:
    """The moment `years` calendar years before `now` (29 February falls back to 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


@dataclass(frozen=True)
class RetentionReport:
    years: int
    horizon: datetime
    total: int
    oldest: datetime | None
    past_horizon: int


def retention_report(session: Session, years: int, now: datetime) -> RetentionReport:
    limit = horizon(now, years)
    total, oldest, past = extent(session, limit)
    return RetentionReport(years, limit, total, oldest, past)
