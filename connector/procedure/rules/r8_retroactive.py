"""R8 (step 5): closing needs the post-mortem task done with its report link, the pull request link and
the standard change documentation: retroactive items with the post-mortem's deadline."""

from __future__ import annotations

from datetime import datetime

from connector.procedure.model import Change, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules.base import HELD, PENDING, VIOLATED, Rule, Verdict

RULE = Rule("R8", 5, "closing needs the post-mortem report, the pull request and the documentation")


def retroactive_items(change: Change, policy: Policy | None = None) -> tuple[str, ...]:
    """What is still open: post-mortem report, pull request link, change documentation."""
    policy = policy or Policy()
    items = []
    if change.postmortem is None or not change.postmortem.done:
        items.append("post-mortem task done with a report link")
    if not (change.pr_url or "").strip():
        items.append("Pull Request link")
    by_close_code = policy.close_code_documents_change
    documented = bool((change.docs_url or "").strip()) or (
        by_close_code and bool((change.close_code or "").strip())
    )
    if not documented and policy.require_docs:
        items.append("standard change documentation" + (" (close code)" if by_close_code else ""))
    return tuple(items)


def requirement(change: Change, now: datetime, policy: Policy) -> tuple[Violation, ...]:
    """Entering closed needs every retroactive item."""
    if missing := retroactive_items(change, policy):
        message = (
            "Closing needs the post-mortem done with its report, the pull request link and the documentation."
        )
        return (RULE.violation(message, *missing),)
    return ()


REQUIRED = {Stage.CLOSED: requirement}


def verdict(change: Change, now: datetime, policy: Policy, explain: bool = True) -> Verdict:
    if items := retroactive_items(change, policy):
        due = change.postmortem.due_at if change.postmortem else None
        overdue = change.stage is Stage.CLOSED or (due is not None and now > due)
        return (VIOLATED if overdue else PENDING), "open: " + "; ".join(items)
    if not explain:
        return HELD, ""
    docs = change.docs_url or f"close code {change.close_code}"
    return (
        HELD,
        f"post-mortem report {change.postmortem.report_url}, pull request {change.pr_url}, "
        f"documentation {docs}",
    )
