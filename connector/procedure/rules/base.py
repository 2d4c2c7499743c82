"""What every rule module is made of: the rule's identity, its violations, and the statuses the
evidence gives it, with the few phrasings several rules share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import NamedTuple

from connector.procedure.model import Approval, Change, Method, Role, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.stages import ORDER

ROLE_GROUP = {Role.LEAD: "Engineering Leads", Role.SECURITY: "Security Team"}


class Status(StrEnum):
    HELD = "held"
    VIOLATED = "violated"
    PENDING = "pending"


HELD, VIOLATED, PENDING = Status.HELD, Status.VIOLATED, Status.PENDING
"""The statuses as module names: on Python 3.11 a member read through its enum class (`Status.HELD`)
costs several times a global's read, and the export judges every rule of every change of a period."""


class RuleStatus(NamedTuple):
    rule: str
    status: Status
    evidence: str


@dataclass(frozen=True)
class Rule:
    """One rule of ENG-PROC-004: its id, the procedure step it enforces and its title."""

    id: str
    step: int
    title: str

    def violation(self, message: str, *missing: str, step: int | None = None) -> Violation:
        return Violation(self.id, self.step if step is None else step, message, missing)


Check = Callable[[Change, datetime, Policy], tuple[Violation, ...]]
"""A recording check: the violations of one rule in the recorded facts at a moment."""

Verdict = tuple[Status, str]
"""Where a rule stands and the evidence that shows it. A rule's `verdict(change, now, policy, explain)`
writes the evidence of a held rule only when `explain` is true: the population export needs the reasons
of what is not held and nothing else, and most changes of a period hold every rule."""


def at(moment: datetime | None, zone: tzinfo = UTC) -> str:
    """A moment as the procedure's deadlines are set, in the calendar's zone, with UTC beside it:
    "2026-12-04 23:59 EST (2026-12-05 04:59 UTC)", as the evidence packet shows deadlines; UTC alone
    when the zone is UTC, "-" for none."""
    if moment is None:
        return "-"
    utc = moment.astimezone(UTC)
    local = moment.astimezone(zone)
    in_utc = f"{utc:%Y-%m-%d %H:%M} UTC"
    if local.utcoffset() == timedelta(0) and local.tzname() == "UTC":
        return in_utc
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({in_utc})"


def name(stage: Stage) -> str:
    return stage.value.replace("_", " ")


def reached(change: Change, stage: Stage) -> bool:
    """Has the change entered `stage` (a recorded deploy counts as having been deployed)?"""
    if stage in (Stage.DEPLOYED, Stage.POSTMORTEM) and change.deployed_at is not None:
        return True
    return change.stage in ORDER and ORDER.index(change.stage) >= ORDER.index(stage)


def missing_of(violations: Iterable[Violation]) -> str:
    items = [m for v in violations for m in v.missing] or [v.message for v in violations]
    return "; ".join(items)


def open_items(change: Change, found: tuple[Violation, ...], due: Stage) -> Verdict:
    """What `found` says is missing: violated once the change has entered `due`, pending before."""
    status = VIOLATED if reached(change, due) else PENDING
    return status, ("missing: " if status is VIOLATED else "open: ") + missing_of(found)


def approval_text(a: Approval, zone: tzinfo = UTC) -> str:
    how = f"verbal via {a.channel}" if a.method is Method.VERBAL else "written"
    text = f"{a.approver} ({a.role}, {how} {at(a.granted_at, zone)}"
    if a.method is Method.VERBAL:
        text += (
            f", confirmed {at(a.confirmed_at, zone)}"
            if a.confirmed_at
            else f", confirm by {at(a.confirm_by, zone)}"
        )
    return text + f", {a.evidence})"
