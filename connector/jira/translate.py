"""Jira events into commands, through the mapping (issue types, statuses, custom field ids)."""

from __future__ import annotations

from collections.abc import Mapping

from connector import commands as c
from connector.inbound.events import CommentAdded, Event, Ignored, IssueCreated, IssueEvent, IssueUpdated
from connector.mapping import JiraSection
from connector.services.comments import comment_command
from connector.tools import ToolContext

# Logical field -> RecordLink kind, for links people type into the fields directly.
LINK_FIELDS = {"pr_url": "pr", "docs_url": "docs"}


class JiraTranslator:
    def __init__(self, ctx: ToolContext, section: JiraSection, field_ids: Mapping[str, str], base_url: str):
        self.ctx, self.section, self.field_ids, self.base_url = ctx, section, field_ids, base_url.rstrip("/")

    def __call__(self, event: Event, origin: str) -> list[c.Command] | Ignored:
        types = self.section.issue_types
        if self._own_write(event):
            return Ignored("the connector's own write coming back", event.key)
        if event.issue_type == types.postmortem:
            return self._postmortem(event, origin)
        if event.issue_type != types.change:
            return Ignored(f"issue type '{event.issue_type}' is not an emergency change", event.key)
        if isinstance(event, CommentAdded):
            command = comment_command(event, event.key, origin, self.ctx)
            # The change may be unknown yet when its creation webhook is late or lost.
            return command if isinstance(command, Ignored) else [self._register(event, origin), command]
        commands: list[c.Command] = [self._register(event, origin)]
        if isinstance(event, IssueUpdated):
            commands += self._updates(event, origin)
        return commands

    def _own_write(self, event: Event) -> bool:
        """The echo of a field update, post-mortem or link the connector made itself. Its own status
        changes (reverts) still go through, so the stored status stays in step."""
        if event.actor != self.ctx.connector_account or isinstance(event, CommentAdded):
            return False
        return not (isinstance(event, IssueUpdated) and event.status_change() is not None)

    def _field(self, event: IssueEvent, name: str) -> str | None:
        field_id = self.field_ids.get(name)
        return event.fields.get(field_id) if field_id else None

    def _register(self, event: IssueEvent, origin: str) -> c.RegisterChange:
        created = isinstance(event, IssueCreated)
        status = event.status or ""
        # Jira Cloud's comment_created carries six issue fields and no custom field; Data Center's no issue
        complete = not isinstance(event, CommentAdded) or all(
            self.field_ids.get(name) in event.fields for name in ("category", "impact")
        )
        return c.RegisterChange(
            tool="jira",
            key=event.key,
            actor=event.actor,
            at=event.at,
            origin=origin,
            remote_id=event.remote_id,
            engineer=event.fields.get("reporter") or (event.actor if complete else ""),
            title=event.fields.get("summary") or "",
            project=event.key.split("-")[0],
            url=f"{self.base_url}/browse/{event.key}",
            category=self._field(event, "category"),
            impact=self._field(event, "impact"),
            stage=self.ctx.stage_of(status) if created or not complete else None,
            remote_status=status or None,
            complete=complete,
        )

    def _updates(self, event: IssueUpdated, origin: str) -> list[c.Command]:
        base = {"tool": "jira", "key": event.key, "actor": event.actor, "at": event.at, "origin": origin}
        commands: list[c.Command] = []
        by_id = {v: k for k, v in self.field_ids.items()}
        # Data Center changelog items carry no fieldId: `field` is the field's display name there.
        by_name = {spec.name.casefold(): logical for logical, spec in self.section.fields}
        for change in event.changes:
            logical = by_id.get(change.field) or by_name.get(change.name.casefold())
            if logical in LINK_FIELDS and change.new:
                commands.append(c.RecordLink(**base, kind=LINK_FIELDS[logical], url=change.new))
            if logical is not None and logical == self.ctx.gate_field:  # someone else wrote the gate
                commands.append(c.RestoreGate(**base, found=change.new))
        status = event.status_change()
        if status is not None and status.new:
            stage = self.ctx.stage_of(status.new)
            if stage is not None:
                commands.append(
                    c.RecordTransition(**base, to_stage=stage, to_status=status.new, from_status=status.old)
                )
        return commands

    def _postmortem(self, event: Event, origin: str) -> list[c.Command] | Ignored:
        if not isinstance(event, IssueUpdated | IssueCreated):
            return Ignored("comments on a post-mortem are not commands", event.key)
        done = (event.status or "").casefold() == self.section.postmortem_statuses.done.casefold()
        return [
            c.UpdatePostMortem(
                tool="jira",
                key=event.key,
                actor=event.actor,
                at=event.at,
                origin=origin,
                done=done,
                report_url=self._field(event, "report_url"),
            )
        ]
