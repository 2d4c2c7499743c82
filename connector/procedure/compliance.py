"""A quick answer for the common case of the population export: a closed change that kept every rule.

It lives in the procedure core beside `evaluate` because it restates when each rule holds; a change
to a rule changes both, and the equivalence test fails until they agree again.

Judging R1-R10 with `evaluate` writes the evidence of every rule, held ones included, and the export
only needs the rules that are violated or pending. Most changes of a period are closed without fault, and
for those the export row is `compliant` with no reasons. `plainly_compliant` recognises them from the
loaded rows alone; it restates, rule by rule, when `evaluate` holds each of R1-R8 and R10 (R9 only
informs), and answers False for anything it is unsure of, which is then judged in full. Its agreement with
`evaluate` is tested on generated changes (tests/integration/evidence/test_population_speedup.py).

Rows may carry naive (SQLite) or aware (PostgreSQL) times; they are only compared with each other.
"""

from __future__ import annotations

import functools
from typing import Any

from connector.procedure.policy import Policy

ROLES = frozenset({"lead", "security"})
METHODS = frozenset({"written", "verbal"})
KINDS = frozenset({"peer", "security"})


def plainly_compliant(
    change: Any, approvals: list[Any], reviews: list[Any], postmortem: Any | None, policy: Policy
) -> bool:
    """True only if `evaluate` would hold R1-R8 and R10 for this closed change."""
    if change.stage != "closed" or change.deployed_at is None or postmortem is None:  # R6, R7
        return False
    if change.rejected_by is not None and change.rejected_at is not None:
        return False  # a rejection speaks for R2: judged in full
    if _category(policy, change.category) is None or not (change.impact or "").strip():  # R1
        return False
    return (
        _closed_out(change, postmortem, policy)
        and _approved(change, approvals)
        and _reviewed(change, reviews)
    )


@functools.lru_cache(maxsize=256)
def _category(policy: Policy, text: str | None) -> str | None:
    return policy.category(text)  # a period has few distinct categories


def _closed_out(change: Any, pm: Any, policy: Policy) -> bool:
    """R8: report, pull request, documentation; R10: post-mortem done by its deadline."""
    documented = bool((change.docs_url or "").strip()) or (
        policy.close_code_documents_change and bool((change.close_code or "").strip())
    )
    if not (change.pr_url or "").strip() or not (documented or not policy.require_docs):
        return False
    return (
        pm.due_at is not None and pm.done_at is not None and bool(pm.report_url) and pm.done_at <= pm.due_at
    )


def _approved(change: Any, approvals: list[Any]) -> bool:
    """R2-R4, and R6's approvals before the deploy: a lead and a security approval by two people, none
    of them the engineer, each with its evidence, verbal ones confirmed in time."""
    first: dict[str, str] = {}
    for a in approvals:
        if a.role not in ROLES or a.method not in METHODS or a.approver == change.engineer:
            return False
        if not (a.evidence and a.evidence.strip()) or a.granted_at > change.deployed_at:
            return False
        if a.method == "verbal" and (
            a.confirmed_at is None or (a.confirm_by is not None and a.confirmed_at > a.confirm_by)
        ):
            return False
        first.setdefault(a.role, a.approver)
    return len(first) == 2 and first["lead"] != first["security"]


def _reviewed(change: Any, reviews: list[Any]) -> bool:
    """R5, and R6's reviews before the deploy: a peer and a security review, not by the engineer."""
    first: dict[str, str] = {}
    for r in reviews:
        if r.kind not in KINDS or r.at > change.deployed_at:
            return False
        first.setdefault(r.kind, r.reviewer)
    return len(first) == 2 and change.engineer not in first.values()
