"""The admin-owned mapping files (`mappings/*.yaml`): schema, loading and humanised errors.

One file per target (`jira-cloud`, `jira-datacenter`, `servicenow`) says how the tool realises the procedure:
project or table, issue types, fields, statuses per canonical stage, approver groups, comment commands, the
business-day calendar, reminders and alert recipients. `load_mapping(path)` returns a frozen `Mapping` or
raises `MappingError` with one line per problem, `file:path.to.key: what is wrong`.
"""

from __future__ import annotations

import functools
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from connector.errors import MappingError

if TYPE_CHECKING:  # pragma: no cover
    from connector.procedure.policy import Policy

from connector.mapping.common import (
    PROJECT_KEY,
    AlertKind,
    Calendar,
    Commands,
    Groups,
    Model,
    Recipient,
    Recipients,
    Reminders,
    VerbalConfirmation,
    at_key,
    expand_placeholders,
)
from connector.mapping.deploys import Deploys, KeySource
from connector.mapping.jira import FieldType, IssueKind, JiraSection, JiraStatuses
from connector.mapping.servicenow import ServiceNowSection

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
    deploys: Deploys | None = None

    @field_validator("deploys")
    @classmethod
    def _bypass_project(cls, deploys: Deploys | None) -> Deploys | None:
        project = deploys.bypass.project if deploys and deploys.bypass else None
        if project is not None and not PROJECT_KEY.fullmatch(project):
            raise at_key("bypass.project", f"must be a Jira project key like EMG (got {project!r})")
        return deploys

    @model_validator(mode="after")
    def _bypass_category(self) -> Mapping:
        """A bypass change is opened in the project the connector watches, with one of the categories
        its changes are judged by (R1): in Jira the category field's options, which `ecm install` puts
        on the field."""
        bypass = self.deploys.bypass if self.deploys else None
        watched = self.jira.project if self.jira else None
        if bypass is not None and watched and bypass.project not in (None, watched):  # fields, webhook
            raise at_key(
                "deploys.bypass.project",
                f"{bypass.project!r} is not jira.project ({watched}): the connector installs its fields "
                "and screens, hears webhooks and reconciles in that project only; leave it unset or set "
                f"{watched}",
            )
        if bypass is not None and bypass.category is not None and bypass.category not in self.categories:
            where = "jira.fields.category.options" if self.jira else "the procedure's categories"
            raise at_key(
                "deploys.bypass.category",
                f"{bypass.category!r} is not one of the change categories ({where}): "
                + ", ".join(self.categories),
            )
        return self

    @field_validator("jira", "servicenow")
    @classmethod
    def _section_matches_target(cls, section: Model | None, info: ValidationInfo) -> Model | None:
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
        if target is Target.JIRA_DATACENTER and isinstance(section, JiraSection) and section.auth != "pat":
            raise at_key(
                "auth", "Jira Data Center takes pat (a personal access token of the connector's account)"
            )
        return section

    @property
    def tool(self) -> str:
        return SECTION_OF[self.target]

    @property
    def categories(self) -> tuple[str, ...]:
        """The critical issue categories of this mapping's changes (R1): the Jira category field's
        options; ServiceNow's `category` takes the procedure's own."""
        from connector.procedure.policy import DEFAULT_CATEGORIES

        return self.jira.fields.category.options if self.jira else DEFAULT_CATEGORIES

    def policy(self) -> Policy:
        """The configurable parts of the procedure core, as this mapping sets them."""
        from connector.procedure.policy import Policy

        return Policy(
            verbal_confirmation_business_days=self.verbal_confirmation.business_days,
            postmortem_business_days=self.calendar.business_days,
            categories=self.categories,
            # a ServiceNow change_request's close code and close notes are its standard documentation (R8)
            close_code_documents_change=self.servicenow is not None,
            zone=ZoneInfo(self.calendar.timezone),  # the rules' words show times in the calendar's zone
        )


@functools.cache
def default_policy(tool: str) -> Policy:
    """The policy of a tool judged without its mapping file: the defaults, and what the tool itself
    documents (a ServiceNow change's close code)."""
    from connector.procedure.policy import Policy

    return Policy(close_code_documents_change=tool == SECTION_OF[Target.SERVICENOW])


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


def _describe(error: ErrorDetails) -> tuple[str, str]:
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


__all__ = [  # what the rest of the connector imports from here
    "AlertKind",
    "Deploys",
    "FieldType",
    "IssueKind",
    "JiraSection",
    "JiraStatuses",
    "KeySource",
    "Mapping",
    "Recipient",
    "ServiceNowSection",
    "Target",
    "expand_placeholders",
    "load_mapping",
    "load_mapping_text",
    "mapping_json_schema",
    "mapping_json_schema_text",
]
