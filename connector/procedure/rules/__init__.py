"""Rules R1-R10 of ENG-PROC-004, one module each: facts in, violations and verdicts out.

Each rule module (`r5_reviews`, ...) holds all of its rule: the checks made before something is
recorded (`on_approval`, `on_review`, ...), the recording checks a change must pass to enter a stage
(`REQUIRED`: stage -> check), and its evidence `verdict`. The gates below, which the services ask,
compose them. Time, group membership and policy are arguments; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

from connector.procedure.model import (
    ALLOWED,
    Approval,
    Change,
    Decision,
    Groups,
    Rejection,
    Review,
    Role,
    Stage,
    Violation,
)
from connector.procedure.policy import Policy
from connector.procedure.rules import (
    r1_identified,
    r2_approvals,
    r3_separation,
    r4_documented,
    r5_reviews,
    r6_deploy,
    r7_postmortem,
    r8_retroactive,
    r9_control,
    r10_deadline,
)
from connector.procedure.rules.base import HELD, PENDING, VIOLATED, Check, Rule, RuleStatus, Status
from connector.procedure.rules.r8_retroactive import retroactive_items
from connector.procedure.stages import ORDER, passed

__all__ = [
    "HELD",
    "PENDING",
    "RULES",
    "Rule",
    "RuleStatus",
    "Status",
    "VIOLATED",
    "blocking",
    "check_approval",
    "check_confirmation",
    "check_created",
    "check_rejection",
    "check_review",
    "check_transition",
    "evaluate",
    "retroactive_items",
]

MODULES = (
    r1_identified,
    r2_approvals,
    r3_separation,
    r4_documented,
    r5_reviews,
    r6_deploy,
    r7_postmortem,
    r8_retroactive,
    r9_control,
    r10_deadline,
)
RULES: Mapping[str, Rule] = MappingProxyType({m.RULE.id: m.RULE for m in MODULES})
"""Rule id -> the rule (its procedure step and title), R1 to R10."""

REQUIREMENTS: Mapping[Stage, tuple[Check, ...]] = MappingProxyType(
    {stage: tuple(m.REQUIRED[stage] for m in MODULES if stage in m.REQUIRED) for stage in ORDER}
)
"""The recording checks a change must pass to enter each forward stage, in rule order."""

BEFORE_DEPLOY_JUDGES = tuple(
    (m.RULE.id, m.verdict) for m in (r1_identified, r2_approvals, r3_separation, r4_documented, r5_reviews)
)
AFTER_DEPLOY_JUDGES = tuple((m.RULE.id, m.verdict) for m in (r7_postmortem, r8_retroactive))
"""Each rule's id and evidence verdict, in rule order, around R6 (which may reuse R1-R5's), R9 (judged
from the recorded attempts) and R10."""


def _decide(found: Iterable[Violation]) -> Decision:
    violations = tuple(found)
    return Decision(violations) if violations else ALLOWED


def check_created(change: Change, policy: Policy) -> Decision:
    """R1: a new emergency change names its critical issue category and describes the impact."""
    return _decide(r1_identified.requirement(change, change.created_at, policy))


def check_approval(change: Change, approval: Approval, groups: Groups, policy: Policy) -> Decision:
    """R2-R4 before recording an approval: who may approve, for which role, documented how."""
    return _decide(
        (
            *r2_approvals.on_approval(change, approval, groups),
            *r3_separation.on_approval(change, approval),
            *r4_documented.on_approval(change, approval),
        )
    )


def check_confirmation(change: Change, role: Role, actor: str, at: datetime) -> Decision:
    """R4: only the named approver confirms their own verbal approval, and only one that is open."""
    return _decide(r4_documented.on_confirmation(change, role, actor))


def check_review(change: Change, review: Review, groups: Groups) -> Decision:
    """R5: reviews after approval, by someone other than the engineer; security review by Security."""
    return _decide(r5_reviews.on_review(change, review, groups))


def check_rejection(change: Change, rejection: Rejection, groups: Groups) -> Decision:
    """R2: only an Engineering Lead or Security Team member other than the engineer rejects, with a reason."""
    return _decide(r2_approvals.on_rejection(change, rejection, groups))


def blocking(
    change: Change, to_stage: Stage | str, now: datetime, policy: Policy, groups: Groups = Groups()
) -> list[Violation]:
    """What keeps `change` from entering `to_stage` at `now`: the violations, empty when nothing does.

    Prerequisites are cumulative over every stage entered. While the change has not been deployed,
    every check up to the target is re-run (facts may have changed, e.g. a verbal approval ran out of
    time); after deploy only the new stages' checks. `groups` judges a rejection's author.
    """
    to = Stage(to_stage)  # a stage name from a mapping works as well
    if to is change.stage:
        return []
    if found := r9_control.out_of_procedure(change, to):
        return list(found)
    if to is Stage.CANCELLED:
        return []
    if to is Stage.REJECTED:
        return list(r2_approvals.on_rejected(change, groups))
    before_deploy = change.stage in r9_control.BEFORE_DEPLOY
    entered = ORDER[1 : ORDER.index(to) + 1] if before_deploy else passed(change.stage, to)
    checks = dict.fromkeys(check for stage in entered for check in REQUIREMENTS[stage])
    return [v for check in checks for v in check(change, now, policy)]


def check_transition(
    change: Change, to: Stage | str, actor: str, groups: Groups, now: datetime, policy: Policy
) -> Decision:
    """May `change` move to `to` now? `actor` and `groups` identify who moves it; the rules judge
    facts, not the mover (see `blocking`)."""
    return _decide(blocking(change, to, now, policy, groups))


def evaluate(
    change: Change,
    groups: Groups,
    now: datetime,
    policy: Policy,
    recorded: Iterable[Violation] = (),
    stood: Iterable[Violation] = (),
    *,
    explain: bool = True,
) -> dict[str, RuleStatus]:
    """Status of R1..R10 for `change` at `now`, each with its evidence.

    `recorded` are the violations the connector blocked or reverted on this change, `stood` those of
    attempts that were neither blocked nor undone (see `r9_control.verdict`). With `explain=False` a
    held rule's evidence is left empty (what the population export needs). Group membership was judged
    when each approval or review was recorded; `groups` is accepted for symmetry with the gates.
    """
    statuses = {}
    # R1-R5 held at `now` hold at the deploy as well: only R4 looks at the time, for a verbal approval
    # not yet confirmed, and R4 is not held while one is. A rejection holds R2 without its approvals
    # (a change rejected and deployed anyway still breaks R6), so R6 then checks for itself.
    ready = change.rejection is None
    for rule, judge in BEFORE_DEPLOY_JUDGES:
        verdict = judge(change, now, policy, explain)
        statuses[rule] = QUIETLY_HELD[rule] if verdict == QUIET else RuleStatus(rule, *verdict)
        ready = ready and verdict[0] is HELD
    statuses["R6"] = _status("R6", r6_deploy.verdict(change, now, policy, explain, ready=ready))
    for rule, judge in AFTER_DEPLOY_JUDGES:
        verdict = judge(change, now, policy, explain)
        statuses[rule] = QUIETLY_HELD[rule] if verdict == QUIET else RuleStatus(rule, *verdict)
    statuses["R9"] = r9_control.verdict(recorded, stood)
    statuses["R10"] = _status("R10", r10_deadline.verdict(change, now, policy, explain))
    return statuses


QUIET = (HELD, "")
"""A rule held, its evidence not written (`explain=False`)."""
QUIETLY_HELD: Mapping[str, RuleStatus] = MappingProxyType({rule: RuleStatus(rule, *QUIET) for rule in RULES})
"""Each rule's quiet status, one shared by every change: most changes of an exported period hold most
rules, and a status built anew for each costs as much as judging the rule."""


def _status(rule: str, verdict: tuple[Status, str]) -> RuleStatus:
    return QUIETLY_HELD[rule] if verdict == QUIET else RuleStatus(rule, *verdict)
