"""Fakes of the connector's protocols for the tests."""

from __future__ import annotations

from dataclasses import dataclass

from connector.procedure.model import Groups


@dataclass(frozen=True)
class StaticDirectory:
    """A fixed `connector.tools.Directory`: who leads, who is in security, and display names."""

    leads: frozenset[str] = frozenset()
    security: frozenset[str] = frozenset()
    names: tuple[tuple[str, str], ...] = ()  # (identity, display name)

    def groups(self) -> Groups:
        return Groups(leads=self.leads, security=self.security)

    def resolve(self, reference: str) -> str | None:
        wanted = reference.lstrip("@").casefold()
        for identity, name in self.names:
            if wanted in (identity.casefold(), name.casefold()):
                return identity
        return None

    def display(self, user: str) -> str:
        return dict(self.names).get(user, user)
