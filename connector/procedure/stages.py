"""The canonical stages of an emergency change and the transitions a workflow offers a person.

`ORDER` is the forward path of ENG-PROC-004; `cancelled` and `rejected` are side exits.
`TRANSITIONS` is what gets installed as the Jira workflow (and mirrored for ServiceNow): each
stage to its next one, cancel before anything was reviewed and deployed, reject while approval
is pending. Nothing leaves a terminal stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from connector.procedure.model import TERMINAL_STAGES, Stage

ORDER: tuple[Stage, ...] = (
    Stage.IDENTIFIED,
    Stage.AWAITING_APPROVAL,
    Stage.APPROVED,
    Stage.IN_REVIEW,
    Stage.REVIEWED,
    Stage.DEPLOYED,
    Stage.POSTMORTEM,
    Stage.CLOSED,
)
SIDE_EXITS: tuple[Stage, ...] = (Stage.CANCELLED, Stage.REJECTED)

CANCELLABLE = frozenset(
    {Stage.IDENTIFIED, Stage.AWAITING_APPROVAL, Stage.APPROVED, Stage.IN_REVIEW, Stage.REVIEWED}
)
REJECTABLE = frozenset({Stage.AWAITING_APPROVAL})


def _offered(stage: Stage) -> tuple[Stage, ...]:
    if stage in TERMINAL_STAGES:
        return ()
    following = ORDER[ORDER.index(stage) + 1 : ORDER.index(stage) + 2]
    exits = ((Stage.CANCELLED,) if stage in CANCELLABLE else ()) + (
        (Stage.REJECTED,) if stage in REJECTABLE else ()
    )
    return following + exits


TRANSITIONS: Mapping[Stage, tuple[Stage, ...]] = MappingProxyType({stage: _offered(stage) for stage in Stage})

STEP: Mapping[Stage, int] = MappingProxyType(
    {
        Stage.IDENTIFIED: 1,
        Stage.AWAITING_APPROVAL: 2,
        Stage.APPROVED: 2,
        Stage.IN_REVIEW: 3,
        Stage.REVIEWED: 3,
        Stage.DEPLOYED: 4,
        Stage.POSTMORTEM: 5,
        Stage.CLOSED: 5,
        Stage.CANCELLED: 4,  # cancelling is deciding not to deploy
        Stage.REJECTED: 2,
    }
)
"""The ENG-PROC-004 step a stage belongs to (used to name the step of an R9 violation)."""


def is_forward(a: Stage, b: Stage) -> bool:
    """True when `b` comes after `a` on the forward path (side exits are never forward)."""
    return a in ORDER and b in ORDER and ORDER.index(b) > ORDER.index(a)


def skipped(a: Stage, b: Stage) -> tuple[Stage, ...]:
    """The forward stages jumped over when moving from `a` to `b` (empty unless forward)."""
    if not is_forward(a, b):
        return ()
    return ORDER[ORDER.index(a) + 1 : ORDER.index(b)]


def passed(a: Stage, b: Stage) -> tuple[Stage, ...]:
    """The forward stages entered when moving from `a` to `b`: the skipped ones and `b` itself."""
    return (*skipped(a, b), b) if is_forward(a, b) else ()
