"""Jira's part of reconciliation: what webhooks may have missed, read back with one paged search.

Each issue updated since the window (emergency changes and post-mortems) becomes the events its
webhooks would have carried: its creation, each changelog entry, each comment. Every event carries the
subject id a webhook gives it ("created:10001", "changelog:10234", "comment:10042"), so one that
arrived and its replay are processed once.

Final sync: each issue's latest status change is replayed even when it is older than the window, so a
change whose move was lost before the watermark still ends in the stage its current status maps to
(or, if that move breaks the procedure, is reverted like any other).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.inbound.events import Delivery, Event, Ignored
from connector.inbound.jira import parse_jira

log = logging.getLogger("connector.reconcile")

PAGE_SIZE = 100
EVER = datetime.min.replace(tzinfo=UTC)  # a whole history replayed
JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"


def jira_jql(project: str, issue_types: tuple[str, ...], since: datetime, zone: str | None = None) -> str:
    """Jira reads a JQL date literal in the searching account's time zone (its profile's `timeZone`), so
    the window's start is written in `zone`, the connector account's (UTC when Jira names none)."""
    types = ", ".join(f'"{name}"' for name in issue_types)
    stamp = jql_time(since, zone)
    return f'project = {project} AND issuetype in ({types}) AND updated >= "{stamp}" ORDER BY updated ASC'


def jql_time(moment: datetime, zone: str | None) -> str:
    """`moment` as a JQL literal ("yyyy-MM-dd HH:mm", minutes cut off) in `zone`. A wall time that comes
    twice (the hour the clocks go back) is written an hour earlier, so the window never shrinks."""
    try:
        tz: tzinfo = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("reconcile-unknown-time-zone", extra={"time_zone": zone})
        tz = UTC
    local = moment.astimezone(tz)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        local = (moment - timedelta(hours=1)).astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M")


def jira_deliveries(tool: Any, since: datetime, now: datetime) -> Iterator[tuple[Delivery, Event | Ignored]]:
    section = tool.mapping.jira
    zone = tool.gateway.myself().time_zone
    types = (section.issue_types.change, section.issue_types.postmortem)
    jql = jira_jql(section.project, types, since, zone)
    token: str | None = None
    while True:
        page = tool.gateway.search(
            jql, fields=("*all",), next_page_token=token, max_results=PAGE_SIZE, expand="changelog"
        )
        for issue in page.issues:
            yield from jira_issue_deliveries(_with_every_comment(tool.gateway, issue), since, now)
        token = page.next_page_token
        if not token:
            return


def jira_one_issue(tool: Any, key: str, now: datetime) -> Iterator[tuple[Delivery, Event | Ignored]]:
    """Everything one change's webhooks would have said: its creation, every changelog entry and comment,
    and the same of its post-mortem issue."""
    raw = tool.gateway.issue_with_history(key)
    yield from jira_issue_deliveries(_with_every_comment(tool.gateway, _Raw(key, raw)), EVER, now)
    link = tool.mapping.jira.link_type.name
    for linked in (raw.get("fields") or {}).get("issuelinks") or []:  # its post-mortem: done, report link
        other = linked.get("outwardIssue") or {}
        if (linked.get("type") or {}).get("name") == link and other.get("key"):
            postmortem = tool.gateway.issue_with_history(other["key"])
            yield from jira_issue_deliveries(postmortem, EVER, now)


@dataclasses.dataclass(frozen=True)
class _Raw:
    """An issue read alone, shaped as a search result for `_with_every_comment`."""

    key: str
    raw: dict[str, Any]


def _with_every_comment(gateway: Any, issue: Any) -> dict[str, Any]:
    """The issue as search returned it, with every comment: Jira Cloud embeds only the latest 100
    (`total` counts all), so a busy issue's others are read from its comment pages."""
    raw = issue.raw
    embedded = (raw.get("fields") or {}).get("comment") or {}
    if len(embedded.get("comments") or []) >= int(embedded.get("total") or 0):
        return raw
    every = [comment.raw for comment in gateway.comments(issue.key)]
    comment = {**embedded, "comments": every, "startAt": 0, "maxResults": len(every), "total": len(every)}
    return {**raw, "fields": {**raw["fields"], "comment": comment}}


def jira_issue_deliveries(
    raw: dict[str, Any], since: datetime, now: datetime
) -> Iterator[tuple[Delivery, Event | Ignored]]:
    """The webhook documents this issue's history would have produced, parsed by the webhook parser."""
    fields = raw.get("fields") or {}
    issue = {
        "id": raw.get("id"),
        "key": raw.get("key"),
        "fields": {k: v for k, v in fields.items() if k != "comment"},
    }
    histories = (raw.get("changelog") or {}).get("histories") or []
    yield _jira(
        {
            "webhookEvent": "jira:issue_created",
            "timestamp": _millis(fields.get("created")),
            "user": fields.get("creator") or fields.get("reporter"),
            "issue": _as_created(issue, histories),
        },
        f"created:{raw.get('id')}",
        now,
    )
    later: list[tuple[str, dict[str, Any], str]] = []
    latest_move = _latest_status_change(histories)
    for history in histories:
        # The latest status change is replayed even from before the window: unless it was processed
        # already (same subject id), it brings the stored stage to the issue's current status, or is
        # refused and reverted like any transition.
        if _time(history.get("created")) >= since or history is latest_move:
            doc = {
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_generic",
                "timestamp": _millis(history.get("created")),
                "user": history.get("author"),
                "issue": issue,
                "changelog": {"id": history.get("id"), "items": history.get("items", [])},
            }
            later.append((history.get("created", ""), doc, f"changelog:{history.get('id')}"))
    for comment in (fields.get("comment") or {}).get("comments") or []:
        if _time(comment.get("created")) >= since:
            doc = {
                "webhookEvent": "comment_created",
                "timestamp": _millis(comment.get("created")),
                "comment": comment,
                "issue": issue,
            }
            later.append((comment.get("created", ""), doc, f"comment:{comment.get('id')}"))
    for _, doc, subject in sorted(later, key=lambda entry: _time(entry[0])):
        yield _jira(doc, subject, now)


def _jira(doc: dict[str, Any], subject: str, now: datetime) -> tuple[Delivery, Event | Ignored]:
    body = json.dumps(doc).encode()
    delivery, event = parse_jira({}, body, received_at=now)
    delivery = dataclasses.replace(delivery, delivery_id=f"reconcile:{subject}")
    if not isinstance(event, Ignored):
        event = dataclasses.replace(event, subject_id=subject)
    return delivery, event


def _as_created(issue: dict[str, Any], histories: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue as it was created: the status before its first status change."""
    for history in sorted(histories, key=lambda h: _time(h.get("created"))):
        for item in history.get("items") or []:
            if item.get("field") == "status" and item.get("fromString"):
                status = {"id": item.get("from"), "name": item["fromString"]}
                return {**issue, "fields": {**issue["fields"], "status": status}}
    return issue


def _latest_status_change(histories: list[dict[str, Any]]) -> dict[str, Any] | None:
    moves = [h for h in histories if any(i.get("field") == "status" for i in h.get("items") or [])]
    return max(moves, key=lambda h: _time(h.get("created")), default=None)


def _time(text: str | None) -> datetime:
    try:
        return datetime.strptime(text or "", JIRA_TIME)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _millis(text: str | None) -> int:
    moment = _time(text)
    return int(moment.timestamp() * 1000) if moment.year > 1 else 0
