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
    """With `background`, a read older than `ttl` is refreshed by a thread while the stale one is used:
    once something is known, nobody waits for the tool (a webhook answered while Jira is slow or says
    429). The first read is made by the caller (`warm` at start), as is every read without it."""

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
        background: bool = False,
    ) -> None:
        self._members_of, self._lookup, self._describe = members_of, lookup, describe
        self._group_names = (leads_group, security_group)
        self._ttl, self._monotonic, self._background = ttl, monotonic, background
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._refreshing: threading.Thread | None = None
        self._groups = Groups()
        self._people: dict[str, Member] = {}
        self._unknown: dict[str, float] = {}  # identity -> when the tool last failed to describe it

    def _refresh(self) -> None:
        with self._lock:
            if self._loaded_at is not None and self._monotonic() - self._loaded_at < self._ttl:
                return
            if self._loaded_at is not None and self._background:
                if self._refreshing is None or not self._refreshing.is_alive():
                    self._refreshing = threading.Thread(
                        target=self._read, name="directory-refresh", daemon=True
                    )
                    self._refreshing.start()
                return
        self._read()

    def _read(self) -> None:
        try:
            leads = list(self._members_of(self._group_names[0]))
            security = list(self._members_of(self._group_names[1]))
        except ConnectorError:
            with self._lock:
                if self._loaded_at is None:
                    raise  # nothing known yet: the caller fails and the delivery is retried
                log.warning("directory-stale", extra={"groups": list(self._group_names)})
                self._loaded_at = self._monotonic() - self._ttl + RETRY_STALE_AFTER
            return
        with self._lock:
            self._groups = Groups(
                leads=frozenset(m[0] for m in leads), security=frozenset(m[0] for m in security)
            )
            self._people.update({m[0]: m for m in (*leads, *security)})
            self._loaded_at = self._monotonic()

    def wait_refreshed(self, timeout: float = 10.0) -> None:
        """Wait for a refresh under way (tests)."""
        if self._refreshing is not None:
            self._refreshing.join(timeout)

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
        """(identity, display name, e-mail) as the tool tells it; the identity alone while it cannot (the
        tool is asked again after a few seconds: a 429 must not name someone by account id for good)."""
        person = self._people.get(user)
        failed = self._unknown.get(user)
        retry = failed is None or self._monotonic() - failed >= RETRY_STALE_AFTER
        if person is None and self._describe is not None and retry:
            try:
                person = self._describe(user)
            except Exception:  # noqa: BLE001 - a name is a courtesy; the identity still stands
                person = None
            if person is None:
                self._unknown[user] = self._monotonic()
            else:
                self._people[user] = person
                self._unknown.pop(user, None)
        return person or (user, user, None)
