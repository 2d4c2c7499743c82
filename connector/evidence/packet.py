"""The evidence packet of one emergency change: ticket, R1-R10, timeline, notifications, audit trail.

    with database.session() as session:
        packet = build_packet(session, "EMG-12", rulebook)

The result is plain JSON-ready data (ISO 8601 UTC times); `render_html.packet_page` prints it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from connector.evidence.integrity import integrity
from connector.evidence.rulebook import CONTROLS, RuleBook
from connector.procedure.rules import RULES
from connector.store.audit import entries, entry_dict, entry_hash, iso_utc, verify
from connector.store.evidence import (
    deploys_of,
    find_change,
    notifications_of,
    stood_attempts,
    violations_of,
)
from connector.store.facts import change_facts, violation_facts
from connector.store.people import as_of
from connector.store.tables import ApprovalRow, AuditRow, ChangeRow, DeployRow, ViolationRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PACKET_VERSION = 1


def iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment else None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def build_packet(
    session: Session, key: str, rulebook: RuleBook, *, tool: str | None = None, whole_chain: bool = True
) -> dict[str, Any]:
    """Everything an auditor asks for about one change. Raises `ChangeNotFound`. `whole_chain=False`
    leaves out the walk of the whole audit chain (`audit.chain` is then null; the packet hash is the same)."""
    row = find_change(session, key, tool)
    now = rulebook.clock()
    violations = violations_of(session, row.id)
    stood = stood_attempts(session, row.id)
    caught = [v for v in violations if v.id not in stood]
    statuses = rulebook.judge(
        change_facts(row),
        now,
        violation_facts(caught),
        violation_facts([v for v in violations if v.id in stood]),
    )
    notifications = notifications_of(session, row.id)
    deploys = [_deploy(d, row.id) for d in deploys_of(session, row.id)]
    audit = [_audit_entry(entry) for entry in entries(session, change_key=row.key)]
    people = as_of(session, row.tool, _identities(row, violations, audit), row.closed_at or now)

    def who(identity: str | None) -> str:
        return people[identity].describe() if identity in people else (identity or "-")

    chain = verify(session) if whole_chain else None
    packet = {
        "packet_version": PACKET_VERSION,
        "generated_at": iso(now),
        "time_zone": str(rulebook.for_tool(row.tool).calendar.tz),  # the calendar the deadlines are in
        "controls": list(CONTROLS),
        "change": {**_change(row), "bypass": any(d["bypass"] for d in deploys)},
        "rules": [
            {
                "rule": rule,
                "step": info.step,
                "title": info.title,
                "status": statuses[rule].status.value,
                "evidence": _named(statuses[rule].evidence, people),
                **({"exceptions": [_exception(v, stood) for v in violations]} if rule == "R9" else {}),
            }
            for rule, info in RULES.items()
        ],
        "approvals": [_approval(a) for a in row.approvals],
        "timeline": timeline(
            row, violations, notifications, rulebook.for_tool(row.tool).calendar.tz, who, deploys
        ),
        "deploys": deploys,
        "people": {identity: person.as_json() for identity, person in sorted(people.items())},
        "violations": [
            {
                "at": iso(v.at),
                "actor": v.actor,
                "from_stage": v.from_stage,
                "to_stage": v.to_stage,
                "rules": list(v.rules),
                "details": list(v.details or ()),
                "reverted": v.reverted,
            }
            for v in violations
        ],
        "notifications": [{**n, "at": iso(n["at"])} for n in notifications],
        "audit": {
            "entries": audit,
            "entries_intact": all(e["hash_ok"] for e in audit),
            "chain": None
            if chain is None
            else {
                "ok": chain.ok,
                "checked": chain.checked,
                "first_bad_seq": chain.first_bad_seq,
                "problem": chain.problem,
            },
        },
    }
    packet["integrity"] = integrity(session, packet)
    return packet


def _named(text: str, people: dict[str, Any]) -> str:
    """`text` (a rule's evidence, which names accounts) with each known account named as well."""
    if not people:
        return text
    accounts = "|".join(re.escape(i) for i in sorted(people, key=len, reverse=True))
    pattern = rf"(?<![\w.@-])(?:{accounts})(?![\w@-]|\.\w)"
    return re.sub(pattern, lambda found: people[found.group(0)].describe(), text)  # one pass


def _identities(row: ChangeRow, violations: Iterable[Any], audit: Iterable[dict]) -> set[str]:
    pm = row.postmortem
    found = {
        row.engineer,
        row.rejected_by,
        *(pm.participants or () if pm else ()),
        pm.assignee if pm else None,
    }
    found |= {a.approver for a in row.approvals} | {a.recorded_by for a in row.approvals}
    found |= {r.reviewer for r in row.reviews} | {v.actor for v in violations} | {e["actor"] for e in audit}
    return {identity for identity in found if identity}


def _deploy(d: DeployRow, change_id: int) -> dict[str, Any]:
    """A production deploy a pipeline reported, as the packet shows it beside the ticket's deploy."""
    return {
        "source": d.source,
        "deploy_id": d.deploy_id,
        "environment": d.environment,
        "deployed_at": iso(d.deployed_at),
        "repository": d.repository,
        "sha": d.sha,
        "ref": d.ref,
        "version": d.version,
        "deployer": d.deployer,
        "url": d.url,
        "named": d.named_key,
        "outcome": d.outcome,
        "bypass": d.bypass_change_id == change_id,
    }


def _exception(v: ViolationRow, stood: set[int]) -> dict[str, Any]:
    """An attempt that broke the procedure, as an exception of R9: what the control did with it."""
    outcome = "reverted" if v.reverted else "blocked"
    if v.id in stood:
        outcome = "stood (the revert could not be made)" if v.reverted else "stood (deployed by a pipeline)"
        if v.found_late:
            outcome = "stood (found late in the tool's history, after the change moved on: not reverted)"
    return {
        "at": iso(v.at),
        "actor": v.actor,
        "attempted": v.to_stage,
        "rules": list(v.rules),
        "outcome": outcome,
    }


def _change(row: ChangeRow) -> dict[str, Any]:
    pm = row.postmortem
    return {
        "tool": row.tool,
        "key": row.key,
        "link": row.url,
        "title": row.title,
        "project": row.project,
        "team": row.team,
        "engineer": row.engineer,
        "stage": row.stage,
        "category": row.category,
        "impact": row.impact,
        "created_at": iso(row.created_at),
        "deployed_at": iso(row.deployed_at),
        "closed_at": iso(row.closed_at),
        "pr_url": row.pr_url,
        "docs_url": row.docs_url,
        "close_code": row.close_code,
        "postmortem": None
        if pm is None
        else {
            "key": pm.key,
            "created_at": iso(pm.created_at),
            "due_at": iso(pm.due_at),
            "done_at": iso(pm.done_at),
            "report_url": pm.report_url,
            "assignee": pm.assignee,
            "participants": list(pm.participants or ()),
        },
    }


def _approval(a: ApprovalRow) -> dict[str, Any]:
    confirmed = a.confirmed_at if a.method == "verbal" else a.granted_at
    return {
        "approver": a.approver,
        "role": a.role,
        "method": a.method,
        "channel": a.channel,
        "granted_at": iso(a.granted_at),
        "confirmed_at": iso(confirmed),
        "confirm_by": iso(a.confirm_by),
        "confirmation_lag_seconds": seconds_between(a.granted_at, confirmed),
        "recorded_by": a.recorded_by,
        "evidence": a.evidence,
        "confirmation_evidence": a.confirmation_evidence,
    }


def _audit_entry(row: AuditRow) -> dict[str, Any]:
    return {**entry_dict(row), "hash_ok": entry_hash(row) == row.hash}


def _local(moment: datetime | None, zone: tzinfo) -> str:
    """A deadline as the procedure sets it: in the organisation's calendar zone."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z} in the organisation's calendar" if moment else ""


def timeline(
    row: ChangeRow,
    violations: Iterable[Any],
    notifications: Iterable[dict],
    zone: tzinfo = UTC,
    who: Callable[[str | None], str] = lambda identity: identity or "-",
    deploys: Iterable[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Every dated event of the change, oldest first: (at, event, detail); people named by `who`."""
    pm = row.postmortem
    events: list[tuple[datetime | None, str, str]] = [
        (row.created_at, "created", f"by {who(row.engineer)}: {row.title}"),
        (row.notified_at, "leads and security notified", ""),
    ]
    for a in row.approvals:
        how = (
            f"verbal via {a.channel}, recorded by {who(a.recorded_by)}" if a.method == "verbal" else "written"
        )
        events.append(
            (a.granted_at, f"{a.role} approval granted", f"{who(a.approver)} ({how}; {a.evidence})")
        )
        if a.confirmed_at:
            detail = f"{who(a.approver)} ({a.confirmation_evidence or '-'})"
            events.append((a.confirmed_at, f"{a.role} approval confirmed in writing", detail))
    events += [(r.at, f"{r.kind} review", f"{who(r.reviewer)} ({r.evidence})") for r in row.reviews]
    events.append((row.deployed_at, "deployed", ""))
    for d in deploys:
        what = " ".join(x for x in (d["repository"], d["sha"] or d["version"] or "") if x)
        kind = (
            "bypass: deployed by a pipeline without an approved change"
            if d["bypass"]
            else "deployed by a pipeline"
        )
        detail = f"{what} to {d['environment']} ({d['source']}, {d['url'] or d['deploy_id']}; {d['outcome']})"
        events.append((datetime.fromisoformat(d["deployed_at"]), kind, detail))
    if pm is not None:
        events += [
            (pm.created_at, "post-mortem created", f"{pm.key or '(pending)'}, assignee {who(pm.assignee)}"),
            (pm.due_at, "post-mortem due", _local(pm.due_at, zone)),
            (pm.done_at, "post-mortem done", pm.report_url or "no report link"),
        ]
    events += [
        (v.at, "violation " + ("reverted" if v.reverted else "blocked"), ", ".join(v.rules))
        for v in violations
    ]
    events += [(n["at"], f"notification: {n['kind']}", n["subject"]) for n in notifications]
    events += [
        (row.rejected_at, "rejected", f"by {who(row.rejected_by)}: {row.rejection_reason}"),
        (
            row.closed_at,
            "closed",
            f"PR {row.pr_url or '-'}; documentation {row.docs_url or row.close_code or '-'}",
        ),
    ]
    dated = sorted((e for e in events if e[0] is not None), key=lambda e: e[0])  # type: ignore[arg-type, return-value]
    return [{"at": iso(at), "event": event, "detail": detail} for at, event, detail in dated]
