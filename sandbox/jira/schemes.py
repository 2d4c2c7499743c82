"""Issue type schemes, screens and screen schemes, as a company-managed project in Jira Cloud has them.

A fresh Jira Cloud site has the global *Default Issue Type Scheme* (every issue type; "All newly created
issue types will automatically be added to this scheme", GET /rest/api/3/issuetypescheme example in
shared/reference/jira/jira-cloud-platform-openapi-v3.json) and the screens *Default Screen* (1), *Workflow
Screen* (2) and *Resolve Issue Screen* (3) (GET /rest/api/3/screens example). A new company-managed
(Kanban) project gets schemes of its own: `EMG: Kanban Issue Type Scheme` with only its template's types,
a default and a bug screen, one screen scheme for each, and an issue type screen scheme mapping Bug to
the bug screen scheme and every other type ("default") to the default one. A type outside the project's
scheme cannot be used there; a field that is not on the screen of an operation cannot be set by it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

OPERATIONS = ("create", "edit", "view")
ISSUE_SCREEN_FIELDS = (
    "summary",
    "issuetype",
    "reporter",
    "description",
    "assignee",
    "priority",
    "labels",
    "duedate",
    "issuelinks",
)
DEFAULT_ISSUE_TYPE_SCHEME = "10000"
DEFAULT_SCREEN_SCHEME = 1
DEFAULT_ISSUE_TYPE_SCREEN_SCHEME = "1"


@dataclass
class IssueTypeScheme:
    id: str
    name: str
    description: str
    default_issue_type: str | None
    issue_type_ids: list[str]  # ignored for the default scheme, which holds every issue type
    is_default: bool = False


@dataclass
class Tab:
    id: int
    name: str
    fields: list[str] = field(default_factory=list)


@dataclass
class Screen:
    id: int
    name: str
    description: str
    tabs: list[Tab]

    def field_ids(self) -> set[str]:
        return {f for tab in self.tabs for f in tab.fields}


@dataclass
class ScreenScheme:
    id: int
    name: str
    description: str
    screens: dict[str, int]  # "default" and optionally "create", "edit", "view" -> screen id

    def screen_for(self, operation: str) -> int:
        return self.screens.get(operation, self.screens["default"])


@dataclass
class IssueTypeScreenScheme:
    id: str
    name: str
    description: str
    mappings: dict[str, int]  # issue type id or "default" -> screen scheme id

    def screen_scheme_for(self, issue_type_id: str) -> int:
        return self.mappings.get(issue_type_id, self.mappings["default"])


class ProjectConfig:
    """The schemes of every project, and the objects they refer to."""

    def __init__(self, project_id: str, project_key: str, seed_types: dict[str, str]) -> None:
        self._ids = itertools.count(10100)
        key = project_key
        bug = next((i for i, name in seed_types.items() if name == "Bug"), None)
        self.issue_type_schemes: dict[str, IssueTypeScheme] = {
            DEFAULT_ISSUE_TYPE_SCHEME: IssueTypeScheme(
                DEFAULT_ISSUE_TYPE_SCHEME,
                "Default Issue Type Scheme",
                "Default issue type scheme is the list of global issue types. All newly created issue "
                "types will automatically be added to this scheme.",
                None,
                [],
                is_default=True,
            ),
            "10001": IssueTypeScheme(
                "10001",
                f"{key}: Kanban Issue Type Scheme",
                "A collection of issue types suited to use in a kanban style project.",
                next(iter(seed_types)),
                list(seed_types),
            ),
        }
        self.project_issue_type_scheme: dict[str, str] = {project_id: "10001"}
        tab = itertools.count(10000)
        self.screens: dict[int, Screen] = {
            1: Screen(
                1,
                "Default Screen",
                "Provides for the update all system fields.",
                [Tab(next(tab), "Field Tab", [*ISSUE_SCREEN_FIELDS, "environment"])],
            ),
            2: Screen(
                2,
                "Workflow Screen",
                "This screen is used in the workflow and enables you to assign issues.",
                [Tab(next(tab), "Field Tab", ["assignee"])],
            ),
            3: Screen(
                3,
                "Resolve Issue Screen",
                "Offers the ability to set resolution, change fix versions, and assign an issue.",
                [Tab(next(tab), "Field Tab", ["resolution", "assignee"])],
            ),
            10000: Screen(
                10000,
                f"{key}: Kanban Default Issue Screen",
                "",
                [Tab(next(tab), "Field Tab", list(ISSUE_SCREEN_FIELDS))],
            ),
            10001: Screen(
                10001,
                f"{key}: Kanban Bug Screen",
                "",
                [Tab(next(tab), "Field Tab", [*ISSUE_SCREEN_FIELDS, "environment"])],
            ),
        }
        self._tab_ids = tab
        self.screen_schemes: dict[int, ScreenScheme] = {
            DEFAULT_SCREEN_SCHEME: ScreenScheme(1, "Default Screen Scheme", "", {"default": 1}),
            10000: ScreenScheme(10000, f"{key}: Kanban Default Screen Scheme", "", {"default": 10000}),
            10001: ScreenScheme(10001, f"{key}: Kanban Bug Screen Scheme", "", {"default": 10001}),
        }
        project_mappings = {"default": 10000, **({bug: 10001} if bug else {})}
        self.issue_type_screen_schemes: dict[str, IssueTypeScreenScheme] = {
            DEFAULT_ISSUE_TYPE_SCREEN_SCHEME: IssueTypeScreenScheme(
                "1",
                "Default Issue Type Screen Scheme",
                "The default issue type screen scheme",
                {"default": DEFAULT_SCREEN_SCHEME},
            ),
            "10000": IssueTypeScreenScheme(
                "10000", f"{key}: Kanban Issue Type Screen Scheme", "", project_mappings
            ),
        }
        self.project_screen_scheme: dict[str, str] = {project_id: "10000"}

    def next_id(self) -> int:
        return next(self._ids)

    def next_tab_id(self) -> int:
        return next(self._tab_ids)

    # --- issue types ------------------------------------------------------------------------------

    def scheme_types(self, scheme: IssueTypeScheme, all_types: list[str]) -> list[str]:
        return list(all_types) if scheme.is_default else list(scheme.issue_type_ids)

    def issue_type_scheme_of(self, project_id: str) -> IssueTypeScheme:
        return self.issue_type_schemes[
            self.project_issue_type_scheme.get(project_id, DEFAULT_ISSUE_TYPE_SCHEME)
        ]

    def project_issue_types(self, project_id: str, all_types: list[str]) -> list[str]:
        return self.scheme_types(self.issue_type_scheme_of(project_id), all_types)

    # --- screens ----------------------------------------------------------------------------------

    def issue_type_screen_scheme_of(self, project_id: str) -> IssueTypeScreenScheme:
        return self.issue_type_screen_schemes[
            self.project_screen_scheme.get(project_id, DEFAULT_ISSUE_TYPE_SCREEN_SCHEME)
        ]

    def screen_for(self, project_id: str, issue_type_id: str, operation: str) -> Screen:
        mapping = self.issue_type_screen_scheme_of(project_id)
        scheme = self.screen_schemes[mapping.screen_scheme_for(issue_type_id)]
        return self.screens[scheme.screen_for(operation)]


# --- what a request may set -----------------------------------------------------------------------

# Jira refuses a field that is not on the screen of the operation with this message, per field, for create,
# edit and for a transition (a transition without a screen sets no fields): "Performs an issue transition and,
# if the transition has a screen, updates the fields from the transition screen" (POST
# /rest/api/3/issue/{issueIdOrKey}/transitions in the OpenAPI document).
NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
ALWAYS_SETTABLE = frozenset({"project", "issuetype", "comment"})


def fields_in(body: dict) -> list[str]:
    """Every field a create, edit or transition body sets (`fields` and `update`), comments excepted."""
    named = [*(body.get("fields") or {}), *(body.get("update") or {})]
    return [f for f in dict.fromkeys(named) if f not in ALWAYS_SETTABLE]


def not_on_screen(screen: Screen | None, wanted: list[str]) -> dict[str, str]:
    present = screen.field_ids() if screen is not None else set()
    return {f: NOT_ON_SCREEN.format(f) for f in wanted if f not in present}
