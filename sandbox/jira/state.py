"""In-memory state of one sandbox Jira, guarded by one lock."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.jira.adf import jira_time
from sandbox.jira.permissions import default_grants
from sandbox.jira.schemes import ProjectConfig
from sandbox.jira.seed import (
    PROJECT_ID,
    PROJECT_KEY,
    SEED_ISSUE_TYPES,
    SEED_LINK_TYPES,
    SEED_STATUSES,
    Group,
    Status,
    User,
    seed_groups,
    seed_users,
)
from sandbox.jira.workflows import DEFAULT_WORKFLOW, Workflow, default_workflow

Clock = Callable[[], datetime]
SERVER_VERSIONS = {"cloud": "1001.0.0-SNAPSHOT", "datacenter": "9.12.0"}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CustomField:
    id: str
    name: str
    type: str
    searcher_key: str = ""
    description: str = ""
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # context id -> options
    # context id -> (project ids, issue type ids) it applies to; none given: every project / issue type
    scopes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)


@dataclass
class Comment:
    id: str
    author: str
    body: Any
    created: datetime
    updated: datetime | None = None  # set by an edit (`PUT issue/{key}/comment/{id}`)


@dataclass
class Issue:
    id: str
    key: str
    project_id: str
    fields: dict[str, Any]
    created: datetime
    updated: datetime
    comments: list[Comment] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    watchers: set[str] = field(default_factory=set)


@dataclass
class Link:
    """One issue link: `source` <outward description> `destination` ("EMG-1 blocks EMG-2").

    `POST issueLink` names the source `inwardIssue` and the destination `outwardIssue`; the source's
    `issuelinks` show the destination as `outwardIssue`, the destination's show the source as
    `inwardIssue`; the webhook carries `sourceIssueId` / `destinationIssueId`. (Reference pair
    `reference/jira/api/issuelink.json` + `webhooks/issuelink-created.json`;
    https://developer.atlassian.com/cloud/jira/platform/issue-linking-model/)
    """

    id: str
    type_id: str
    source: str  # issue id
    destination: str


@dataclass
class Scheme:
    id: int
    name: str
    description: str
    default_workflow: str
    mappings: dict[str, str]  # issue type id -> workflow name


@dataclass
class Webhook:
    id: int
    name: str
    url: str
    events: list[str]
    filters: dict[str, str]
    exclude_body: bool
    secret: str | None
    enabled: bool
    updated_by: str
    updated: datetime

    def __repr__(self) -> str:  # the secret never reaches logs
        return f"Webhook(id={self.id}, name={self.name!r}, url={self.url!r}, enabled={self.enabled})"


class JiraState:
    """Everything one sandbox Jira knows. Hold `lock` while reading or changing it."""

    def __init__(self, flavor: str, clock: Clock | None = None, version: str | None = None) -> None:
        self.flavor = flavor
        self.version = version or SERVER_VERSIONS[flavor]  # Data Center: "9.12.0", or e.g. "10.3.0"
        self.clock = clock or utc_now
        self.lock = threading.RLock()
        self._ids = itertools.count(10000)
        self.users: dict[str, User] = seed_users()
        self.groups: dict[str, Group] = seed_groups(self.users)
        self.statuses: dict[str, Status] = {s.id: s for s in SEED_STATUSES}
        self.issue_types: dict[str, dict[str, Any]] = {
            i: {"id": i, "name": n, "description": d, "subtask": False, "hierarchyLevel": 0}
            for i, n, d in SEED_ISSUE_TYPES
        }
        self.link_types: dict[str, dict[str, str]] = {
            i: {"id": i, "name": n, "inward": inward, "outward": outward}
            for i, n, inward, outward in SEED_LINK_TYPES
        }
        self.custom_fields: dict[str, CustomField] = {}
        self.projects = {PROJECT_ID: {"id": PROJECT_ID, "key": PROJECT_KEY, "name": "Emergency Changes"}}
        self.workflows: dict[str, Workflow] = {DEFAULT_WORKFLOW: default_workflow(self.now_text())}
        self.schemes: dict[int, Scheme] = {
            10000: Scheme(10000, "Default Workflow Scheme", "", DEFAULT_WORKFLOW, {})
        }
        self.project_scheme: dict[str, int] = {PROJECT_ID: 10000}
        self.config = ProjectConfig(PROJECT_ID, PROJECT_KEY, {i: n for i, n, _ in SEED_ISSUE_TYPES})
        self.grants: dict[str, set[str]] = default_grants()  # permission key -> groups
        self.tasks: dict[str, dict[str, Any]] = {}  # asynchronous tasks (workflow scheme switches)
        self.issues: dict[str, Issue] = {}
        self.issue_keys: dict[str, str] = {}  # key -> id
        self.project_counters: Counter[str] = Counter()
        self.links: dict[str, Link] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.mails: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.request_counts: Counter[str] = Counter()
        self.caller_counts: Counter[tuple[str, str]] = Counter()  # (user name, "METHOD rule"), authenticated
        self.search_lag = 0.0  # seconds until a change reaches search/jql (see sandbox.jira.search)
        self.search_index: dict[str, list[tuple[float, Issue]]] = {}  # issue id -> (visible at, copy)
        self.base_url = "http://127.0.0.1"
        self.emit: Callable[[dict[str, Any]], None] = lambda _event: None

    @property
    def major_version(self) -> int:
        return int(self.version.split(".")[0])

    def next_id(self, taken: Any = ()) -> str:
        """A fresh id; `taken` (ids of the same kind, e.g. the seeded ones) are skipped."""
        while (candidate := str(next(self._ids))) in taken or (
            candidate.isdigit() and int(candidate) in taken
        ):
            pass
        return candidate

    def now(self) -> datetime:
        return self.clock()

    def now_text(self) -> str:
        return jira_time(self.now())

    # --- look-ups -------------------------------------------------------------------------------------
    def user_by_any(self, ident: str | None) -> User | None:
        """Find a user by name, account id, key or email."""
        if not ident:
            return None
        if ident in self.users:
            return self.users[ident]
        for user in self.users.values():
            if ident in (user.account_id, user.key, user.email):
                return user
        return None

    def user_from_ref(self, ref: Any) -> User | None:
        """A user from a request's {"accountId": ...} / {"name": ...} / {"key": ...} / {"id": ...}."""
        if isinstance(ref, dict):
            return self.user_by_any(
                ref.get("accountId") or ref.get("name") or ref.get("key") or ref.get("id")
            )
        return self.user_by_any(ref) if isinstance(ref, str) else None

    def group_by_any(self, ident: str | None) -> Group | None:
        for group in self.groups.values():
            if ident in (group.name, group.group_id):
                return group
        return None

    def members(self, group_name: str) -> list[User]:
        return [u for u in self.users.values() if group_name in u.groups]

    def issue(self, id_or_key: str) -> Issue | None:
        issue_id = self.issue_keys.get(id_or_key.upper(), id_or_key)
        return self.issues.get(issue_id)

    def project(self, id_or_key: str | None) -> dict[str, str] | None:
        for project in self.projects.values():
            if id_or_key in (project["id"], project["key"]):
                return project
        return None

    def issue_type(self, ref: Any) -> dict[str, Any] | None:
        ident = ref.get("id") or ref.get("name") if isinstance(ref, dict) else ref
        for issue_type in self.issue_types.values():
            if ident in (issue_type["id"], issue_type["name"]):
                return issue_type
        return None

    def project_issue_types(self, project_id: str) -> list[str]:
        """Ids of the issue types the project's issue type scheme offers."""
        return self.config.project_issue_types(project_id, list(self.issue_types))

    def status_by_any(self, ident: str) -> Status | None:
        for status in self.statuses.values():
            if ident.lower() in (status.id, status.name.lower()):
                return status
        return None

    def workflow_for(self, project_id: str, issue_type_id: str) -> Workflow:
        scheme = self.schemes[self.project_scheme.get(project_id, 10000)]
        name = scheme.mappings.get(issue_type_id, scheme.default_workflow)
        return self.workflows.get(name) or self.workflows[DEFAULT_WORKFLOW]

    def field_names(self) -> dict[str, str]:
        from sandbox.jira.fields import STANDARD_FIELDS

        names = {f["id"]: f["name"] for f in STANDARD_FIELDS}
        names.update({f.id: f.name for f in self.custom_fields.values()})
        return names
