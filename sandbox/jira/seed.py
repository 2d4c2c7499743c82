"""The people, groups, project and defaults a fresh sandbox Jira starts with."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

PROJECT_KEY = "EMG"
PROJECT_ID = "10000"
AUTOMATION_GROUP = "ecm-automation"
ADMIN_GROUP = "jira-administrators"


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    groups: tuple[str, ...]
    account_id: str
    key: str
    time_zone: str = "Etc/UTC"  # the profile's zone: JQL date literals are read in it

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"


@dataclass(frozen=True)
class Group:
    name: str
    group_id: str


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str  # TODO, IN_PROGRESS, DONE
    description: str = ""


SEED_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("eng.emma", "Emma Engineer", ("developers",)),
    ("peer.pete", "Pete Peer", ("developers",)),
    ("lead.liam", "Liam Lead", ("engineering-leads",)),
    ("sec.sara", "Sara Security", ("security-team",)),
    ("dual.dana", "Dana Dual", ("engineering-leads", "security-team")),
    ("ecm-bot", "ECM Automation", (AUTOMATION_GROUP,)),
    ("admin", "Jira Admin", (ADMIN_GROUP,)),
)

# The connector's account is not on UTC, so a query that writes UTC into a JQL date literal is caught out.
SEED_TIME_ZONES = {"ecm-bot": "America/Los_Angeles"}

SEED_STATUSES = (
    Status("10000", "To Do", "TODO"),
    Status("3", "In Progress", "IN_PROGRESS"),
    Status("10001", "Done", "DONE"),
)

SEED_ISSUE_TYPES = (("10001", "Task", "A small, distinct piece of work."), ("10004", "Bug", "A problem."))
SEED_LINK_TYPES = (
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10003", "Relates", "relates to", "relates to"),
)
SEED_PRIORITIES = (("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest"))

# Project roles: id -> group whose members hold it (roles are how Jira grants per-project rights).
SEED_ROLES = {"10002": ADMIN_GROUP, "10001": "developers"}
PERMISSION_GROUPS = {"ADMINISTER_PROJECTS": ADMIN_GROUP, "ADMINISTER": ADMIN_GROUP}


def account_id_for(name: str) -> str:
    """A stable 24-hex Atlassian-style account id derived from the user name."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:24]


def group_id_for(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.groups.sandbox.jira"))


def seed_users() -> dict[str, User]:
    users = {}
    for index, (name, display, groups) in enumerate(SEED_USERS):
        zone = SEED_TIME_ZONES.get(name, "Etc/UTC")
        users[name] = User(name, display, groups, account_id_for(name), f"JIRAUSER{10100 + index}", zone)
    return users


def seed_groups(users: dict[str, User]) -> dict[str, Group]:
    names = sorted({group for user in users.values() for group in user.groups})
    return {name: Group(name, group_id_for(name)) for name in names}
