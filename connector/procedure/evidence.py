"""Where each rule stands for one change, for evidence packets and the dashboard.

`evaluate` gives every rule R1-R10 one status: held (satisfied, with the facts that show it),
violated (broken, with what went wrong) or pending (not due yet, with what is still open).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from connector.procedure import requirements as req
from connector.procedure.model import Approval, Change, Groups, Method, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.stages import ORDER


class Status(StrEnum):
    HELD = "held"
    VIOLATED = "violated"
    PENDING = "pending"


@dataclass(frozen=True)
class RuleStatus:
    rule: str
    status: Status
    evidence: str


def _at(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "-"


def _reached(change: Change, stage: Stage) -> bool:
    if stage in (Stage.DEPLOYED, Stage.POSTMORTEM) and change.deployed_at is not None:
        return True
    return change.stage in ORDER and ORDER.index(change.stage) >= ORDER.index(stage)


def _missing(violations: Iterable[Violation]) -> str:
    items = [m for v in violations for m in v.missing] or [v.message for v in violations]
    return "; ".join(items)


def _approval(a: Approval) -> str:
    how = f"verbal via {a.channel}" if a.method is Method.VERBAL else "written"
    text = f"{a.approver} ({a.role}, {how} {_at(a.granted_at)}"
    if a.method is Method.VERBAL:
        text += (
            f", confirmed {_at(a.confirmed_at)}" if a.confirmed_at else f", confirm by {_at(a.confirm_by)}"
        )
    return text + f", {a.evidence})"


def _gate(change: Change, found: tuple[Violation, ...], due: Stage, held: str) -> tuple[Status, str]:
    if not found:
        return Status.HELD, held
    status = Status.VIOLATED if _reached(change, due) else Status.PENDING
    return status, ("missing: " if status is Status.VIOLATED else "open: ") + _missing(found)


def _r1(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    notified = (
        f"leads and security notified {_at(change.notified_at)}"
        if change.notified_at
        else "no notification recorded"
    )
    held = f"category '{policy.category(change.category)}', impact described; {notified}"
    return _gate(change, req.r1_identified(change, now, policy), Stage.AWAITING_APPROVAL, held)


def _r2(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    if change.rejection is not None:
        r = change.rejection
        return Status.HELD, f"rejected by {r.by} {_at(r.at)}: {r.reason}"
    held = "; ".join(_approval(a) for a in change.approvals)
    return _gate(change, req.r2_both_roles(change, now, policy), Stage.APPROVED, held)


def _r3(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    found = req.r3_separation(change, now, policy)
    if found:
        return Status.VIOLATED, " ".join(v.message for v in found)
    if not change.approvals:
        return Status.PENDING, "no approval recorded yet"
    people = " and ".join(a.approver for a in change.approvals)
    return Status.HELD, f"approved by {people}, none of them the engineer {change.engineer}"


def _r4(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    found = req.r4_documented(change, now, policy)
    late = [a for a in change.approvals if a.confirmed_at and a.confirm_by and a.confirmed_at > a.confirm_by]
    if found or late:
        texts = [v.message for v in found] + [
            f"{a.approver} confirmed the verbal {a.role} approval late "
            f"({_at(a.confirmed_at)}, due {_at(a.confirm_by)})."
            for a in late
        ]
        return Status.VIOLATED, " ".join(texts)
    if not change.approvals or not all(a.confirmed for a in change.approvals):
        return Status.PENDING, "; ".join(_approval(a) for a in change.approvals) or "no approval recorded yet"
    return Status.HELD, "; ".join(_approval(a) for a in change.approvals)


def _r5(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    held = "; ".join(f"{r.kind} review by {r.reviewer} {_at(r.at)} ({r.evidence})" for r in change.reviews)
    return _gate(change, req.r5_reviews(change, now, policy), Stage.DEPLOYED, held)


def _r6(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    if change.deployed_at is None:
        found = req.r6_deploy_recorded(change, now, policy)
        return _gate(change, found, Stage.DEPLOYED, "")
    at = change.deployed_at
    early = [f"{a.role} approval" for a in change.approvals if a.granted_at > at]
    early += [f"{r.kind} review" for r in change.reviews if r.at > at]
    early += req.not_ready(change, at, policy)
    if early:
        return Status.VIOLATED, f"deployed {_at(at)} before: " + "; ".join(early)
    return Status.HELD, f"deployed {_at(at)}, after both approvals and both reviews"


def _r7(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    pm = change.postmortem
    if pm is None:
        return _gate(change, req.r7_postmortem_task(change, now, policy), Stage.DEPLOYED, "")
    people = ", ".join(pm.participants) or "none listed"
    return (
        Status.HELD,
        f"{pm.key} created {_at(pm.created_at)}, due {_at(pm.due_at)}, "
        f"assignee {pm.assignee or '-'}, participants {people}",
    )


def _r8(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    items = req.retroactive_items(change, policy)
    if not items:
        docs = change.docs_url or f"close code {change.close_code}"
        return (
            Status.HELD,
            f"post-mortem report {change.postmortem.report_url}, pull request {change.pr_url}, "
            f"documentation {docs}",
        )
    due = change.postmortem.due_at if change.postmortem else None
    overdue = change.stage is Stage.CLOSED or (due is not None and now > due)
    return (Status.VIOLATED if overdue else Status.PENDING), "open: " + "; ".join(items)


def _r10(change: Change, now: datetime, policy: Policy) -> tuple[Status, str]:
    pm = change.postmortem
    if pm is None:
        return Status.PENDING, "no post-mortem deadline yet"
    if pm.done_at is not None:
        on_time = pm.done_at <= pm.due_at
        status = Status.HELD if on_time else Status.VIOLATED
        return (
            status,
            f"post-mortem done {_at(pm.done_at)}, {'on time' if on_time else 'late'}: due {_at(pm.due_at)}",
        )
    if now > pm.due_at:
        return Status.VIOLATED, f"post-mortem overdue since {_at(pm.due_at)}"
    return Status.PENDING, f"post-mortem due {_at(pm.due_at)}"


EVALUATORS: dict[str, Callable[[Change, datetime, Policy], tuple[Status, str]]] = {
    "R1": _r1,
    "R2": _r2,
    "R3": _r3,
    "R4": _r4,
    "R5": _r5,
    "R6": _r6,
    "R7": _r7,
    "R8": _r8,
    "R10": _r10,
}


def evaluate(
    change: Change,
    groups: Groups,
    now: datetime,
    policy: Policy,
    recorded: Iterable[Violation] = (),
    stood: Iterable[Violation] = (),
) -> dict[str, RuleStatus]:
    """Status of R1..R10 for `change` at `now`.

    `recorded` are the violations the connector blocked or reverted on this change, `stood` those of
    attempts that were neither blocked nor undone (a revert that could not be made): R9 holds while
    every attempt was caught — the caught ones are its exceptions — and is violated by one that stood.
    Group membership was judged when each approval or review was recorded; `groups` is accepted for
    symmetry with the other rule functions.
    """
    statuses = {rule: RuleStatus(rule, *judge(change, now, policy)) for rule, judge in EVALUATORS.items()}
    r9 = _r9(list(recorded), list(stood))
    return {rule: statuses.get(rule, r9) for rule in req.RULES}


def _r9(caught: list[Violation], stood: list[Violation]) -> RuleStatus:
    def rules(violations: list[Violation]) -> str:
        return ", ".join(dict.fromkeys(v.rule for v in violations))

    if stood:
        return RuleStatus(
            "R9", Status.VIOLATED, f"{len(stood)} attempts that broke the procedure stood: {rules(stood)}"
        )
    if caught:
        return RuleStatus(
            "R9",
            Status.HELD,
            f"the control worked: {len(caught)} attempts that broke the procedure were blocked or "
            f"reverted ({rules(caught)}); listed as exceptions",
        )
    return RuleStatus("R9", Status.HELD, "no transition broke the procedure")
