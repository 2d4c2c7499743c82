"""What the fault tests share: people who use Jira's REST API v3 (so faults written for `/rest/api/2/*`
hit only the connector, which calls v2), and counts of what the connector did in the sandbox."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from connector.demo.story import JiraStory
from connector.jira.actions import postmortem_label
from connector.jira.gateway import JiraGateway
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork

CONNECTOR = "ecm-bot"
# Every call the connector makes: its issue calls are v2; search and group members are v3 on Cloud
# but people never search or list groups here.
CONNECTOR_PATHS = ("/rest/api/2/*", "/rest/api/3/search/jql", "/rest/api/3/group/member")


class PersonGateway(JiraGateway):
    """A person's Jira client on REST API v3, so the connector's v2 calls can be failed alone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._jira._options["rest_api_version"] = "3"

    def _call(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        return super()._call(method, path.replace("/rest/api/2/", "/rest/api/3/", 1), action, **kwargs)


class Patient:
    """The stack as the people see it, but waiting up to `patience` seconds for the connector, which
    may be waiting out a Retry-After or a scheduled retry."""

    def __init__(self, stack: Any, patience: float) -> None:
        self._stack, self._patience = stack, patience

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stack, name)

    def settle(self, condition: Any, timeout: float = 10.0) -> Any:
        return self._stack.settle(condition, timeout=max(timeout, self._patience))


class PeopleOnV3(JiraStory):
    def person(self, name: str) -> JiraGateway:
        if name not in self._people:
            self._people[name] = PersonGateway(self.jira_url, user=f"{name}@example.com", token=name)
        return self._people[name]


def people(stack: Any, patience: float = 45.0) -> PeopleOnV3:
    return PeopleOnV3(Patient(stack, patience), say=lambda _line: None)


def outbox_statuses(database: Any) -> dict[str, int]:
    with UnitOfWork(database) as uow:
        rows = uow.session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
        return dict(rows.all())


def postmortems_of(sandbox: Any, key: str) -> list[str]:
    """Keys of the Post-Mortem issues made for `key` (by their label), whoever linked them."""
    label = postmortem_label(key)
    with sandbox.state.lock:
        return [i.key for i in sandbox.state.issues.values() if label in (i.fields.get("labels") or [])]


def postmortem_links_of(sandbox: Any, key: str) -> int:
    state = sandbox.state
    with state.lock:
        change_id = state.issue_keys[key]
        names = {i: t["name"] for i, t in state.link_types.items()}
        return sum(
            1
            for link in state.links.values()
            if link.source == change_id and names[link.type_id] == "Post-Mortem"
        )


def connector_comment_markers(sandbox: Any, key: str) -> Counter[str]:
    """How often each of the connector's comment markers (`ecm-<hash>`) appears on `key`."""
    state = sandbox.state
    with state.lock:
        issue = state.issues[state.issue_keys[key]]
        bodies = [str(c.body) for c in issue.comments if c.author == CONNECTOR]
    return Counter(body.rsplit("(", 1)[-1].rstrip(")") for body in bodies)


def connector_comments(sandbox: Any, key: str) -> list[str]:
    """The bodies of the connector's comments on `key`, oldest first."""
    state = sandbox.state
    with state.lock:
        issue = state.issues[state.issue_keys[key]]
        return [str(c.body) for c in issue.comments if c.author == CONNECTOR]


def connector_status_changes(sandbox: Any, key: str) -> list[str]:
    """The statuses the connector moved `key` to (its reverts), in order."""
    state = sandbox.state
    with state.lock:
        issue = state.issues[state.issue_keys[key]]
        return [
            str(item.get("toString"))
            for entry in issue.history
            if entry["author"] == CONNECTOR
            for item in entry["items"]
            if item.get("field") == "status"
        ]


def connector_mails(sandbox: Any) -> Counter[tuple[str, str]]:
    """Mails the connector sent, counted per (issue, subject)."""
    with sandbox.state.lock:
        return Counter((m["issue"], m["subject"]) for m in sandbox.state.mails if m["sender"] == CONNECTOR)


def raised_awaiting_approval(story: PeopleOnV3) -> str:
    """Emma raises an emergency change in Jira (its category and impact given) and asks for approval:
    its key, the connector's hearing of it left to the test."""
    section = story.section
    fields = {story.field_ids["category"]: {"value": "Service outage"}, story.field_ids["impact"]: "EU."}
    key = story.person("eng.emma").create_issue(
        section.project, section.issue_types.change, "Checkout down", "", fields=fields
    )
    story.move("eng.emma", key, section.statuses.awaiting_approval)
    return key
