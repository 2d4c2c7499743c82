"""The demo's one notion of now, shared by the sandbox and the connector.

It runs at the pace of real time from the moment it is made and can be moved forward (never back), so
the SLA part of the demo can live through business days in seconds while every timestamp the sandbox
writes (issue created and updated, comments, notifications, ServiceNow's sys_created_on) and every
time the connector records (audit entries, outbox rows, deliveries, alerts) agree with each other.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class DemoClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._ticks = time.monotonic()
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._ticks) + self._offset

    def advance_to(self, moment: datetime) -> datetime:
        """Move now to `moment` when it is later; the clock never goes back. Returns the new now."""
        with self._lock:
            now = self._now()
            if moment > now:
                self._offset += moment - now
            return self._now()
