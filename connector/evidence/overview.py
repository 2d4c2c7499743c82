"""What the dashboard shows on its first page, each list bounded, each figure an aggregate query."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector.evidence.listing import change_item
from connector.evidence.rulebook import RuleBook
from connector.evidence.summary import summary
from connector.procedure.stages import ORDER
from connector.store import reports
from connector.store.people import latest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PAGE = 50
RECENT = 20
SUMMARY_PERIOD = timedelta(days=90)


def overview(session: Session, rulebook: RuleBook) -> dict[str, Any]:
    now = rulebook.clock()
    data = {
        "now": now,
        "stages": open_by_stage(session),
        "open_changes": [
            change_item(row, now) for row in reports.changes_page(session, limit=PAGE, status="open")
        ],
        "postmortems": open_postmortems(session, rulebook, now),
        "unconfirmed": unconfirmed_verbal(session, rulebook, now),
        "violations": recent_violations(session),
        "bypasses": recent_bypasses(session),
        "summary": summary(session, now - SUMMARY_PERIOD, now, now),
    }
    shown = [c["engineer"] for c in data["open_changes"]] + [p["assignee"] for p in data["postmortems"]]
    shown += [a["approver"] for a in data["unconfirmed"]] + [v["actor"] for v in data["violations"]]
    data["people"] = {i: p.as_json() for i, p in latest(session, shown).items()}
    return data


def open_by_stage(session: Session) -> list[tuple[str, int]]:
    counts = reports.open_by_stage(session)
    return [(stage.value, counts.get(stage.value, 0)) for stage in ORDER if stage.value in counts]


def open_postmortems(session: Session, rulebook: RuleBook, now: datetime) -> list[dict[str, Any]]:
    found = []
    for pm, change in reports.open_postmortems(session, PAGE):
        overdue = pm.due_at < now
        # Before the deadline: business time left. After it: plain time since (a count of business
        # days over weeks of neglect costs a walk over every day, and says nothing more to the reader).
        calendar = rulebook.for_tool(change.tool).calendar
        left = pm.due_at - now if overdue else calendar.business_time_left(pm.due_at, now)
        found.append(
            {
                "key": change.key,
                "url": change.url,
                "postmortem": pm.key or "(being created)",
                "assignee": pm.assignee or change.engineer,
                "due_at": pm.due_at,
                "time_zone": str(calendar.tz),
                "left_seconds": left.total_seconds(),
                "overdue": overdue,
            }
        )
    return found


def unconfirmed_verbal(session: Session, rulebook: RuleBook, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "url": url,
            "approver": a.approver,
            "role": a.role,
            "channel": a.channel,
            "granted_at": a.granted_at,
            "confirm_by": a.confirm_by,
            "time_zone": str(rulebook.for_tool(tool).calendar.tz),
            "overdue": a.confirm_by is not None and a.confirm_by < now,
        }
        for a, key, url, tool in reports.unconfirmed_verbal(session, PAGE)
    ]


def recent_violations(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "url": url,
            "at": v.at,
            "actor": v.actor,
            "rules": list(v.rules),
            "reverted": v.reverted,
            "message": "; ".join(d.get("message", "") for d in v.details or ()),
        }
        for v, key, url in reports.recent_violations(session, RECENT)
    ]


def recent_bypasses(session: Session) -> list[dict[str, Any]]:
    """Production deploys without an approved change, newest first, with the change opened for each."""
    return [
        {
            "key": key,
            "url": url,
            "deployed_at": d.deployed_at,
            "repository": d.repository,
            "environment": d.environment,
            "what": d.sha or d.version or "",
            "deployer": d.deployer,
            "named": d.named_key,
            "evidence": d.url,
        }
        for d, key, url in reports.recent_bypasses(session, RECENT)
    ]
