"""Jira's part of reconciliation: what webhooks may have missed, read back with one paged search.

Each issue updated since the window (emergency changes and post-mortems) becomes the events its
webhooks would have carried: its creation, each changelog entry, each comment, read from the REST
answer by the same readers as the webhooks' (`connector/inbound/jira.py`). Every event carries the
subject id a webhook gives it ("created:10001", "changelog:10234", "comment:10042"), so one that
arrived and its replay are processed once.

Final sync: each issue's latest status change is replayed even when it is older than the window, so a
change whose move was lost before the watermark still ends in the stage its current status maps to
(or, if that move breaks the procedure, is reverted like any other).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.errors import MalformedBody
from connector.inbound.events import Delivery, Event, Ignored, IssueCreated, IssueUpdated
from connector.inbound.jira import TOOL, comment_event, field_changes, issue_facts, user_id
from connector.inbound.reader import JsonObject
from connector.tools import ToolRuntime

if TYPE_CHECKING:
    from connector.jira.gateway import JiraGateway, JiraIssue

Replayed = tuple[Delivery, Event | Ignored]

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


def jira_deliveries(tool: ToolRuntime[JiraGateway], since: datetime, now: datetime) -> Iterator[Replayed]:
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


def jira_one_issue(
    tool: ToolRuntime[JiraGateway], key: str, now: datetime
) -> Iterator[tuple[Delivery, Event | Ignored]]:
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


def _with_every_comment(gateway: JiraGateway, issue: JiraIssue | _Raw) -> dict[str, Any]:
    """The issue as search returned it, with every comment: Jira Cloud embeds only the latest 100
    (`total` counts all), so a busy issue's others are read from its comment pages."""
    raw = issue.raw
    embedded = (raw.get("fields") or {}).get("comment") or {}
    if len(embedded.get("comments") or []) >= int(embedded.get("total") or 0):
        return raw
    every = [comment.raw for comment in gateway.comments(issue.key)]
    comment = {**embedded, "comments": every, "startAt": 0, "maxResults": len(every), "total": len(every)}
    return {**raw, "fields": {**raw["fields"], "comment": comment}}


def jira_issue_deliveries(raw: dict[str, Any], since: datetime, now: datetime) -> Iterator[Replayed]:
    """The events this issue's history carries, as its webhooks would have: the creation first (in the
    status before its first move), then the changelog entries and comments of the window in time order,
    the latest status change always among them."""
    issue = JsonObject(raw, "issue")
    fields = issue.obj("fields") or JsonObject({}, "issue.fields")
    histories = (issue.obj("changelog") or JsonObject({}, "issue.changelog")).objs("histories")
    yield _created(issue, fields, histories, now)
    later: list[tuple[datetime, Replayed]] = []
    latest_move = _latest_status_change(histories)
    for history in histories:
        # The latest status change is replayed even from before the window: unless it was processed
        # already (same subject id), it brings the stored stage to the issue's current status, or is
        # refused and reverted like any transition.
        if _time(history.text("created")) >= since or history is latest_move:
            later.append((_time(history.text("created")), _updated(issue, history, now)))
    comments = (fields.obj("comment") or JsonObject({}, "issue.fields.comment")).objs("comments")
    for comment in comments:
        if _time(comment.text("created")) >= since:
            event = comment_event(issue, comment, _at(comment.text("created"), now))
            delivery = _delivery("comment_created", event.subject_id, event.key, now)
            later.append((_time(comment.text("created")), (delivery, event)))
    for _, replayed in sorted(later, key=lambda entry: entry[0]):
        yield replayed


def _created(issue: JsonObject, fields: JsonObject, histories: list[JsonObject], now: datetime) -> Replayed:
    """The issue as it was created: in the status before its first status change, by its creator."""
    actor = user_id(fields.obj("creator")) or user_id(fields.obj("reporter"))
    if actor is None:
        raise MalformedBody("user: missing accountId or name (the authenticated actor)")
    facts = issue_facts(issue)
    first = _first_status(histories)
    if first is not None:
        facts = {**facts, "status": first, "fields": {**facts["fields"], "status": first}}
    subject = f"created:{issue.text('id')}"
    event = IssueCreated(**facts, actor=actor, at=_at(fields.text("created"), now), subject_id=subject)
    return _delivery("jira:issue_created", subject, event.key, now), event


def _updated(issue: JsonObject, history: JsonObject, now: datetime) -> Replayed:
    """One changelog entry, as the `jira:issue_updated` webhook of it."""
    subject, key = f"changelog:{history.text('id')}", issue.required_text("key")
    delivery = _delivery("jira:issue_updated", subject, key, now)
    changes = field_changes(history.objs("items"))
    if not changes:
        return delivery, Ignored("jira:issue_updated/issue_generic: no field changed", key=key)
    actor = user_id(history.obj("author"))
    if actor is None:
        raise MalformedBody("user: missing accountId or name (the authenticated actor)")
    event = IssueUpdated(
        **issue_facts(issue),
        actor=actor,
        at=_at(history.text("created"), now),
        changes=changes,
        subject_id=subject,
    )
    return delivery, event


def _delivery(event_type: str, subject: str | None, key: str, now: datetime) -> Delivery:
    """The delivery a replayed event arrives in: "reconcile:<subject id>", so it is processed once."""
    return Delivery(
        source=TOOL, delivery_id=f"reconcile:{subject}", event_type=event_type, issue_key=key, received_at=now
    )


def _first_status(histories: list[JsonObject]) -> str | None:
    """The status the issue was created in: the `from` of its first status change."""
    for history in sorted(histories, key=lambda h: _time(h.text("created"))):
        for item in history.objs("items"):
            if item.text("field") == "status" and item.text("fromString"):
                return item.text("fromString")
    return None


def _latest_status_change(histories: list[JsonObject]) -> JsonObject | None:
    moves = [h for h in histories if any(i.text("field") == "status" for i in h.objs("items"))]
    return max(moves, key=lambda h: _time(h.text("created")), default=None)


def _time(text: str | None) -> datetime:
    try:
        return datetime.strptime(text or "", JIRA_TIME)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _at(text: str | None, now: datetime) -> datetime:
    """When a history entry or comment happened (UTC), or `now` when Jira gave no readable time."""
    moment = _time(text)
    return moment.astimezone(UTC) if moment.year > 1 else now
