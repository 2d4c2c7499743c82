"""Who holds which permission: the keys of Jira's built-in permissions and the grants of the sandbox.

Keys, ids and types as `GET /rest/api/3/permissions` lists them. Global permissions go to groups;
project permissions come from the project's permission scheme, here one for every project: Jira's
default scheme gives the project permissions to everyone who may use the project (all seeded users)
and ADMINISTER_PROJECTS to the administrators. The connector's automation group holds what the
administrators hold, as the admin endpoints already assume.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.jira.seed import ADMIN_GROUP, AUTOMATION_GROUP

ANYONE = "*"


@dataclass(frozen=True)
class Permission:
    id: str
    key: str
    name: str
    type: str  # GLOBAL or PROJECT
    description: str


PERMISSIONS: dict[str, Permission] = {
    p.key: p
    for p in (
        Permission(
            "0",
            "ADMINISTER",
            "Administer Jira",
            "GLOBAL",
            "Ability to perform most administration functions.",
        ),
        Permission(
            "44",
            "SYSTEM_ADMIN",
            "Jira System Administrators",
            "GLOBAL",
            "Ability to perform all administration functions.",
        ),
        Permission(
            "27",
            "USER_PICKER",
            "Browse users and groups",
            "GLOBAL",
            "Ability to select a user or group from a popup window.",
        ),
        Permission(
            "10",
            "BROWSE_PROJECTS",
            "Browse Projects",
            "PROJECT",
            "Ability to browse projects and the issues within them.",
        ),
        Permission("11", "CREATE_ISSUES", "Create Issues", "PROJECT", "Ability to create issues."),
        Permission("12", "EDIT_ISSUES", "Edit Issues", "PROJECT", "Ability to edit issues."),
        Permission(
            "13", "ASSIGN_ISSUES", "Assign Issues", "PROJECT", "Ability to assign issues to other people."
        ),
        Permission(
            "14", "RESOLVE_ISSUES", "Resolve Issues", "PROJECT", "Ability to resolve and reopen issues."
        ),
        Permission("15", "ADD_COMMENTS", "Add Comments", "PROJECT", "Ability to comment on issues."),
        Permission("16", "DELETE_ISSUES", "Delete Issues", "PROJECT", "Ability to delete issues."),
        Permission(
            "17",
            "ASSIGNABLE_USER",
            "Assignable User",
            "PROJECT",
            "Users with this permission may be assigned to issues.",
        ),
        Permission("18", "CLOSE_ISSUES", "Close Issues", "PROJECT", "Ability to close issues."),
        Permission("21", "LINK_ISSUES", "Link Issues", "PROJECT", "Ability to link issues together."),
        Permission(
            "23",
            "ADMINISTER_PROJECTS",
            "Administer Projects",
            "PROJECT",
            "Ability to administer a project in Jira.",
        ),
        Permission("25", "MOVE_ISSUES", "Move Issues", "PROJECT", "Ability to move issues between projects."),
        Permission(
            "30",
            "MODIFY_REPORTER",
            "Modify Reporter",
            "PROJECT",
            "Ability to modify the reporter when creating or editing an issue.",
        ),
        Permission(
            "32",
            "MANAGE_WATCHERS",
            "Manage Watchers",
            "PROJECT",
            "Ability to manage the watchers of an issue.",
        ),
        Permission(
            "46", "TRANSITION_ISSUES", "Transition Issues", "PROJECT", "Ability to transition issues."
        ),
    )
}
ADMINS = frozenset({ADMIN_GROUP, AUTOMATION_GROUP})


def default_grants() -> dict[str, set[str]]:
    """Permission key -> groups holding it (`*`: every user)."""
    grants: dict[str, set[str]] = {key: {ANYONE} for key, p in PERMISSIONS.items() if p.type == "PROJECT"}
    for key in ("ADMINISTER", "SYSTEM_ADMIN", "ADMINISTER_PROJECTS", "DELETE_ISSUES", "MODIFY_REPORTER"):
        grants[key] = set(ADMINS)
    grants["USER_PICKER"] = {ANYONE}
    return grants


def holds(grants: dict[str, set[str]], key: str, groups: tuple[str, ...]) -> bool:
    granted = grants.get(key, set())
    return ANYONE in granted or bool(granted & set(groups))
