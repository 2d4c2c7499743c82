"""Who was who: an identity's display name and e-mail as the tool gave them when a fact was recorded.

remember(session, "jira", "5b10ac8d82e05b22cc7d4ef5", "Lena Lead", "lena@example.com", at)
names = as_of(session, "jira", {"5b10ac8d82e05b22cc7d4ef5"}, closed_at)   # identity -> Person
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store.tables import PersonRow


@dataclass(frozen=True)
class Person:
    identity: str
    display_name: str
    email: str | None

    def describe(self) -> str:
        """ "Lena Lead <lena@example.com> (5b10ac8d…)": who, then the account id the facts carry."""
        email = f" <{self.email}>" if self.email else ""
        if self.display_name == self.identity and not email:
            return self.identity
        return f"{self.display_name}{email} ({self.identity})"

    def as_json(self) -> dict[str, str | None]:
        return {"display_name": self.display_name, "email": self.email}


def remember(session: Session, tool: str, identity: str, name: str, email: str | None, at: datetime) -> None:
    """Add a row unless the newest one for this identity already says the same."""
    if not identity:
        return
    newest = session.execute(
        select(PersonRow.display_name, PersonRow.email)
        .where(PersonRow.tool == tool, PersonRow.identity == identity)
        .order_by(PersonRow.id.desc())
        .limit(1)
    ).first()
    if newest is not None and tuple(newest) == (name[:256], email):
        return
    session.add(PersonRow(tool=tool, identity=identity, display_name=name[:256], email=email, recorded_at=at))


def as_of(
    session: Session, tool: str, identities: Iterable[str], moment: datetime | None
) -> dict[str, Person]:
    """Each identity as it was last recorded up to `moment` (or its first record, if all are later)."""
    wanted = sorted({i for i in identities if i})
    if not wanted:
        return {}
    rows = session.scalars(
        select(PersonRow).where(PersonRow.tool == tool, PersonRow.identity.in_(wanted)).order_by(PersonRow.id)
    )
    found: dict[str, Person] = {}
    for row in rows:
        if row.identity not in found or moment is None or row.recorded_at <= moment:
            found[row.identity] = Person(row.identity, row.display_name, row.email)
    return found


def latest(session: Session, identities: Iterable[str]) -> dict[str, Person]:
    """Each identity as it was last recorded, whatever the tool (for lists across tools)."""
    wanted = sorted({i for i in identities if i})
    if not wanted:
        return {}
    rows = session.scalars(select(PersonRow).where(PersonRow.identity.in_(wanted)).order_by(PersonRow.id))
    return {row.identity: Person(row.identity, row.display_name, row.email) for row in rows}
