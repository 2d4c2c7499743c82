"""The Jira gateway: the only module (with `admin.py`) that talks to Jira, through the `jira` library.

`JiraGateway` builds the client once, with no retries of its own (the outbox dispatcher's policy,
`connector/retries.py`, makes each call again on its own where that repeats nothing), no
`serverInfo` call and an explicit timeout. Every library or transport error leaves as the connector's
own `ApiError` family (`connector.errors`), never as `JIRAError` or a `requests` exception. Results are
frozen dataclasses; field values are rendered as plain strings by the webhook parser's renderer
(`connector/inbound/render.py`), so a field reads the same from a webhook and from the API.

Cloud authenticates with e-mail + API token (basic auth) and searches with `/rest/api/3/search/jql`;
Data Center uses a personal access token (Bearer) and `/rest/api/2/search`. Issue calls use API v2,
whose bodies are plain text on both flavours.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from jira import JIRA, JIRAError

from connector import __version__
from connector.errors import ApiError, AuthFailed, ConfigError, NotFound, RateLimited, Rejected, Unavailable
from connector.inbound.render import comment_text, render_value
from connector.jira.admin import AdminCalls
from connector.retries import LOST_ANSWER_WAIT, one_call

if TYPE_CHECKING:
    from connector.config import Settings

FLAVORS = ("cloud", "datacenter")
DEFAULT_TIMEOUT = (3.05, 10.0)
STATUS_ERRORS: dict[int, type[ApiError]] = {401: AuthFailed, 403: AuthFailed, 404: NotFound, 429: RateLimited}
# Names the connector in Jira's access logs (and lets the tests tell its requests from other clients').
USER_AGENT = f"ecm-connector/{__version__}"
COMMENT_PAGE = 100  # the most Jira Cloud returns per comment page
# Calls made again on their own after a transient failure when the dispatcher retries each call
# (connector/retries.py): reads, and PUTs, which set what they set however often they are sent. A POST
# (a comment, an issue, a transition, a mail) is made again on its own only after a 429, which Jira
# refused without performing it; after a 5xx its action looks before writing again.
REPEATABLE = frozenset({"GET", "PUT"})
OWN_FIELDS = ("issuetype", "status", "reporter", "assignee", "summary", "labels", "issuelinks")


@dataclass(frozen=True)
class JiraLink:
    type: str  # link type name, e.g. "Post-Mortem"
    direction: str  # "outward" (this issue -> key) or "inward" (key -> this issue)
    key: str


@dataclass(frozen=True)
class JiraIssue:
    key: str
    id: str
    issue_type: str
    status: str
    reporter: str | None  # accountId on Cloud, user name on Data Center
    assignee: str | None
    summary: str
    labels: tuple[str, ...]
    fields: dict[str, str | None]  # every other returned field, rendered as text
    links: tuple[JiraLink, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # as Jira sent it


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to_status: str


@dataclass(frozen=True)
class JiraUser:
    id: str  # accountId on Cloud, user name on Data Center
    display_name: str
    email: str | None = None
    time_zone: str | None = None  # the profile's zone, e.g. "America/Los_Angeles"


@dataclass(frozen=True)
class JiraComment:
    id: str
    author: str | None
    body: str
    created: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # as Jira sent it


@dataclass(frozen=True)
class SearchPage:
    issues: tuple[JiraIssue, ...]
    next_page_token: str | None


def error_from_response(action: str, response: requests.Response | None) -> ApiError:
    """The connector's error for a Jira answer that is not 2xx (status code table, Jira's messages)."""
    status = response.status_code if response is not None else None
    if status is None:
        return Unavailable(f"{action}: no answer from Jira")
    messages = _jira_messages(response)
    text = f"{action}: HTTP {status}" + (f": {messages}" if messages else "")
    kind = STATUS_ERRORS.get(status) or (Unavailable if status >= 500 else Rejected)
    return kind(text, status=status, retry_after=_retry_after(response) if status in (429, 503) else None)


def _jira_messages(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{name}: {message}" for name, message in (body.get("errors") or {}).items()]
    parts += [str(body[k]) for k in ("message", "errorMessage") if body.get(k)]
    return "; ".join(parts)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


@contextmanager
def translated(action: str, *, write: bool = False) -> Iterator[None]:
    """Turn `JIRAError` and `requests` exceptions into the connector's own errors. A `write` whose
    answer did not come in time is retried no sooner than LOST_ANSWER_WAIT."""
    try:
        yield
    except JIRAError as e:
        raise error_from_response(action, e.response) from e
    except requests.HTTPError as e:
        raise error_from_response(action, e.response) from e
    except requests.ReadTimeout as e:
        if not write:
            raise Unavailable(f"{action}: Jira did not answer (ReadTimeout)") from e
        # sent, and perhaps still being done: looked at again only once Jira has had time to finish
        raise Unavailable(f"{action}: Jira did not answer in time", retry_after=LOST_ANSWER_WAIT) from e
    except (requests.Timeout, requests.ConnectionError) as e:
        raise Unavailable(f"{action}: Jira did not answer ({type(e).__name__})") from e
    except requests.RequestException as e:
        raise Unavailable(f"{action}: {type(e).__name__}") from e


class JiraGateway(AdminCalls):
    """Jira Cloud or Data Center behind the connector's own small API."""

    def __init__(
        self,
        url: str,
        *,
        flavor: str = "cloud",
        user: str | None = None,
        token: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        if flavor not in FLAVORS:
            raise ConfigError(f"Jira flavor must be one of {', '.join(FLAVORS)} (got {flavor!r})")
        if flavor == "cloud" and not user:
            raise ConfigError("ECM_JIRA_USER: Jira Cloud needs the account's e-mail with the API token")
        if not token:
            raise ConfigError("ECM_JIRA_TOKEN: the Jira API token or personal access token is not set")
        self.url = url.rstrip("/")
        self.flavor = flavor
        self.api = "3" if flavor == "cloud" else "2"
        auth: dict[str, Any] = {"basic_auth": (user, token)} if flavor == "cloud" else {"token_auth": token}
        with translated("connect"):
            self._jira = JIRA(
                server=self.url,
                max_retries=0,
                get_server_info=False,
                timeout=timeout,
                options={"headers": {"User-Agent": USER_AGENT}},
                **auth,
            )

    def __repr__(self) -> str:
        return f"JiraGateway({self.url!r}, flavor={self.flavor!r})"

    # --- raw REST through the library's session ----------------------------------------------------

    def _call(
        self, method: str, path: str, action: str, *, params: dict | None = None, json: Any = None
    ) -> Any:
        def send() -> requests.Response:
            with translated(action, write=method != "GET"):
                return self._jira._session.request(method, f"{self.url}{path}", params=params, json=json)

        response = one_call(send, repeatable=method in REPEATABLE)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def user_ref(self, user: str) -> dict[str, str]:
        return {"accountId": user} if self.flavor == "cloud" else {"name": user}

    # --- issues ------------------------------------------------------------------------------------

    def get_issue(self, key: str, fields: Iterable[str] | None = None) -> JiraIssue:
        params = {"fields": ",".join((*OWN_FIELDS, *fields))} if fields else None
        return self._issue_from(
            self._call("GET", f"/rest/api/2/issue/{key}", f"get issue {key}", params=params)
        )

    def issue_with_history(self, key: str) -> dict[str, Any]:
        """The issue as Jira sends it, every field and its changelog (`expand=changelog`), as search
        with `expand=changelog` returns each issue; comments as embedded (the latest 100 on Cloud)."""
        params = {"fields": "*all", "expand": "changelog"}
        return self._call("GET", f"/rest/api/2/issue/{key}", f"get issue {key}", params=params) or {}

    def transitions(self, key: str) -> tuple[Transition, ...]:
        def send() -> list[dict[str, Any]]:
            with translated(f"list transitions of {key}"):
                return self._jira.transitions(key)

        found = one_call(send, repeatable=True)
        return tuple(Transition(str(t["id"]), t["name"], (t.get("to") or {}).get("name", "")) for t in found)

    def transition(
        self, key: str, transition_id: str, *, fields: dict | None = None, comment: str | None = None
    ) -> None:
        """`comment` is added by the same request: both happen, or neither. The id goes as the string the
        OpenAPI document asks for (`jira`'s `transition_issue` would send it as a number)."""
        body: dict[str, Any] = {"transition": {"id": str(transition_id)}, "fields": fields or {}}
        if comment:
            body["update"] = {"comment": [{"add": {"body": comment}}]}
        self._call("POST", f"/rest/api/2/issue/{key}/transitions", f"transition {key}", json=body)

    def add_comment(self, key: str, body: str) -> str:
        def send() -> str:
            with translated(f"comment on {key}", write=True):
                return str(self._jira.add_comment(key, body).id)

        return one_call(send, repeatable=False)

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Edit a comment in place (`PUT issue/{key}/comment/{id}`; the connector edits only its own,
        which *Edit own comments* allows). No one is notified of the edit."""
        self._call(
            "PUT",
            f"/rest/api/2/issue/{key}/comment/{comment_id}",
            f"update a comment of {key}",
            params={"notifyUsers": "false"},
            json={"body": body},
        )

    def comments(self, key: str) -> tuple[JiraComment, ...]:
        """Every comment, oldest first, read page by page: Jira Cloud answers at most 100 per request
        (`startAt` / `maxResults` / `total`), whatever is asked for."""
        found: list[JiraComment] = []
        while True:
            page = (
                self._call(
                    "GET",
                    f"/rest/api/2/issue/{key}/comment",
                    f"list comments of {key}",
                    params={"startAt": len(found), "maxResults": COMMENT_PAGE, "orderBy": "created"},
                )
                or {}
            )
            values = page.get("comments") or []
            found += [self._comment_from(raw) for raw in values]
            if not values or len(found) >= int(page.get("total") or 0):
                return tuple(found)

    def edit_issue(self, key: str, fields: dict[str, Any]) -> None:
        self._call("PUT", f"/rest/api/2/issue/{key}", f"edit {key}", json={"fields": fields})

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        update = {"labels": [{"add": label} for label in labels]}
        self._call("PUT", f"/rest/api/2/issue/{key}", f"label {key}", json={"update": update})

    def create_issue(
        self,
        project: str,
        issue_type: str,
        summary: str,
        description: str = "",
        *,
        fields: dict[str, Any] | None = None,
        assignee: str | None = None,
        linked_from: tuple[str, str] | None = None,
    ) -> str:
        """`linked_from=(link type, key)` links the new issue in the same request, as "`key` <outward
        description> new issue": Jira creates both or neither, so no crash can leave it unlinked."""
        values = {
            "project": {"key": project},
            "issuetype": {"name": issue_type},
            "summary": summary,
            "description": description,
            **(fields or {}),
        }
        if assignee:
            values["assignee"] = self.user_ref(assignee)
        body: dict[str, Any] = {"fields": values}
        if linked_from:  # seen from the new issue, the from-issue is its inward end
            link_type, from_key = linked_from
            link = {"type": {"name": link_type}, "inwardIssue": {"key": from_key}}
            body["update"] = {"issuelinks": [{"add": link}]}
        action = f"create {issue_type} in {project}"
        found = self._call("POST", "/rest/api/2/issue", action, json=body)
        if not isinstance(found, dict) or not found.get("key"):
            raise Rejected(f"{action}: Jira answered without the new issue's key")
        return str(found["key"])

    def create_link(self, link_type_name: str, from_key: str, to_key: str) -> None:
        """Link so that Jira reads "`from_key` <outward description> `to_key`" (EMG-1 has post-mortem
        EMG-2). `POST issueLink` names that *from* issue `inwardIssue`: it is the link's source, the one
        whose `issuelinks` then show `to_key` as `outwardIssue` (the `jira` library's
        `create_issue_link(type, inwardIssue="the issue to link from", outwardIssue=...)`)."""
        body = {
            "type": {"name": link_type_name},
            "inwardIssue": {"key": from_key},
            "outwardIssue": {"key": to_key},
        }
        self._call("POST", "/rest/api/2/issueLink", f"link {from_key} to {to_key}", json=body)

    def notify(
        self,
        key: str,
        subject: str,
        text_body: str,
        *,
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
        reporter: bool = False,
        assignee: bool = False,
    ) -> None:
        to = {
            "reporter": reporter,
            "assignee": assignee,
            "users": [self.user_ref(u) for u in users],
            "groups": [{"name": g} for g in groups],
        }
        body = {"subject": subject, "textBody": text_body, "to": to}
        self._call("POST", f"/rest/api/2/issue/{key}/notify", f"notify about {key}", json=body)

    def search(
        self,
        jql: str,
        *,
        fields: Iterable[str] = (),
        next_page_token: str | None = None,
        max_results: int = 100,
        expand: str | None = None,
    ) -> SearchPage:
        params: dict[str, Any] = {
            "jql": jql,
            "maxResults": max_results,
            "fields": ",".join((*OWN_FIELDS, *fields)),
        }
        if expand:
            params["expand"] = expand
        if self.flavor == "cloud":
            if next_page_token:
                params["nextPageToken"] = next_page_token
            found = self._call("GET", "/rest/api/3/search/jql", "search", params=params) or {}
            token = None if found.get("isLast", True) else found.get("nextPageToken")
        else:
            start = int(next_page_token or 0)
            params["startAt"] = start
            found = self._call("GET", "/rest/api/2/search", "search", params=params) or {}
            end = start + len(found.get("issues", []))
            token = str(end) if end < int(found.get("total", 0)) and found.get("issues") else None
        return SearchPage(tuple(self._issue_from(raw) for raw in found.get("issues", [])), token)

    # --- people ------------------------------------------------------------------------------------

    def group_members(self, group: str) -> tuple[JiraUser, ...]:
        members: list[JiraUser] = []
        start = 0
        while True:
            page = (
                self._call(
                    "GET",
                    f"/rest/api/{self.api}/group/member",
                    f"list members of {group}",
                    params={"groupname": group, "startAt": start, "maxResults": 50},
                )
                or {}
            )
            values = page.get("values", [])
            members += [self._user_from(raw) for raw in values]
            start += len(values)
            if page.get("isLast", True) or not values:
                return tuple(members)

    def user(self, user: str) -> JiraUser:
        params = {"accountId": user} if self.flavor == "cloud" else {"username": user}
        return self._user_from(
            self._call("GET", f"/rest/api/{self.api}/user", f"read user {user}", params=params) or {}
        )

    def myself(self) -> JiraUser:
        return self._user_from(self._call("GET", f"/rest/api/{self.api}/myself", "read own account") or {})

    def my_permissions(self, keys: Iterable[str], project_key: str | None = None) -> dict[str, bool]:
        params = {"permissions": ",".join(keys), **({"projectKey": project_key} if project_key else {})}
        found = self._call(
            "GET", f"/rest/api/{self.api}/mypermissions", "read own permissions", params=params
        )
        return {k: bool(v.get("havePermission")) for k, v in ((found or {}).get("permissions") or {}).items()}

    # --- parsing -----------------------------------------------------------------------------------

    def _user_id(self, raw: dict | None) -> str | None:
        if not raw:
            return None
        return raw.get("accountId") if self.flavor == "cloud" else raw.get("name") or raw.get("key")

    def _comment_from(self, raw: dict) -> JiraComment:
        return JiraComment(
            str(raw["id"]),
            self._user_id(raw.get("author")),
            comment_text(raw.get("body")),
            raw.get("created", ""),
            raw,
        )

    def _user_from(self, raw: dict) -> JiraUser:
        return JiraUser(
            self._user_id(raw) or "", raw.get("displayName", ""), raw.get("emailAddress"), raw.get("timeZone")
        )

    def _issue_from(self, raw: dict) -> JiraIssue:
        f = raw.get("fields") or {}
        return JiraIssue(
            key=raw["key"],
            id=str(raw.get("id", "")),
            issue_type=(f.get("issuetype") or {}).get("name", ""),
            status=(f.get("status") or {}).get("name", ""),
            reporter=self._user_id(f.get("reporter")),
            assignee=self._user_id(f.get("assignee")),
            summary=f.get("summary") or "",
            labels=tuple(f.get("labels") or ()),
            fields={k: render_value(v) for k, v in f.items() if k not in OWN_FIELDS},
            links=tuple(_links(f.get("issuelinks") or [])),
            raw=raw,
        )


def _links(raw_links: list[dict]) -> Iterator[JiraLink]:
    for link in raw_links:
        name = (link.get("type") or {}).get("name", "")
        for direction in ("outward", "inward"):
            other = link.get(f"{direction}Issue")
            if other:
                yield JiraLink(name, direction, other["key"])


def gateway_from_settings(settings: Settings) -> JiraGateway:
    """The gateway `ECM_JIRA_URL`, `ECM_JIRA_USER`, `ECM_JIRA_TOKEN` and `ECM_JIRA_FLAVOR` describe."""
    if not settings.jira_url:
        raise ConfigError("ECM_JIRA_URL: not set (the base URL of your Jira)")
    token = settings.jira_token.get_secret_value() if settings.jira_token is not None else ""
    return JiraGateway(
        settings.jira_url, flavor=str(settings.jira_flavor), user=settings.jira_user, token=token
    )
