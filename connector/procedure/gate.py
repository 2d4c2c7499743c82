"""The gate: may a change enter a stage now? Asked by a pipeline before it deploys, and by the connector
before it opens a guarded transition in the tool.

The answer is the one the webhook judging gives for a transition to that stage at that moment
(`rules.blocking`, which `rules.check_transition` decides by): the same checks, in the same order, with
the same messages. The rules judge
facts, not the mover, so nobody's identity is needed to ask.
"""

from __future__ import annotations

from datetime import datetime

from connector.procedure import rules
from connector.procedure.model import Change, Stage, Violation
from connector.procedure.policy import Policy

GATE_STAGES: tuple[Stage, ...] = (Stage.APPROVED, Stage.DEPLOYED, Stage.CLOSED)
"""The steps a pipeline or a tool's own workflow asks about: leaving approval, deploying, closing."""


def blocking(change: Change, to: Stage, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """What stands between `change` and `to` now; empty when the step is allowed (`rules.blocking`)."""
    return tuple(rules.blocking(change, Stage(to), now, policy))


def open_stages(change: Change, now: datetime, policy: Policy) -> frozenset[Stage]:
    """The gate stages `change` may enter now (the connector mirrors these into the tool's gate field)."""
    return frozenset(stage for stage in GATE_STAGES if not blocking(change, stage, now, policy))
