"""The admin-owned mapping files (`mappings/*.yaml`): schema, loading and humanised errors.

One file per target (`jira-cloud`, `jira-datacenter`, `servicenow`) says how the tool realises the procedure:
project or table, issue types, fields, statuses per canonical stage, approver groups, comment commands, the
business-day calendar, reminders and alert recipients. `load_mapping(path)` returns a frozen `Mapping` or
raises `MappingError` with one line per problem, `file:path.to.key: what is wrong`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping as EnvMapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from connector.errors import MappingError
from connector.procedure.model import Stage

if TYPE_CHECKING:  # pragma: no cover
    from connector.procedure.calendar import BusinessCalendar
    from connector.procedure.policy import Policy

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def at_key(key: str, message: str) -> PydanticCustomError:
    """An error reported one level below the validator's own location (`parent.key: message`)."""
    return PydanticCustomError("at_key", "{key}: {message}", {"key": key, "message": message})


def expand_placeholders(text: str, environ: EnvMapping[str, str]) -> str:
    """Replace `${NAME}` with the environment's value; a missing variable is an error naming it."""
    missing = [name for name in PLACEHOLDER.findall(text) if not environ.get(name)]
    if missing:
        raise MappingError(f"{text}: environment variable {missing[0]} is not set")
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)].rstrip("/"), text)


def check_url(value: str) -> str:
    if not re.fullmatch(r"(https?://|\$\{[A-Z][A-Z0-9_]*\})\S+", value):
        raise ValueError(f"must be an http(s) URL, may start with ${{ECM_PUBLIC_URL}} (got {value!r})")
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- common sections ---------------------------------------------------------------------------------


class Groups(Model):
    leads: str = Field(min_length=1, description="Engineering Leads group")
    security: str = Field(min_length=1, description="Security Team group")
    automation: str = Field(min_length=1, description="group of the connector's own account")
    connector_account: str | None = Field(None, description="the connector's user (Jira accountId or name)")


class Commands(Model):
    approve: str = "/approve"
    reject: str = "/reject"
    approve_verbal: str = "/approve-verbal"
    confirm: str = "/confirm"
    peer_reviewed: str = "/peer-reviewed"
    security_reviewed: str = "/security-reviewed"
    pr: str = "/pr"
    docs: str = "/docs"

    @field_validator("*")
    @classmethod
    def _is_command_word(cls, word: str) -> str:
        if not re.fullmatch(r"/[a-z0-9][a-z0-9_-]*", word):
            raise ValueError(
                f"must be one word starting with '/' in lower case, like /approve (got {word!r})"
            )
        return word

    @model_validator(mode="after")
    def _unique(self) -> Commands:
        seen: dict[str, str] = {}
        for name, word in self:
            if word in seen:
                raise at_key(name, f"{word} is already the word for {seen[word]}")
            seen[word] = name
        return self

    def words(self) -> dict[str, str]:
        """Logical command -> comment word, e.g. {"approve_verbal": "/approve-verbal", ...}."""
        return dict(self)

    def command_for(self, word: str) -> str | None:
        """The logical command (`approve_verbal`) a comment word (`/approve-verbal`) stands for."""
        return next((name for name, value in self if value == word.lower()), None)


class Calendar(Model):
    timezone: str
    country: str
    subdivision: str | None = None
    closures: tuple[date, ...] = ()
    business_days: int = Field(3, ge=1, le=30)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("country")
    @classmethod
    def _known_country(cls, code: str) -> str:
        if code not in holidays.list_supported_countries():
            raise ValueError(f"unknown holiday country {code!r} (use an ISO 3166 code such as US, GB, DE)")
        return code

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, code: str | None, info: Any) -> str | None:
        country = info.data.get("country")
        if code is None or country is None:
            return code
        known = holidays.list_supported_countries()[country]
        if code not in known:
            listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") if known else "none"
            raise ValueError(f"unknown subdivision {code!r} of {country} (known: {listed})")
        return code

    def build(self) -> BusinessCalendar:
        from connector.calendars import build_calendar

        return build_calendar(self.timezone, self.country, self.subdivision, self.closures)


class VerbalConfirmation(Model):
    business_days: int = Field(1, ge=1)


class ReminderPoint(Model):
    business_days: int | None = Field(None, ge=1)
    hours: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> ReminderPoint:
        if (self.business_days is None) == (self.hours is None):
            raise ValueError("give exactly one of business_days or hours")
        return self


class Reminders(Model):
    before: tuple[ReminderPoint, ...] = (ReminderPoint(business_days=1), ReminderPoint(hours=4))
    escalate_every_business_day: bool = True


class AlertKind(StrEnum):
    CREATED = "created"
    VIOLATION = "violation"
    REMINDER = "reminder"
    BREACH = "breach"
    ESCALATION = "escalation"
    UNCONFIRMED_VERBAL = "unconfirmed_verbal"
    DRIFT = "drift"


class Recipient(StrEnum):
    ASSIGNEE = "assignee"  # assignee of the post-mortem (or of the change when there is none yet)
    ENGINEER = "engineer"  # reporter / requester of the change
    APPROVER = "approver"  # the approver the alert is about (unconfirmed verbal approval)
    LEADS = "leads"
    SECURITY = "security"


R = Recipient
REQUIRED_RECIPIENTS = {  # what ENG-PROC-004 itself demands; a mapping may add, never remove
    AlertKind.CREATED: ({R.LEADS, R.SECURITY}, "R1"),
    AlertKind.VIOLATION: ({R.LEADS, R.SECURITY}, "R9"),
    AlertKind.BREACH: ({R.ASSIGNEE, R.LEADS, R.SECURITY}, "R10"),
}


class Recipients(Model):
    created: tuple[Recipient, ...] = (R.LEADS, R.SECURITY)
    violation: tuple[Recipient, ...] = (R.LEADS, R.SECURITY)
    reminder: tuple[Recipient, ...] = (R.ASSIGNEE, R.ENGINEER)
    breach: tuple[Recipient, ...] = (R.ASSIGNEE, R.LEADS, R.SECURITY)
    escalation: tuple[Recipient, ...] = (R.ASSIGNEE, R.LEADS, R.SECURITY)
    unconfirmed_verbal: tuple[Recipient, ...] = (R.APPROVER, R.ENGINEER, R.LEADS)
    drift: tuple[Recipient, ...] = (R.LEADS, R.SECURITY)

    @field_validator("*")
    @classmethod
    def _procedure_minimum(cls, chosen: tuple[Recipient, ...], info: Any) -> tuple[Recipient, ...]:
        if not chosen:
            raise ValueError("name at least one recipient")
        needed, rule = REQUIRED_RECIPIENTS.get(AlertKind(info.field_name), (set(), ""))
        if missing := sorted(needed - set(chosen)):
            raise ValueError(f"must include {', '.join(missing)} (ENG-PROC-004 {rule})")
        return tuple(dict.fromkeys(chosen))

    def for_kind(self, kind: AlertKind) -> tuple[Recipient, ...]:
        return getattr(self, kind.value)


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
}


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

    @field_validator("*")
    @classmethod
    def _expected_shape(cls, field: JiraField, info: Any) -> JiraField:
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


# --- ServiceNow -------------------------------------------------------------------------------------------


class PostmortemTask(Model):
    table: str = "change_task"
    change_task_type: str = "review"
    short_description_prefix: str = "Post-mortem"


class Events(Model):
    """The `sysevent` name the connector queues for each alert kind (one field per `AlertKind`)."""

    created: str = "ecm.change.created"
    violation: str = "ecm.change.violation"
    reminder: str = "ecm.postmortem.reminder"
    breach: str = "ecm.postmortem.breach"
    escalation: str = "ecm.postmortem.escalation"
    unconfirmed_verbal: str = "ecm.approval.unconfirmed"
    drift: str = "ecm.drift"

    @field_validator("*")
    @classmethod
    def _event_name(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", name):
            raise ValueError(f"must be a dotted lower-case event name like ecm.change.created (got {name!r})")
        return name

    def for_kind(self, kind: AlertKind) -> str:
        return getattr(self, kind.value)


class Sla(Model):
    enabled: bool = False
    schedule_name: str | None = None

    @model_validator(mode="after")
    def _schedule_when_enabled(self) -> Sla:
        if self.enabled and not self.schedule_name:
            raise at_key("schedule_name", "required key missing when the SLA is enabled")
        return self


SERVICENOW_STAGES_NEEDED = (Stage.AWAITING_APPROVAL, Stage.DEPLOYED, Stage.CLOSED)


class ServiceNowSection(Model):
    table: str = "change_request"
    type: str = "emergency"
    states: dict[str, Stage]
    postmortem_task: PostmortemTask = PostmortemTask()
    create_postmortem_on: Stage = Stage.POSTMORTEM
    events: Events = Events()
    sla: Sla = Sla()
    notify_url: str

    _url = field_validator("notify_url")(check_url)

    @field_validator("states", mode="before")
    @classmethod
    def _state_values_as_text(cls, states: Any) -> Any:
        if not isinstance(states, dict):
            return states
        for value in states:
            if not re.fullmatch(r"-?\d+", str(value)):
                raise at_key(str(value), 'state values are whole numbers such as "-5" or "3"')
        return {str(value): stage for value, stage in states.items()}

    @field_validator("states")
    @classmethod
    def _stages_the_connector_acts_on(cls, states: dict[str, Stage]) -> dict[str, Stage]:
        if missing := [stage.value for stage in SERVICENOW_STAGES_NEEDED if stage not in states.values()]:
            raise ValueError(f"no state maps to {', '.join(missing)}")
        return states

    def stage_of(self, state: str | int) -> Stage | None:
        return self.states.get(str(state))

    def state_of(self, stage: Stage) -> str | None:
        return next((value for value, mapped in self.states.items() if mapped is stage), None)


# --- the file ----------------------------------------------------------------------------------------------


class Target(StrEnum):
    JIRA_CLOUD = "jira-cloud"
    JIRA_DATACENTER = "jira-datacenter"
    SERVICENOW = "servicenow"


SECTION_OF = {Target.JIRA_CLOUD: "jira", Target.JIRA_DATACENTER: "jira", Target.SERVICENOW: "servicenow"}
TARGET_SECTION_RULE = {  # editors get the same rule from the JSON Schema
    "if": {"properties": {"target": {"const": "servicenow"}}, "required": ["target"]},
    "then": {"required": ["servicenow"], "not": {"required": ["jira"]}},
    "else": {"required": ["jira"], "not": {"required": ["servicenow"]}},
}


class Mapping(Model):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="ECM Connector mapping",
        json_schema_extra={"allOf": [TARGET_SECTION_RULE]},
    )

    version: Literal[1]
    target: Target
    jira: JiraSection | None = Field(None, validate_default=True)
    servicenow: ServiceNowSection | None = Field(None, validate_default=True)
    groups: Groups
    commands: Commands = Commands()
    calendar: Calendar
    verbal_confirmation: VerbalConfirmation = VerbalConfirmation()
    reminders: Reminders = Reminders()
    recipients: Recipients = Recipients()

    @field_validator("jira", "servicenow")
    @classmethod
    def _section_matches_target(cls, section: Model | None, info: Any) -> Model | None:
        target = info.data.get("target")
        if target is None:
            return section
        wanted = SECTION_OF[target] == info.field_name
        if wanted and section is None:
            raise PydanticCustomError("section_missing", f"required key missing for target {target}")
        if not wanted and section is not None:
            raise ValueError(f"not used by target {target} (it takes a {SECTION_OF[target]}: section)")
        if target is Target.JIRA_CLOUD and isinstance(section, JiraSection) and section.auth != "basic":
            raise at_key("auth", "Jira Cloud takes basic (account e-mail and API token)")
        return section

    @property
    def tool(self) -> str:
        return SECTION_OF[self.target]

    def policy(self) -> Policy:
        """The configurable parts of the procedure core, as this mapping sets them."""
        from connector.procedure.policy import DEFAULT_CATEGORIES, Policy

        categories = self.jira.fields.category.options if self.jira else DEFAULT_CATEGORIES
        return Policy(
            verbal_confirmation_business_days=self.verbal_confirmation.business_days,
            postmortem_business_days=self.calendar.business_days,
            categories=categories,
        )


# --- loading -----------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML with fixes for hand-written files: a key given twice is an error (PyYAML keeps the last
    silently); only true/false are booleans (YAML 1.1 also turns on/off/yes/no, the key `on:` and the
    country `NO`, into booleans); dates are left to the schema, so a bad one is reported at its key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


UNRESOLVED_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")  # dates stay text for pydantic
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in UNRESOLVED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

MESSAGES = {  # pydantic error type -> what an admin reads
    "extra_forbidden": "unknown key",
    "missing": "required key missing",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "dict_type": "must be a mapping of keys",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "date_from_datetime_parsing": "must be a date like 2025-12-26",
    "date_from_datetime_inexact": "must be a date like 2025-12-26",
    "date_parsing": "must be a date like 2025-12-26",
    "date_type": "must be a date like 2025-12-26",
}
YAML_BOOLEANS = "YAML reads yes/no/on/off as true/false; put the value in quotes"


def _describe(error: Any) -> tuple[str, str]:
    """(dotted path, message) of one pydantic error."""
    loc = [str(part) for part in error["loc"]]
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "at_key":
        return ".".join([*loc, str(ctx["key"])]), str(ctx["message"])
    if kind in ("literal_error", "enum"):
        message = f"must be {ctx.get('expected', '')} (got {error['input']!r})"
    elif kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", error["msg"]))
    else:
        message = MESSAGES.get(kind) or error["msg"][:1].lower() + error["msg"][1:]
    if kind == "string_type" and isinstance(error["input"], bool):
        message += f" ({YAML_BOOLEANS})"
    return ".".join(loc), message


def load_mapping_text(text: str, source_name: str) -> Mapping:
    """Parse and validate one mapping; `source_name` starts every error line."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source_name}:{mark.line + 1}" if mark else source_name
        raise MappingError(f"{where}: YAML syntax error: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise MappingError(f"{source_name}: YAML syntax error: {e}") from None
    if not isinstance(data, dict):
        raise MappingError(
            f"{source_name}: must be a mapping of keys (version, target, ...), not {type(data).__name__}"
        )
    try:
        return Mapping.model_validate(data)
    except ValidationError as e:
        lines = [f"{source_name}:{path}: {message}" for path, message in map(_describe, e.errors())]
        raise MappingError("\n".join(dict.fromkeys(lines))) from None


def load_mapping(path: str | Path) -> Mapping:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MappingError(f"{path}: cannot read the file ({getattr(e, 'strerror', None) or e})") from None
    return load_mapping_text(text, str(path))


def mapping_json_schema() -> dict:
    schema = Mapping.model_json_schema()
    for section in ("jira", "servicenow"):  # optional in Python, but the target rule below decides
        prop = schema["properties"][section]
        prop.update(next(option for option in prop.pop("anyOf") if option.get("type") != "null"))
        prop.pop("default", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def mapping_json_schema_text() -> str:
    return json.dumps(mapping_json_schema(), indent=2, sort_keys=True) + "\n"
