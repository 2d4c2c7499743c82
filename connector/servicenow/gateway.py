"""The only module that talks to ServiceNow (through `pysnow`): Table API calls with typed results.

Every pysnow quirk is handled in `_send`, the one place requests leave: a fresh resource per call (so
no query string leaks from a read onto a write, as `pysnow`'s `update()` does), writes addressed by
sys_id, no retries of pysnow's or requests' own (the policy is connector/retries.py's, the one the Jira
gateway follows: inside the dispatcher's `each_call_retried()` a call is made again on its own where
that repeats nothing), a timeout on every request, and every pysnow / requests error translated into
the connector's own `ApiError` family.

ServiceNow's rate limit ("Inbound REST API rate limiting", ServiceNow/ServiceNowDocs
api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.md): a request over a rate limit rule is
denied with `429 Too Many Requests`, `{"error": {"message": "Rate limit exceeded", "detail": "Rate limit
of 10 requests per hour for Table API exceeded"}, "status": "failure"}` and a Retry-After header, "the
number of seconds after which you can retry the request"; X-RateLimit-Reset gives the Unix time of the
rule's next reset. A denied request was not performed, so any call, an insert too, is sent again after
it: `RateLimited` with `retry_after`, waited out in the worker when short, scheduled when long.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pysnow
import requests
from pysnow.exceptions import PysnowException, ResponseError
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth

from connector.errors import ApiError, AuthFailed, ConfigError, NotFound, RateLimited, Rejected, Unavailable
from connector.retries import LOST_ANSWER_WAIT, one_call

if TYPE_CHECKING:
    from connector.config import Settings

SYS_ID = re.compile(r"^[0-9a-f]{32}$")
# Calls made again on their own after a transient failure when the dispatcher retries each call
# (connector/retries.py), as the Jira gateway's are: reads, and PUTs, which set what they set however
# often they are sent. A POST (an insert: a change, a task, an event, an approval) is made again on its
# own only after a 429, which ServiceNow denied without performing it; after a 5xx or a lost answer its
# action looks before writing again (connector/servicenow/actions.py).
REPEATABLE = frozenset({"GET", "PUT"})
Timeout = float | tuple[float, float]


@dataclass(frozen=True)
class SnRecord:
    table: str
    sys_id: str
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


@dataclass(frozen=True)
class ChangeRequest:
    number: str
    sys_id: str
    state: str
    type: str
    requested_by: str  # user_name
    assigned_to: str  # user_name
    approval: str
    close_code: str
    close_notes: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Approval:
    sys_id: str
    approver: str  # user_name
    group: str  # group name ("" when the approval is not a group's)
    state: str
    change_sys_id: str


@dataclass(frozen=True)
class Page:
    records: tuple[ChangeRequest, ...]
    total: int
    next_offset: int | None


def _plain(value: Any) -> str:
    """A field value as text: references may come as `{"link": …, "value": sys_id}`."""
    if isinstance(value, dict):
        return str(value.get("value", ""))
    return "" if value is None else str(value)


def _record(table: str, row: dict[str, Any]) -> SnRecord:
    fields = {name: _plain(value) for name, value in row.items()}
    return SnRecord(table=table, sys_id=fields.get("sys_id", ""), fields=fields)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _servicenow_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return response.reason or ""
    parts = [str(error.get(key)) for key in ("message", "detail") if error.get(key)]
    return ": ".join(parts) or response.reason or ""


STATUS_ERRORS: dict[int, type[ApiError]] = {401: AuthFailed, 403: AuthFailed, 404: NotFound, 429: RateLimited}


def translate(error: Exception, what: str, *, write: bool = False) -> ApiError:
    """The connector's error for a failed pysnow / requests call; `what` names the call. A `write` whose
    answer did not come in time may still be done: it is retried no sooner than LOST_ANSWER_WAIT."""
    if isinstance(error, requests.HTTPError) and error.response is not None:
        response = error.response
        status = response.status_code
        kind = STATUS_ERRORS.get(status, Unavailable if status >= 500 else Rejected)
        reason = _servicenow_message(response)
        if status == 403 and reason.startswith("Operation Failed") and "ACL" not in reason:
            kind = Rejected  # a business rule or data policy refused the write, not a permission
        message = f"{what}: HTTP {status} {reason}".rstrip()
        return kind(message, status=status, retry_after=_retry_after(response))
    if isinstance(error, requests.ReadTimeout) and write:
        return Unavailable(f"{what}: ServiceNow did not answer in time", retry_after=LOST_ANSWER_WAIT)
    if isinstance(error, requests.Timeout):
        return Unavailable(f"{what}: ServiceNow did not answer in time")
    if isinstance(error, requests.ConnectionError):
        return Unavailable(f"{what}: cannot connect to ServiceNow")
    if isinstance(error, ResponseError):
        return Rejected(f"{what}: {error.message}: {error.detail}")
    return Unavailable(f"{what}: unexpected response ({type(error).__name__})")


class ServiceNowGateway:
    """Table API calls. Raises only `connector.errors.ApiError` subclasses."""

    def __init__(self, url: str, *, user: str, password: str, timeout: Timeout = (3.05, 10)) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"ServiceNow URL must be http(s)://host (got {url!r})")
        session = requests.Session()
        session.auth = HTTPBasicAuth(user, password)
        for prefix in ("http://", "https://"):
            session.mount(prefix, HTTPAdapter(max_retries=0))
        self.url = url.rstrip("/")
        self.user = user
        self._timeout = timeout
        self._client = pysnow.Client(
            host=parts.netloc + parts.path, use_ssl=parts.scheme == "https", session=session
        )
        self._user_names: dict[str, str] = {}  # sys_id -> user_name
        self._user_ids: dict[str, str] = {}  # user_name -> sys_id
        self._groups: dict[str, SnRecord] = {}  # name -> group record

    def __repr__(self) -> str:
        return f"ServiceNowGateway(url={self.url!r}, user={self.user!r})"

    def close(self) -> None:
        self._client.close()

    # --- the one place requests are sent ------------------------------------------------------------

    def _send(
        self,
        method: str,
        table: str,
        *,
        sys_id: str = "",
        payload: dict[str, Any] | None = None,
        query: str = "",
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows of the answer and the total count (`X-Total-Count`, else the number of rows)."""
        what = f"{method} {table}" + (f"/{sys_id}" if sys_id else "")

        def send() -> tuple[list[dict[str, Any]], int]:
            resource = self._client.resource(api_path=f"/table/{table}", timeout=self._timeout)
            resource.parameters.exclude_reference_link = True
            try:
                if method == "GET" and not sys_id:
                    response = resource.get(query=query, limit=limit, offset=offset)
                else:
                    body = None if payload is None else json.dumps(payload)
                    path = f"/{sys_id}" if sys_id else None
                    response = resource.request(method, path_append=path, data=body)
                rows = list(response.all())
            except (requests.RequestException, PysnowException, ValueError) as e:
                if self._is_empty_query(e, method, sys_id):
                    return [], 0
                raise translate(e, what, write=method != "GET") from e
            total = response.headers.get("X-Total-Count", "")
            return rows, int(total) if total.isdigit() else len(rows)

        return one_call(send, repeatable=method in REPEATABLE)

    @staticmethod
    def _is_empty_query(error: Exception, method: str, sys_id: str) -> bool:
        """Table API v1 answers a query without matches with 404 "No Record found"."""
        response = getattr(error, "response", None)
        return (
            method == "GET"
            and not sys_id
            and isinstance(error, requests.HTTPError)
            and response is not None
            and response.status_code == 404
        )

    # --- generic table access (installer, doctor) -----------------------------------------------------

    def get(self, table: str, sys_id: str) -> SnRecord:
        rows, _ = self._send("GET", table, sys_id=sys_id)
        if not rows:
            raise NotFound(f"GET {table}/{sys_id}: no such record", status=404)
        return _record(table, rows[0])

    def find(self, table: str, query: str = "", *, limit: int = 100, offset: int = 0) -> tuple[SnRecord, ...]:
        rows, _ = self._send("GET", table, query=query, limit=limit, offset=offset)
        return tuple(_record(table, row) for row in rows)

    def find_one(self, table: str, query: str) -> SnRecord | None:
        found = self.find(table, query, limit=1)
        return found[0] if found else None

    def create(self, table: str, fields: dict[str, str]) -> SnRecord:
        rows, _ = self._send("POST", table, payload=fields)
        return _record(table, rows[0])

    def update(self, table: str, sys_id: str, fields: dict[str, str]) -> SnRecord:
        if not SYS_ID.match(sys_id):
            raise Rejected(f"PUT {table}: {sys_id!r} is not a sys_id")
        rows, _ = self._send("PUT", table, sys_id=sys_id, payload=fields)
        return _record(table, rows[0])

    # --- users and groups -----------------------------------------------------------------------------

    def user_by_name(self, user_name: str) -> SnRecord | None:
        user = self.find_one("sys_user", f"user_name={user_name}")
        if user is not None:
            self._remember(user.sys_id, user_name)
        return user

    def user_sys_id(self, user_name: str) -> str:
        if user_name not in self._user_ids and self.user_by_name(user_name) is None:
            raise NotFound(f"ServiceNow user {user_name!r} does not exist", status=404)
        return self._user_ids[user_name]

    def user_names(self, sys_ids: list[str] | tuple[str, ...]) -> dict[str, str]:
        """sys_id → user_name for the given users (unknown ones are left out)."""
        missing = sorted({s for s in sys_ids if s and s not in self._user_names})
        if missing:
            for user in self.find("sys_user", f"sys_idIN{','.join(missing)}", limit=len(missing)):
                self._remember(user.sys_id, user.get("user_name"))
        return {s: self._user_names[s] for s in sys_ids if s in self._user_names}

    def _remember(self, sys_id: str, user_name: str) -> None:
        self._user_names[sys_id] = user_name
        self._user_ids[user_name] = sys_id

    def group(self, name: str) -> SnRecord | None:
        """The group record, cached: groups are created by admins, not renamed between two calls."""
        if name not in self._groups:
            found = self.find_one("sys_user_group", f"name={name}")
            if found is None:
                return None
            self._groups[name] = found
        return self._groups[name]

    def _group_names(self, sys_ids: list[str]) -> dict[str, str]:
        """sys_id → name, from the group cache where it can (groups are not renamed between calls)."""
        known = {group.sys_id: name for name, group in self._groups.items()}
        wanted = sorted({s for s in sys_ids if s and s not in known})
        if wanted:
            for group in self.find("sys_user_group", f"sys_idIN{','.join(wanted)}", limit=len(wanted)):
                self._groups.setdefault(group.get("name"), group)
                known[group.sys_id] = group.get("name")
        return {s: known[s] for s in sys_ids if s in known}

    def group_members(self, group_name: str) -> tuple[str, ...]:
        """User names of the group's members, sorted; NotFound when the group does not exist."""
        group = self.group(group_name)
        if group is None:
            raise NotFound(f"ServiceNow group {group_name!r} does not exist", status=404)
        members = self.find("sys_user_grmember", f"group={group.sys_id}", limit=1000)
        return tuple(sorted(self.user_names([m.get("user") for m in members]).values()))

    # --- changes --------------------------------------------------------------------------------------

    def get_change(self, number_or_sys_id: str, *, table: str = "change_request") -> ChangeRequest:
        key = "sys_id" if SYS_ID.match(number_or_sys_id) else "number"
        found = self.find_one(table, f"{key}={number_or_sys_id}")
        if found is None:
            raise NotFound(f"change {number_or_sys_id} does not exist", status=404)
        return self._change(found)

    def _change(self, record: SnRecord) -> ChangeRequest:
        names = self.user_names([record.get("requested_by"), record.get("assigned_to")])
        return ChangeRequest(
            number=record.get("number"),
            sys_id=record.sys_id,
            state=record.get("state"),
            type=record.get("type"),
            requested_by=names.get(record.get("requested_by"), ""),
            assigned_to=names.get(record.get("assigned_to"), ""),
            approval=record.get("approval"),
            close_code=record.get("close_code"),
            close_notes=record.get("close_notes"),
            fields=record.fields,
        )

    def update_change(self, sys_id: str, fields: dict[str, str]) -> ChangeRequest:
        return self._change(self.update("change_request", sys_id, fields))

    def set_state(self, sys_id: str, state: str | int, *, work_note: str = "") -> ChangeRequest:
        fields = {"state": str(state)} | ({"work_notes": work_note} if work_note else {})
        return self.update_change(sys_id, fields)

    def add_work_note(self, sys_id: str, text: str, *, table: str = "change_request") -> None:
        self.update(table, sys_id, {"work_notes": text})

    def add_comment(self, sys_id: str, text: str, *, table: str = "change_request") -> None:
        self.update(table, sys_id, {"comments": text})

    def changes_updated_since(
        self,
        since: datetime,
        offset: int = 0,
        limit: int = 100,
        *,
        change_type: str = "emergency",
        table: str = "change_request",
    ) -> Page:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        query = f"type={change_type}^sys_updated_on>{stamp}^ORDERBYsys_updated_on"
        rows, total = self._send("GET", table, query=query, limit=limit, offset=offset)
        records = tuple(self._change(_record(table, row)) for row in rows)
        following = offset + len(records)
        return Page(records, total, following if rows and following < total else None)

    # --- approvals ------------------------------------------------------------------------------------

    def group_approvals(self, change_sys_id: str) -> dict[str, str]:
        """sysapproval_group sys_id → the name of its group, for the group approvals of a change.

        `sysapproval_approver.group` references the group approval (`sysapproval_group`), whose
        `assignment_group` is the `sys_user_group`
        (https://www.servicenow.com/docs/bundle/xanadu-platform-administration/page/administer/approvals/concept/c_ApprovalTables.html)."""
        found = self.find("sysapproval_group", f"parent={change_sys_id}", limit=100)
        names = self._group_names([row.get("assignment_group") for row in found])
        return {row.sys_id: names.get(row.get("assignment_group"), "") for row in found}

    def approvals(self, change_sys_id: str, *, groups: dict[str, str] | None = None) -> tuple[Approval, ...]:
        """The change's approvals; `groups` (group approval → group name) when the caller has them."""
        query = f"sysapproval={change_sys_id}^ORDERBYsys_created_on"
        rows = self.find("sysapproval_approver", query, limit=500)
        names = self.user_names([row.get("approver") for row in rows])
        if groups is None:
            groups = self.group_approvals(change_sys_id) if any(row.get("group") for row in rows) else {}
        return tuple(
            Approval(
                row.sys_id,
                names.get(row.get("approver"), ""),
                groups.get(row.get("group"), ""),
                row.get("state"),
                change_sys_id,
            )
            for row in rows
        )

    def request_approvals(self, change_sys_id: str, group_name: str) -> tuple[Approval, ...]:
        """Ask the group for approval unless the change already has a group approval of it (its change
        model may ask the group itself): a `sysapproval_group` for the group, and a requested approval
        for every member not asked yet, each pointing at that group approval. Returns the new ones."""
        group = self.group(group_name)
        if group is None:
            raise NotFound(f"ServiceNow group {group_name!r} does not exist", status=404)
        asked_groups = self.group_approvals(change_sys_id)
        mine = [sys_id for sys_id, name in asked_groups.items() if name == group_name]
        if mine:
            group_approval = mine[0]
        else:
            group_approval = self.create(
                "sysapproval_group",
                {"parent": change_sys_id, "assignment_group": group.sys_id, "approval": "requested"},
            ).sys_id
            asked_groups[group_approval] = group_name
        approvals = self.approvals(change_sys_id, groups=asked_groups)
        asked = {a.approver for a in approvals if a.group == group_name}
        created = []
        for member in self.group_members(group_name):
            if member not in asked:
                row = self.create(
                    "sysapproval_approver",
                    {
                        "sysapproval": change_sys_id,
                        "document_id": change_sys_id,
                        "source_table": "change_request",
                        "approver": self.user_sys_id(member),
                        "group": group_approval,
                        "state": "requested",
                    },
                )
                created.append(Approval(row.sys_id, member, group_name, row.get("state"), change_sys_id))
        return tuple(created)

    # --- tasks and events -----------------------------------------------------------------------------

    def create_task(self, change_sys_id: str, fields: dict[str, str], *, table: str = "change_task") -> str:
        return self.create(table, {**fields, "change_request": change_sys_id}).get("number")

    def find_tasks(
        self, change_sys_id: str, short_description_prefix: str, task_type: str, *, table: str = "change_task"
    ) -> tuple[SnRecord, ...]:
        query = (
            f"change_request={change_sys_id}^change_task_type={task_type}"
            f"^short_descriptionSTARTSWITH{short_description_prefix}^ORDERBYsys_created_on"
        )
        return self.find(table, query)

    def fire_event(
        self,
        name: str,
        instance: str,
        table: str,
        parm1: str = "",
        parm2: str = "",
        *,
        process_on: datetime | None = None,
    ) -> str:
        """Queue a `sysevent` as `gs.eventQueue` does: `state=ready`, `process_on` when the alert was
        raised (now unless given) and the default queue, so the event processor picks it up; the
        installed notifications send it to the recipients in parm1 / parm2 (user sys_ids or e-mail
        addresses)."""
        process_on = (process_on or datetime.now(UTC)).astimezone(UTC)
        event = self.create(
            "sysevent",
            {
                "name": name,
                "instance": instance,
                "table": table,
                "parm1": parm1,
                "parm2": parm2,
                "state": "ready",
                "process_on": process_on.strftime("%Y-%m-%d %H:%M:%S"),
                "queue": "",
            },
        )
        return event.sys_id

    def member_sys_ids(self, group_name: str) -> tuple[str, ...]:
        """The sys_ids of a group's members (an event's recipients must be sys_ids or addresses)."""
        group = self.group(group_name)
        if group is None:
            raise NotFound(f"ServiceNow group {group_name!r} does not exist", status=404)
        members = self.find("sys_user_grmember", f"group={group.sys_id}", limit=1000)
        return tuple(dict.fromkeys(m.get("user") for m in members if m.get("user")))


def gateway_from_settings(settings: Settings) -> ServiceNowGateway:
    """The gateway for `ECM_SERVICENOW_URL` / `_USER` / `_PASSWORD`; ConfigError names what is missing."""
    for name in ("servicenow_url", "servicenow_user", "servicenow_password"):
        if not getattr(settings, name, None):
            raise ConfigError(f"ECM_{name.upper()}: required to talk to ServiceNow")
    return ServiceNowGateway(
        settings.servicenow_url,
        user=settings.servicenow_user,
        password=settings.servicenow_password.get_secret_value(),
    )
