"""The words people read: comments on the ticket and notification mails, one function per notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from connector.procedure.model import Decision, Stage

if TYPE_CHECKING:
    from connector.commands import Deploy
    from connector.store.tables import ChangeRow

PROCEDURE = "ENG-PROC-004"


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def _when(moment: datetime) -> str:
    """ "Fri 04 Dec 2026 23:59 EST (2026-12-05 04:59 UTC)": a deadline in the zone it was set in (the
    calendar's), with UTC beside it as the evidence shows it."""
    text = moment.strftime("%a %d %b %Y %H:%M %Z").strip()
    if moment.tzinfo is None or moment.tzname() == "UTC":
        return text
    return f"{text} ({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


def created(row: ChangeRow, engineer: str) -> Notice:
    return Notice(
        subject=f"[{row.key}] Emergency change raised: {row.title or row.key}",
        body=(
            f"{engineer} raised emergency change {row.key} ({row.category or 'category not stated'}).\n"
            f"Impact: {row.impact or 'not stated'}\n\n"
            f"{PROCEDURE} step 2: an Engineering Lead and a Security Team member must approve it "
            "before it is deployed (comment /approve, or use the Approve transition)."
        ),
    )


def violation(
    key: str, decision: Decision, actor: str, attempted: Stage | None, reverted_to: str | None
) -> Notice:
    rules = ", ".join(decision.rules)
    lines = [v.describe() for v in decision.violations]
    if attempted is not None and reverted_to is not None:
        head = (
            f"{actor} moved {key} to {attempted.value.replace('_', ' ')}, which breaks {PROCEDURE} "
            f"({rules}). The connector moved it back to {reverted_to}."
        )
    elif attempted is not None:  # done where the connector cannot undo it (a pipeline's deploy)
        head = (
            f"{actor} moved {key} to {attempted.value.replace('_', ' ')} outside the ticket, which breaks "
            f"{PROCEDURE} ({rules}). It cannot be undone from here: the violation is recorded."
        )
    else:
        head = f"{PROCEDURE} does not allow what {actor} asked on {key} ({rules})."
    return Notice(subject=f"[{key}] Procedure violation {rules}", body="\n".join([head, "", *lines]))


def found_late(
    key: str, decision: Decision, actor: str, left: Stage, attempted: Stage, taken_at: datetime, now: str
) -> Notice:
    """A step heard of only from the tool's history, after the change moved on past it: not reverted."""
    rules = ", ".join(decision.rules)
    head = (
        f"Found late: {actor} moved {key} from {left.value.replace('_', ' ')} to "
        f"{attempted.value.replace('_', ' ')} on {_when(taken_at)}, which broke {PROCEDURE} ({rules}). "
        f"The connector learnt of this step only from {key}'s history, after the change had moved on to "
        f"{now.replace('_', ' ')}, so it was not reverted: the violation is recorded as one that stood."
    )
    lines = [v.describe() for v in decision.violations]
    subject = f"[{key}] Procedure violation {rules} (found late)"
    return Notice(subject=subject, body="\n".join([head, "", *lines]))


def postmortem(row: ChangeRow, engineer: str, due: datetime) -> Notice:
    return Notice(
        subject=f"Post-mortem of {row.key}: {row.title or row.key}"[:250],
        body=(
            f"Post-mortem review of emergency change {row.key}, deployed by {engineer}.\n"
            f"Due {_when(due)} ({PROCEDURE} step 5: within the business days after deploy).\n"
            "Done when this task is closed with the Post-Mortem Report link filled in; the change also "
            "needs its pull request link (/pr <url>) and change documentation (/docs <url>)."
        ),
    )


def which_role(approver: str) -> Notice:
    return Notice(
        subject="approval role unclear",
        body=(
            f"{approver} can approve as Engineering Lead or as Security, or is in neither group. "
            "Write '/approve lead' or '/approve security'; one person can fill only one role."
        ),
    )


def nothing_to_confirm(actor: str) -> Notice:
    return Notice(
        subject="nothing to confirm",
        body=f"{actor} has no verbal approval on this change waiting for written confirmation.",
    )


def report_missing(postmortem_key: str) -> Notice:
    return Notice(
        subject="post-mortem report missing",
        body=(
            f"{postmortem_key} was marked done without its Post-Mortem Report link; "
            "it counts as done once the report link is filled in."
        ),
    )


def cannot_accept(reason: str) -> Notice:
    return Notice(subject=reason[:120], body=f"The connector cannot accept this command: {reason}.")


def reminder(key: str, due: datetime, items: tuple[str, ...], label: str) -> Notice:
    return Notice(
        subject=f"[{key}] Reminder: post-mortem and retroactive items due {_when(due)}",
        body=f"{label} before the deadline of {key}. Still open: " + "; ".join(items) + ".",
    )


def breach(key: str, due: datetime, items: tuple[str, ...], escalation: int = 0) -> Notice:
    what = "SLA breach" if escalation == 0 else f"SLA breach, escalation {escalation}"
    return Notice(
        subject=f"[{key}] {what}: post-mortem was due {_when(due)}",
        body=f"{key} missed its {PROCEDURE} step 5 deadline ({_when(due)}). Still open: "
        + "; ".join(items)
        + ".",
    )


def unconfirmed_verbal(key: str, approver: str, due: datetime) -> Notice:
    return Notice(
        subject=f"[{key}] Verbal approval by {approver} not confirmed in writing",
        body=(
            f"The verbal approval by {approver} on {key} had to be confirmed in writing by {_when(due)} "
            f"({PROCEDURE} step 2, R4). {approver}: comment /confirm on the change."
        ),
    )


def _deploy_facts(deploy: Deploy) -> str:
    lines = [
        f"Deployed: {_when(deploy.at)} to {deploy.environment}",
        f"Repository / service: {deploy.repository}",
        *(
            f"{label}: {value}"
            for label, value in (
                ("Commit", deploy.sha),
                ("Ref", deploy.ref),
                ("Version", deploy.version),
                ("Deployed by", deploy.deployer),
                ("Evidence", deploy.url),
            )
            if value
        ),
        f"Deploy id: {deploy.deploy_id} ({deploy.source})",
    ]
    return "\n".join(lines)


def bypass_impact(deploy: Deploy) -> str:
    return (
        f"Deployed to {deploy.environment} without an approved emergency change ({deploy.repository}, "
        f"{deploy.sha or deploy.version or deploy.deploy_id}). State the critical issue and its impact."
    )


def bypass_change(deploy: Deploy, named: str | None) -> Notice:
    """The retroactive change a production deploy without an approved one opens (its summary, description)."""
    why = f"It named {named}, which was not approved." if named else "It named no emergency change."
    return Notice(
        subject=f"Bypass: production deploy of {deploy.repository} without an approved emergency change"[
            :250
        ],
        body=(
            f"A pipeline deployed to production without an approved emergency change. {why}\n\n"
            f"{_deploy_facts(deploy)}\n\n"
            f"{PROCEDURE}: this change records the deploy retroactively. State the critical issue category "
            "and impact, record both approvals and both reviews, and complete the post-mortem, due "
            "3 business days after the deploy."
        ),
    )


def bypass_alert(row: ChangeRow, deploy: Deploy, named: str | None) -> Notice:
    return Notice(
        subject=f"[{row.key}] Production deploy without an approved emergency change",
        body=(
            f"{row.key} was opened for a production deploy that bypassed {PROCEDURE}"
            + (f" (it named {named}, not approved)" if named else "")
            + f".\n\n{_deploy_facts(deploy)}\n\nIts post-mortem is due from the deploy time."
        ),
    )
