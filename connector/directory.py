"""A directory of people read from the tool and cached for a while (group membership changes rarely;
a minute of staleness is accepted, and the audit entry records the identity either way).

Handling a webhook never waits for the tool (with `background`): a person's display name not known yet
is asked by a thread of its own, and a text written meanwhile names the person by a reference
(`connector.outbox.person_ref`) that the outbox dispatcher replaces with the name when it performs the
action (`name_of`, which may ask the tool: a 429 there is retried like any other)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from connector.errors import ApiError, ConnectorError
from connector.outbox import person_ref
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
        self._asking: set[str] = set()  # identities a background thread is to describe
        self._describing: threading.Thread | None = None

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
        """The person's display name. With `background`, while it is not known: a reference the outbox
        dispatcher replaces with the name (the tool is asked meanwhile by a thread, never by the caller);
        else the tool is asked now, and the identity itself stands in when it cannot tell."""
        person = self.person(user)
        if person[1] == user and self._background and user not in self._people:
            return person_ref(user)
        return person[1]

    def name_of(self, user: str) -> str:
        """The person's display name, the tool asked now when it is not known (the outbox dispatcher
        naming a person in a text it sends). A transient error of the tool propagates, so the action is
        retried; a person the tool does not know is named by the identity."""
        person = self._people.get(user)
        if person is not None or self._describe is None:
            return person[1] if person is not None else user
        try:
            found = self._describe(user)
        except ApiError as error:
            if error.retryable:
                raise
            found = None
        if found is None:
            return user
        self._people[user] = found
        self._unknown.pop(user, None)
        return found[1]

    def person(self, user: str) -> Member:
        """(identity, display name, e-mail) as the tool tells it; the identity alone while it cannot (the
        tool is asked again after a few seconds: a 429 must not name someone by account id for good).
        With `background`, a person not known yet is asked by a thread and the caller does not wait."""
        person = self._people.get(user)
        failed = self._unknown.get(user)
        retry = failed is None or self._monotonic() - failed >= RETRY_STALE_AFTER
        if person is None and self._describe is not None and retry:
            if self._background:
                self._ask_later(user)
            else:
                person = self._ask(user)
        return person or (user, user, None)

    def _ask(self, user: str) -> Member | None:
        assert self._describe is not None
        try:
            person = self._describe(user)
        except Exception:  # noqa: BLE001 - a name is a courtesy; the identity still stands
            person = None
        if person is None:
            self._unknown[user] = self._monotonic()
        else:
            self._people[user] = person
            self._unknown.pop(user, None)
        return person

    def _ask_later(self, user: str) -> None:
        with self._lock:
            self._asking.add(user)
            if self._describing is None or not self._describing.is_alive():
                self._describing = threading.Thread(
                    target=self._ask_waiting, name="directory-describe", daemon=True
                )
                self._describing.start()

    def _ask_waiting(self) -> None:
        while True:
            with self._lock:
                if not self._asking:
                    self._describing = None
                    return
                user = self._asking.pop()
            self._ask(user)

    def wait_described(self, timeout: float = 10.0) -> None:
        """Wait for the people being asked in the background (tests)."""
        describing = self._describing
        if describing is not None:
            describing.join(timeout)
