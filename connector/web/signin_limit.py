"""The dashboard's sign-in attempt limit: after `LIMIT` refused tokens from one client within `WINDOW`,
further attempts from it answer 429 with Retry-After until the oldest of them leaves the window.

The sign-in form takes only the admin token (there is no user name), so a client is the account the
form signs into and the address the request came from (`request.remote_addr`: behind a proxy, give the
service the client address through the proxy's own set-up). Failures are rows in the database, so the
limit holds across web workers and processes; a successful sign-in clears the client's failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.store.db import Database
from connector.store.signins import SignInFailures

LIMIT = 5
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInLimit:
    database: Database
    limit: int = LIMIT
    window: timedelta = WINDOW

    def retry_after(self, client: str, now: datetime) -> int | None:
        """Seconds to wait before this client may try again; None while it may try now."""
        count, oldest = SignInFailures(self.database).since(client, now - self.window)
        if count < self.limit or oldest is None:
            return None
        return max(1, int((oldest + self.window - now).total_seconds()) + 1)

    def failed(self, client: str, now: datetime) -> None:
        SignInFailures(self.database).add(client, now, forget_until=now - self.window)

    def succeeded(self, client: str) -> None:
        SignInFailures(self.database).clear(client)
