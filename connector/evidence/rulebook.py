"""Which policy and business calendar judge a change of each tool, and the clock they are judged at."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from connector.mapping import default_policy
from connector.procedure.calendar import BusinessCalendar
from connector.procedure.model import Change, Groups, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules import RuleStatus, evaluate

if TYPE_CHECKING:
    from connector.bootstrap import Connector
    from connector.config import Settings

CONTROLS = ("SOC 2 CC8.1", "HIPAA 45 CFR 164.312(b)")
NO_GROUPS = Groups()  # membership was judged when each approval and review was recorded


@dataclass(frozen=True)
class ToolRules:
    policy: Policy = field(default_factory=Policy)
    calendar: BusinessCalendar = field(default_factory=lambda: BusinessCalendar(UTC))
    groups: Callable[[], Groups] = Groups

    def __post_init__(self) -> None:
        """The rules' words show times in the zone of the calendar that judges them."""
        if self.policy.zone != self.calendar.tz:
            object.__setattr__(self, "policy", replace(self.policy, zone=self.calendar.tz))


@dataclass(frozen=True)
class RuleBook:
    """Policy and calendar per tool; a tool without a mapping is judged by its default policy in UTC."""

    tools: Mapping[str, ToolRules] = field(default_factory=dict)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def for_tool(self, tool: str) -> ToolRules:
        return self.tools.get(tool) or _unmapped(tool)

    def judge(
        self,
        change: Change,
        now: datetime,
        recorded: tuple[Violation, ...],
        stood: tuple[Violation, ...] = (),
        *,
        explain: bool = True,
    ) -> dict[str, RuleStatus]:
        rules = self.for_tool(change.tool)
        return evaluate(change, NO_GROUPS, now, rules.policy, recorded, stood, explain=explain)

    @classmethod
    def from_connector(cls, connector: Connector) -> RuleBook:
        """From a bootstrapped `Connector` (its tools' contexts) or anything with `settings`/`database`."""
        tools = {
            name: ToolRules(runtime.ctx.policy, runtime.ctx.calendar, runtime.ctx.groups)
            for name, runtime in (getattr(connector, "tools", None) or {}).items()
        }
        clock = getattr(connector, "clock", None) or (lambda: datetime.now(UTC))
        return cls(tools, clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> RuleBook:
        """From the mapping files alone (no tool is contacted): what the command line uses."""
        from connector.mapping import load_mapping

        files = settings.mapping_files
        tools = {}
        for path in files() if callable(files) else files:
            mapping = load_mapping(path)
            tools[mapping.tool] = ToolRules(mapping.policy(), mapping.calendar.build())
        return cls(tools)


@functools.cache
def _unmapped(tool: str) -> ToolRules:
    """The rules of a tool without a mapping, built once (the export asks for every change)."""
    return ToolRules(default_policy(tool))
