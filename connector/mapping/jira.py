"""Mapping schema: the `jira:` section (jira-cloud and jira-datacenter targets)."""

from __future__ import annotations

from collections.abc import Mapping as EnvMapping
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from connector.procedure.model import Stage

if TYPE_CHECKING:  # pragma: no cover
    pass

from connector.mapping.common import PROJECT_KEY, Model, at_key, check_url, expand_placeholders

# --- Jira ----------------------------------------------------------------------------------------------


class IssueTypes(Model):
    change: str = "Emergency Change"
    postmortem: str = "Post-Mortem"


class LinkType(Model):
    name: str = "Post-Mortem"
    outward: str = "has post-mortem"
    inward: str = "is post-mortem of"


class JiraStatuses(Model):
    """The Jira status name of every canonical stage (one field per `Stage`)."""

    identified: str
    awaiting_approval: str
    approved: str
    in_review: str
    reviewed: str
    deployed: str
    postmortem: str
    closed: str
    cancelled: str
    rejected: str

    @model_validator(mode="after")
    def _unique(self) -> JiraStatuses:
        seen: dict[str, str] = {}
        for stage, name in self:
            if name.casefold() in seen:
                raise at_key(stage, f"status {name!r} is already used for {seen[name.casefold()]}")
            seen[name.casefold()] = stage
        return self

    def status_of(self, stage: Stage) -> str:
        return getattr(self, stage.value)

    def stage_of(self, status: str) -> Stage | None:
        return next((Stage(stage) for stage, name in self if name.casefold() == status.casefold()), None)


class PostmortemStatuses(Model):
    open: str = "To Do"
    done: str = "Done"


class FieldType(StrEnum):
    SELECT = "select"
    TEXT = "text"
    TEXTAREA = "textarea"
    URL = "url"
    USER = "user"
    DATETIME = "datetime"


class IssueKind(StrEnum):
    CHANGE = "change"
    POSTMORTEM = "postmortem"


class JiraField(Model):
    name: str = Field(min_length=1)
    type: FieldType
    options: tuple[str, ...] = ()
    on: IssueKind = IssueKind.CHANGE

    @model_validator(mode="after")
    def _options_for_select_only(self) -> JiraField:
        if self.type is FieldType.SELECT and not self.options:
            raise at_key("options", "a select field needs at least one option")
        if self.type is not FieldType.SELECT and self.options:
            raise at_key("options", f"only select fields take options (this one is {self.type})")
        if len(set(self.options)) != len(self.options):
            raise at_key("options", "options must be unique")
        return self


EXPECTED_FIELDS = {  # logical field: (type, issue it lives on) the connector relies on
    "category": (FieldType.SELECT, IssueKind.CHANGE),
    "impact": (FieldType.TEXTAREA, IssueKind.CHANGE),
    "pr_url": (FieldType.URL, IssueKind.CHANGE),
    "docs_url": (FieldType.URL, IssueKind.CHANGE),
    "report_url": (FieldType.URL, IssueKind.POSTMORTEM),
    "lead_approver": (FieldType.USER, IssueKind.CHANGE),
    "security_approver": (FieldType.USER, IssueKind.CHANGE),
    "peer_reviewer": (FieldType.USER, IssueKind.CHANGE),
    "security_reviewer": (FieldType.USER, IssueKind.CHANGE),
    "deployed_at": (FieldType.DATETIME, IssueKind.CHANGE),
    "gate": (FieldType.TEXT, IssueKind.CHANGE),
    "engineer": (FieldType.USER, IssueKind.CHANGE),
}
OFF_SCREEN = frozenset({"gate", "engineer"})  # on no create, edit or view screen: the connector's alone


class JiraFields(Model):
    category: JiraField
    impact: JiraField
    pr_url: JiraField
    docs_url: JiraField
    report_url: JiraField
    lead_approver: JiraField
    security_approver: JiraField
    peer_reviewer: JiraField
    security_reviewer: JiraField
    deployed_at: JiraField
    # The steps the procedure allows now, written by the connector through its own transition (the field
    # is on that transition's screen and on no other), checked by the Deploy and Close conditions.
    gate: JiraField = JiraField(name="ECM Gate", type=FieldType.TEXT)
    # The engineer of the change as the connector recorded her (the reporter), written beside the gate;
    # the Approve and Reject conditions deny whoever it names (R3: no self-approval).
    engineer: JiraField = JiraField(name="ECM Engineer", type=FieldType.USER)

    @field_validator("*")
    @classmethod
    def _expected_shape(cls, field: JiraField, info: ValidationInfo) -> JiraField:
        kind, issue = EXPECTED_FIELDS[info.field_name]
        if field.type is not kind:
            raise at_key("type", f"must be {kind} for {info.field_name} (got {field.type})")
        if field.on is not issue:
            raise at_key("on", f"must be {issue} for {info.field_name} (got {field.on})")
        return field

    @model_validator(mode="after")
    def _unique_names(self) -> JiraFields:
        seen: dict[str, str] = {}
        for logical, field in self:
            if field.name.casefold() in seen:
                raise at_key(
                    logical, f"field name {field.name!r} is already used for {seen[field.name.casefold()]}"
                )
            seen[field.name.casefold()] = logical
        return self


class Webhook(Model):
    name: str = "ECM Connector"
    url: str

    _url = field_validator("url")(check_url)

    def resolved_url(self, environ: EnvMapping[str, str]) -> str:
        return expand_placeholders(self.url, environ)


class JiraSection(Model):
    project: str = Field(json_schema_extra={"pattern": PROJECT_KEY.pattern})
    auth: Literal["basic", "pat"] = "basic"
    issue_types: IssueTypes = IssueTypes()
    link_type: LinkType = LinkType()
    statuses: JiraStatuses
    postmortem_statuses: PostmortemStatuses = PostmortemStatuses()
    fields: JiraFields
    create_postmortem_on: Stage = Stage.DEPLOYED
    webhook: Webhook

    @field_validator("project")
    @classmethod
    def _project_key(cls, key: str) -> str:
        if not PROJECT_KEY.fullmatch(key):
            raise ValueError(f"must be a Jira project key: 2-10 capitals or digits, like EMG (got {key!r})")
        return key
