"""What `ecm plan` shows and `ecm doctor` reports, shared by the Jira and ServiceNow installers.

An installer compares what a mapping needs with what the tool has and returns a `Plan`: one
`PlanItem` per configuration object, with the action `install` would take. Installers never delete,
so there is no "delete" action. `doctor` returns `Check`s; a failing check says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["create", "update", "unchanged", "manual"]
ACTIONS: tuple[Action, ...] = ("create", "update", "unchanged", "manual")
SECRET_PLACEHOLDER = "(secret)"  # noqa: S105 - shown instead of a secret value


@dataclass(frozen=True)
class PlanItem:
    """One configuration object: its kind ("business rule"), name and what install will do."""

    kind: str
    name: str
    action: Action
    detail: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown plan action {self.action!r}; expected one of {', '.join(ACTIONS)}")

    def render(self) -> str:
        line = f"{self.action}  {self.kind}  {self.name}"
        return f"{line} — {self.detail}" if self.detail else line


@dataclass(frozen=True)
class Plan:
    """Everything `install` would do, in the order it would do it."""

    target: str
    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    @property
    def changes(self) -> tuple[PlanItem, ...]:
        """Items install would create or update."""
        return tuple(item for item in self.items if item.action in ("create", "update"))

    @property
    def manual(self) -> tuple[PlanItem, ...]:
        """Items an admin has to do by hand (install writes instructions for them)."""
        return tuple(item for item in self.items if item.action == "manual")

    def count(self, action: Action) -> int:
        return sum(1 for item in self.items if item.action == action)

    def render(self) -> str:
        """Plan as text, one line per item and a summary: `create  business rule  ECM Connector: …`."""
        lines = [item.render() for item in self.items]
        summary = ", ".join(f"{self.count(action)} to {action}" for action in ("create", "update"))
        lines.append(
            f"{self.target}: {summary}, {self.count('unchanged')} unchanged, {self.count('manual')} manual"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class Check:
    """One doctor check; `fix` tells the admin what to do when `ok` is false. `transient`: it could not
    be checked, the tool answering 429, 5xx or not in time (not a configuration problem)."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""
    transient: bool = False

    def render(self) -> str:
        mark = "ok  " if self.ok else ("????" if self.transient else "FAIL")
        line = f"{mark}  {self.name}" + (f": {self.detail}" if self.detail else "")
        return line if self.ok or not self.fix else f"{line}\n      fix: {self.fix}"
