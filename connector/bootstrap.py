"""Composition root: settings, database, mappings and gateways wired into one `Connector`.

Nothing is created at import time; `bootstrap()` builds everything, lazily where it needs the
network (field ids, the connector's own account, group members are read on first use and cached);
`warm()` reads them at a process's start, so webhooks are handled without calling the tool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector import jira, servicenow
from connector.config import Settings, load_settings
from connector.errors import ApiError
from connector.mapping import load_mapping
from connector.store.db import Database
from connector.tools import ToolAdapter, ToolRuntime

log = logging.getLogger("connector")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)  # compared and hashed by identity: the jobs keep state per connector
class Connector:
    """What the entrypoints share: settings, the database, one runtime per configured tool, the clock.
    The use cases are in `connector.services` (a delivery: `connector.services.deliveries.receive`)."""

    settings: Settings
    database: Database
    tools: dict[str, ToolRuntime]
    clock: Clock
    _pipelines: dict[str, Any] = field(default_factory=dict, repr=False)

    def pipeline_actions(self, name: str) -> Any | None:
        """The actions on a pipeline the connector answers (GitHub's deployment protection rules), built
        on first use from the settings; None when there is no such pipeline."""
        if name != "github":
            return None
        if name not in self._pipelines:
            from connector.github.actions import actions_from_settings

            self._pipelines[name] = actions_from_settings(self.settings)
        return self._pipelines[name]


# A mapping's tool -> its adapter, which builds the runtime, reads history, installs and checks.
ADAPTERS: dict[str, ToolAdapter[Any]] = {
    adapter.name: adapter for adapter in (jira.ADAPTER, servicenow.ADAPTER)
}


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock = system_clock,
    gateways: dict[str, Any] | None = None,
    upgrade: bool = True,
) -> Connector:
    settings = settings or load_settings()
    database = database or Database.from_settings(settings)
    if upgrade:
        database.upgrade()
    tools: dict[str, ToolRuntime] = {}
    for path in settings.mapping_files:
        mapping = load_mapping(path)
        adapter = ADAPTERS.get(mapping.tool)
        if adapter is None:
            log.warning("mapping-tool-not-available", extra={"mapping": str(path), "tool": mapping.tool})
            continue
        tools[mapping.tool] = adapter.runtime(settings, mapping, (gateways or {}).get(mapping.tool))
    return Connector(settings, database, tools, clock)


def warm(connector: Connector, *, attempts: int = 8, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Each tool's `ToolRuntime.warm`, retried while the tool answers 429 or 5xx (waits of 0.5 s doubling
    to 8 s). False when a tool still could not be read: its first webhooks read it then, and fail with
    a 5xx the tool retries, as before."""
    ready = True
    for name, tool in connector.tools.items():
        for attempt in range(attempts):
            try:
                tool.warm()
                break
            except ApiError as error:
                if not error.retryable or attempt == attempts - 1:
                    log.warning("tool-not-warmed", extra={"tool": name, "error": str(error)[:300]})
                    ready = False
                    break
                sleep(max(min(0.5 * 2**attempt, 8.0), error.retry_after or 0.0))
    return ready
