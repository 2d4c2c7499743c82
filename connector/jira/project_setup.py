"""What a Jira Cloud project needs before people can use the installed types and fields (install steps).

Jira adds a new issue type only to the *Default Issue Type Scheme*; a project with a scheme of its own
offers the type only once it is added there. A custom field created over REST is on no screen, and Jira
refuses to set a field that is not on the screen of the operation ("Field 'customfield_X' cannot be set.
It is not on the appropriate screen, or unknown."), so every mapped field goes on the create, edit and
view screens that the project's issue type screen scheme gives its issue type. A project that has issues
cannot be given a workflow scheme directly; it is switched by an asynchronous Jira task that needs a
status for every status the new workflow lacks, and the install waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from connector.errors import Rejected
from connector.install_plan import PlanItem
from connector.jira.gateway import JiraGateway
from connector.mapping import IssueKind, Mapping
from connector.mapping.jira import OFF_SCREEN

Step = Iterator[tuple[PlanItem, Callable[[], None] | None]]
OPERATIONS = ("create", "edit", "view")
FINISHED = ("COMPLETE", "FAILED", "CANCELLED", "DEAD")


@dataclass(frozen=True)
class ScreenGap:
    """Mapped fields (by logical name) missing from one screen of the project."""

    screen_id: str
    screen_name: str
    logical: tuple[str, ...]
    names: tuple[str, ...]


class ProjectSetup:
    def __init__(
        self,
        mapping: Mapping,
        gateway: JiraGateway,
        *,
        poll_interval: float = 0.5,
        task_timeout: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.jira, self.gw = mapping.jira, gateway
        self.poll_interval, self.task_timeout, self.sleep = poll_interval, task_timeout, sleep

    def _project_id(self) -> str:
        return self.gw.project(self.jira.project).id

    def _type_ids(self) -> dict[str, str]:
        return {t.name: t.id for t in self.gw.issue_types()}

    def _field_ids(self) -> dict[str, str]:
        found = {f.name: f.id for f in self.gw.fields() if f.extra.get("custom", True)}
        return {logical: found[f.name] for logical, f in self.jira.fields if f.name in found}

    # --- issue types in the project's issue type scheme -------------------------------------------

    def missing_issue_types(self) -> tuple[str, tuple[str, ...]]:
        """(scheme name, names of the mapped issue types it does not offer)."""
        scheme = self.gw.project_issue_type_scheme(self._project_id())
        offered, ids = set(self.gw.issue_type_scheme_types(scheme.id)), self._type_ids()
        missing = tuple(name for _kind, name in self.jira.issue_types if ids.get(name) not in offered)
        if scheme.extra.get("isDefault"):  # Jira adds every new issue type to the default scheme itself
            missing = tuple(name for name in missing if name in ids)
        return scheme.name, missing

    def issue_type_scheme(self) -> Step:
        name, missing = self.missing_issue_types()
        if not missing:
            yield PlanItem("issue type scheme", name, "unchanged", "offers the mapped issue types"), None
            return
        yield PlanItem("issue type scheme", name, "update", "add " + ", ".join(missing)), self._add_types

    def _add_types(self) -> None:
        scheme = self.gw.project_issue_type_scheme(self._project_id())
        offered, ids = set(self.gw.issue_type_scheme_types(scheme.id)), self._type_ids()
        wanted = [ids[name] for _kind, name in self.jira.issue_types if ids[name] not in offered]
        if wanted:
            self.gw.add_issue_types_to_scheme(scheme.id, wanted)

    # --- mapped fields on the project's screens ---------------------------------------------------

    def _screens_by_kind(self) -> dict[IssueKind, list[str]]:
        """Screen ids of the create, edit and view screens of the change and post-mortem issue types."""
        scheme = self.gw.project_screen_scheme(self._project_id())
        mappings, ids = self.gw.screen_scheme_mappings(scheme.id), self._type_ids()
        types = self.jira.issue_types
        found: dict[IssueKind, list[str]] = {}
        for kind, type_name in ((IssueKind.CHANGE, types.change), (IssueKind.POSTMORTEM, types.postmortem)):
            screen_scheme = mappings.get(ids.get(type_name, ""), mappings.get("default"))
            screens = self.gw.screen_scheme_screens(screen_scheme) if screen_scheme else {}
            found[kind] = list(
                dict.fromkeys(screens.get(op, screens.get("default", "")) for op in OPERATIONS)
            )
        return found

    def _on_screen(self, screen_id: str) -> set[str]:
        return {f for tab in self.gw.screen_tabs(screen_id) for f in self.gw.tab_fields(screen_id, tab.id)}

    def screen_gaps(self) -> list[ScreenGap]:
        """Each screen of the project that lacks mapped fields, with the fields it lacks."""
        field_ids, by_kind = self._field_ids(), self._screens_by_kind()
        wanted: dict[str, list[str]] = {}
        for logical, spec in self.jira.fields:
            if logical in OFF_SCREEN:
                continue
            for screen_id in by_kind[spec.on]:
                wanted.setdefault(screen_id, []).append(logical)
        gaps = []
        for screen_id, logicals in wanted.items():
            present = self._on_screen(screen_id)
            missing = tuple(lg for lg in logicals if field_ids.get(lg) not in present)
            if missing:
                names = tuple(getattr(self.jira.fields, lg).name for lg in missing)
                gaps.append(ScreenGap(screen_id, self.gw.screen(screen_id).name, missing, names))
        return gaps

    def screens(self) -> Step:
        gaps = self.screen_gaps()
        for gap in gaps:
            yield (
                PlanItem("screen", gap.screen_name, "update", "add " + ", ".join(gap.names)),
                (lambda g=gap: self._add_fields(g)),
            )
        if not gaps:
            yield PlanItem("screens", self.jira.project, "unchanged", "every mapped field on them"), None

    def _add_fields(self, gap: ScreenGap) -> None:
        field_ids, present = self._field_ids(), self._on_screen(gap.screen_id)
        tabs = self.gw.screen_tabs(gap.screen_id)
        if not tabs:
            raise Rejected(f"screen {gap.screen_name!r} has no tab to put fields on; add one in Jira")
        for logical in gap.logical:
            if field_ids[logical] not in present:
                self.gw.add_field_to_tab(gap.screen_id, tabs[0].id, field_ids[logical])

    # --- switching the workflow scheme of a project with issues -----------------------------------

    def has_issues(self) -> bool:
        return bool(self.gw.search(f"project = {self.jira.project}", max_results=1).issues)

    def switch_scheme(
        self, project_id: str, scheme_id: str, scheme_name: str, mappings: dict[str, dict[str, str]]
    ) -> None:
        """Start Jira's switch task and wait for it; a task that does not complete fails the install."""
        task = self.gw.switch_workflow_scheme(project_id, scheme_id, mappings)
        waited = 0.0
        while task.get("status") not in FINISHED:
            if waited >= self.task_timeout:
                raise Rejected(
                    f"Jira's switch of {self.jira.project} to workflow scheme {scheme_name!r} (task "
                    f"{task.get('id')}) did not finish within {self.task_timeout:.0f}s; check it in Jira "
                    "and run `ecm install` again"
                )
            self.sleep(self.poll_interval)
            waited += self.poll_interval
            task = self.gw.workflow_scheme_task(str(task["id"]))
        if task["status"] != "COMPLETE":
            detail = task.get("message") or "no reason given"
            raise Rejected(
                f"Jira could not switch {self.jira.project} to workflow scheme {scheme_name!r}: task "
                f"{task.get('id')} {task['status']}: {detail}"
            )
