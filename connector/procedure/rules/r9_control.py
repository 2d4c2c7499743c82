"""R9 (all steps): a transition that breaks the procedure is blocked where the tool can block it, else
reverted with a comment naming the missing items and the step. Here: the moves that are no step of
the procedure at all, and whether the control held over a change's life."""

from __future__ import annotations

from collections.abc import Iterable

from connector.procedure.model import TERMINAL_STAGES, Change, Stage, Violation
from connector.procedure.rules.base import HELD, VIOLATED, Rule, RuleStatus, name
from connector.procedure.rules.r2_approvals import DECIDING_STAGES
from connector.procedure.stages import ORDER, STEP, is_forward

RULE = Rule("R9", 0, "a transition that breaks the procedure is blocked or reverted")
"""Step 0: R9 applies to every step; each violation carries the step of the stage it aimed at."""
BEFORE_DEPLOY = frozenset(ORDER[: ORDER.index(Stage.DEPLOYED)])
REQUIRED: dict = {}


def out_of_procedure(change: Change, to: Stage) -> tuple[Violation, ...]:
    """Moving `change` to `to` is no step of the procedure: out of a terminal stage, cancelling what
    was deployed, rejecting what no longer awaits approval, or going back."""
    if to is change.stage:
        return ()
    if change.stage in TERMINAL_STAGES:
        message = f"The change is {name(change.stage)}; nothing follows that in the procedure."
    elif to is Stage.CANCELLED:
        if change.stage in BEFORE_DEPLOY:
            return ()
        message = "The change is already deployed and cannot be cancelled; finish the post-mortem."
    elif to is Stage.REJECTED:
        if change.stage in DECIDING_STAGES:
            return ()
        message = f"Only a change awaiting approval can be rejected; it is {name(change.stage)}."
    elif not is_forward(change.stage, to):
        message = f"Moving from {name(change.stage)} back to {name(to)} is not a step of the procedure."
    else:
        return ()
    return (RULE.violation(message, step=STEP[to]),)


def verdict(caught: Iterable[Violation], stood: Iterable[Violation]) -> RuleStatus:
    """Held while every attempt that broke the procedure was blocked or reverted (those are listed as
    its exceptions); violated by one that stood (a revert that could not be made)."""
    caught, stood = list(caught), list(stood)
    if not caught and not stood:
        return NONE_BROKE

    def rules(violations: list[Violation]) -> str:
        return ", ".join(dict.fromkeys(v.rule for v in violations))

    if stood:
        return RuleStatus(RULE.id, VIOLATED, f"{_attempts(len(stood))} stood: {rules(stood)}")
    were = "was" if len(caught) == 1 else "were"
    return RuleStatus(
        RULE.id,
        HELD,
        f"the control worked: {_attempts(len(caught))} {were} blocked or reverted ({rules(caught)}); "
        "listed as exceptions",
    )


def _attempts(count: int) -> str:
    return f"{count} attempt{'' if count == 1 else 's'} that broke the procedure"


NONE_BROKE = RuleStatus(RULE.id, HELD, "no transition broke the procedure")
