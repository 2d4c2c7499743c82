"""`search/jql`: evaluate the JQL subset over the issues, page with `nextPageToken`."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sandbox.jira import jql
from sandbox.jira.errors import bad_request
from sandbox.jira.state import Issue, JiraState

MAX_PAGE = 100


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


def compile_query(state: JiraState, text: str) -> Callable[[Issue], bool]:
    try:
        query = jql.parse(text or "")
    except jql.JqlError as e:
        raise bad_request(str(e)) from e
    checks = [(clause, _resolver(state, clause.field)) for clause in query.clauses]

    def test(issue: Issue) -> bool:
        try:
            return all(jql.matches(clause, values(state, issue)) for clause, values in checks)
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


def find(state: JiraState, text: str) -> list[Issue]:
    """Every issue the query matches, in its ORDER BY."""
    test = compile_query(state, text)
    found = [issue for issue in state.issues.values() if test(issue)]
    for name, descending in reversed(test.order_by):  # type: ignore[attr-defined]
        found.sort(key=_sort_key(state, name), reverse=descending)
    return found


def run_search(
    state: JiraState, text: str, token: str | None, max_results: int | None
) -> tuple[list[Issue], str | None]:
    found = find(state, text)
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
