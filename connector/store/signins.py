"""Refused sign-ins, one row each, so that a limit on them holds across web workers and processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from connector.store.db import Database
from connector.store.tables import SignInFailureRow


class SignInFailures:
    def __init__(self, database: Database) -> None:
        self.database = database

    def since(self, client: str, moment: datetime) -> tuple[int, datetime | None]:
        """How many times this client was refused after `moment`, and the oldest of them."""
        with self.database.session() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(SignInFailureRow.at)).where(
                    SignInFailureRow.client == client, SignInFailureRow.at > moment
                )
            ).one()
        return count, oldest

    def add(self, client: str, at: datetime, *, forget_until: datetime) -> None:
        """Record a refusal; the ones up to `forget_until` (of any client) are forgotten."""
        with self.database.session() as session:
            session.execute(delete(SignInFailureRow).where(SignInFailureRow.at <= forget_until))
            session.add(SignInFailureRow(client=client[:200], at=at))
            session.commit()

    def clear(self, client: str) -> None:
        with self.database.session() as session:
            session.execute(delete(SignInFailureRow).where(SignInFailureRow.client == client))
            session.commit()
