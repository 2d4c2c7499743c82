"""A directory of people read from the tool and cached for a while (group membership changes rarely;
a minute of staleness is accepted, and the audit entry records the identity either way)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from connector.errors import ConnectorError
from connector.procedure.model import Groups

Member = tuple[str, str, str | None]  # (identity, display name, email)
RETRY_STALE_AFTER = 5.0  # seconds before trying again when the tool failed to answer

log = logging.getLogger("connector.directory")


class CachedDirectory:
    def __init__(
        self,
        members_of: Callable[[str], Iterable[Member]],
        leads_group: str,
        security_group: str,
        *,
        lookup: Callable[[str], Member | None] | None = None,
        describe: Callable[[str], Member | None] | None = None,
        ttl: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._members_of, self._lookup, self._describe = members_of, lookup, describe
        self._group_names = (leads_group, security_group)
        self._ttl, self._monotonic = ttl, monotonic
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._groups = Groups()
        self._people: dict[str, Member] = {}

    def _refresh(self) -> None:
        with self._lock:
            if self._loaded_at is not None and self._monotonic() - self._loaded_at < self._ttl:
                return
            try:
                leads = list(self._members_of(self._group_names[0]))
                security = list(self._members_of(self._group_names[1]))
            except ConnectorError:
                if self._loaded_at is None:
                    raise  # nothing known yet: the caller fails and the delivery is retried
                log.warning("directory-stale", extra={"groups": list(self._group_names)})
                self._loaded_at = self._monotonic() - self._ttl + RETRY_STALE_AFTER
                return
            self._groups = Groups(
                leads=frozenset(m[0] for m in leads), security=frozenset(m[0] for m in security)
            )
            self._people.update({m[0]: m for m in (*leads, *security)})
            self._loaded_at = self._monotonic()

    def groups(self) -> Groups:
        self._refresh()
        return self._groups

    def resolve(self, reference: str) -> str | None:
        self._refresh()
        wanted = reference.strip().lstrip("@").casefold()
        for identity, name, email in self._people.values():
            local = (email or "").split("@")[0].casefold()
            if wanted in (identity.casefold(), name.casefold(), (email or "").casefold(), local):
                return identity
        found = self._lookup(reference.strip().lstrip("@")) if self._lookup else None
        if found is not None:
            self._people[found[0]] = found
            return found[0]
        return None

    def display(self, user: str) -> str:
        """The person's display name; the identity itself when the tool cannot tell."""
        return self.person(user)[1]

    def person(self, user: str) -> Member:
        """(identity, display name, e-mail) as the tool tells it; the identity alone when it cannot."""
        person = self._people.get(user)
        if person is None and self._describe is not None:
            try:
                person = self._describe(user)
            except Exception:  # noqa: BLE001 - a name is a courtesy; the identity still stands
                person = None
            self._people[user] = person or (user, user, None)
        return person or (user, user, None)
