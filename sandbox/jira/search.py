"""`search/jql`: evaluate the JQL subset over the issues, page with `nextPageToken`.

Jira Cloud's search is eventually consistent: "Recent updates might not be immediately visible in the
returned search results. If you need read-after-write consistency, you can utilize the
`reconcileIssues` parameter" (OpenAPI document, `GET /rest/api/3/search/jql`;
https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile/). With `state.search_lag`
seconds set, every change of an issue reaches the search index that much later: until then search/jql
matches and returns the issue as it was (a new issue not at all), unless its id is in `reconcileIssues`
(at most 50 ids).
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable, Collection
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.jira import jql
from sandbox.jira.errors import bad_request
from sandbox.jira.seed import User
from sandbox.jira.state import Issue, JiraState

MAX_PAGE = 100
MAX_RECONCILE = 50


def _users(state: JiraState, name: str | None) -> list[str]:
    user = state.users.get(name or "")
    return [user.name, user.account_id, user.key, user.email] if user else []


def _custom(field_id: str) -> Callable[[JiraState, Issue], list[Any]]:
    def values(state: JiraState, issue: Issue) -> list[Any]:
        value = issue.fields.get(field_id)
        items = value if isinstance(value, list) else [value]
        return [v.get("value") if isinstance(v, dict) else v for v in items if v is not None]

    return values


CANDIDATES: dict[str, Callable[[JiraState, Issue], list[Any]]] = {
    "project": lambda s, i: list(s.projects[i.project_id].values()),
    "issuetype": lambda s, i: [
        s.issue_types[i.fields["issuetype"]]["id"],
        s.issue_types[i.fields["issuetype"]]["name"],
    ],
    "type": lambda s, i: CANDIDATES["issuetype"](s, i),
    "status": lambda s, i: [i.fields["status"], s.statuses[i.fields["status"]].name],
    "key": lambda s, i: [i.key, i.id],
    "issuekey": lambda s, i: [i.key, i.id],
    "id": lambda s, i: [i.id],
    "labels": lambda s, i: list(i.fields.get("labels") or []),
    "created": lambda s, i: [i.created],
    "updated": lambda s, i: [i.updated],
    "duedate": lambda s, i: [jql.parse_date(i.fields["duedate"])] if i.fields.get("duedate") else [],
    "assignee": lambda s, i: _users(s, i.fields.get("assignee")),
    "reporter": lambda s, i: _users(s, i.fields.get("reporter")),
}


def _resolver(state: JiraState, name: str) -> Callable[[JiraState, Issue], list[Any]]:
    if name in CANDIDATES:
        return CANDIDATES[name]
    field_id = name
    if name.startswith("cf[") and name.endswith("]"):
        field_id = f"customfield_{name[3:-1]}"
    by_name = {cf.name.lower(): cf.id for cf in state.custom_fields.values()}
    field_id = by_name.get(name, field_id)
    if field_id in state.custom_fields:
        return _custom(field_id)
    raise bad_request(f"Field '{name}' does not exist or you do not have permission to view it.")


def compile_query(state: JiraState, text: str, user: User | None = None) -> Callable[[Issue], bool]:
    """`user` is who searches: date literals are read in their profile's time zone (UTC without one)."""
    try:
        query = jql.parse(text or "")
    except jql.JqlError as e:
        raise bad_request(str(e)) from e
    checks = [(clause, _resolver(state, clause.field)) for clause in query.clauses]
    zone = ZoneInfo(user.time_zone) if user else UTC

    def test(issue: Issue) -> bool:
        try:
            return all(jql.matches(clause, values(state, issue), zone) for clause, values in checks)
        except jql.JqlError as e:
            raise bad_request(str(e)) from e

    test.order_by = query.order_by  # type: ignore[attr-defined]
    return test


def _sort_key(state: JiraState, name: str) -> Callable[[Issue], Any]:
    if name in ("key", "issuekey", "id"):
        return lambda i: (i.project_id, int(i.key.rsplit("-", 1)[-1]))
    if name in ("created", "updated"):
        return lambda i: getattr(i, name)
    resolver = _resolver(state, name)
    return lambda i: [str(v) for v in resolver(state, i)]


def index_later(state: JiraState, event: dict[str, Any]) -> None:
    """Queue the issue an event changed for the search index, `state.search_lag` seconds from now."""
    issue = state.issues.get(str(event.get("issue_id", "")))
    if issue is None or state.search_lag <= 0:
        return
    queued = state.search_index.setdefault(issue.id, [])
    now = time.monotonic()
    visible = [entry for entry in queued if entry[0] <= now]
    queued[:] = [*visible[-1:], *(entry for entry in queued if entry[0] > now)]
    queued.append((now + state.search_lag, copy.deepcopy(issue)))


def indexed(state: JiraState, reconcile: Collection[str] = ()) -> list[Issue]:
    """The issues as search sees them: the live issue once its last change is indexed (or when it is
    named in `reconcile`), the last indexed copy before that, nothing for an issue not indexed yet."""
    now, seen = time.monotonic(), []
    for issue in state.issues.values():
        queued = state.search_index.get(issue.id)
        if issue.id in reconcile or not queued or queued[-1][0] <= now:
            seen.append(issue)
            continue
        visible = [snapshot for at, snapshot in queued if at <= now]
        if visible:
            seen.append(visible[-1])
    return seen


def reconcile_ids(value: Any) -> set[str]:
    """`reconcileIssues`: an array of int64 issue ids (a repeated query parameter, or a body array)."""
    items = value if isinstance(value, list) else [value] if value is not None else []
    ids = {str(item).strip() for item in items}
    if any(not i.isdigit() for i in ids):
        raise bad_request("reconcileIssues must be a list of issue ids.")
    if len(ids) > MAX_RECONCILE:
        raise bad_request(f"reconcileIssues accepts at most {MAX_RECONCILE} issue ids.")
    return ids


def find(
    state: JiraState, text: str, reconcile: Collection[str] | None = None, user: User | None = None
) -> list[Issue]:
    """Every issue the query matches, in its ORDER BY. With `reconcile` (search/jql), as the
    eventually consistent index sees them; without (Data Center's search), as they are."""
    test = compile_query(state, text, user)
    pool = state.issues.values() if reconcile is None else indexed(state, reconcile)
    found = [issue for issue in pool if test(issue)]
    for name, descending in reversed(test.order_by):  # type: ignore[attr-defined]
        found.sort(key=_sort_key(state, name), reverse=descending)
    return found


def run_search(
    state: JiraState,
    text: str,
    token: str | None,
    max_results: int | None,
    reconcile: Collection[str] = (),
    user: User | None = None,
) -> tuple[list[Issue], str | None]:
    found = find(state, text, reconcile, user)
    start = _decode(token)
    size = max(1, min(MAX_PAGE, max_results if max_results is not None else 50))
    page = found[start : start + size]
    more = start + size < len(found)
    return page, _encode(start + size) if more else None


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError) as e:
        raise bad_request("The provided next page token is invalid or expired.") from e
