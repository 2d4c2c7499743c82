"""Mapping schema: the `deploys:` section (production deploys reported by pipelines).

Which environments are production, where the emergency change's key is found in what a pipeline reports,
where a production deploy that has no approved emergency change opens its retroactive change (a bypass),
and who is alerted of one.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from connector.mapping.common import Model, Recipient

R = Recipient


class KeySource(StrEnum):
    """Where the change's key is looked for in a reported deploy, in the order the mapping lists them."""

    CHANGE_KEY = "change_key"  # the generic deploy hook's `change_key`
    PAYLOAD = "payload"  # a GitHub deployment's `payload` (text or JSON)
    DESCRIPTION = "description"  # the deployment's (or its status's) description
    REF = "ref"  # the branch or tag deployed
    COMMIT_MESSAGE = "commit_message"  # the message of the deployed commit, where the body gives it


class Bypass(Model):
    """Where a production deploy without an approved emergency change opens its retroactive change."""

    project: str | None = Field(
        None,
        description="Jira project of bypass changes: the mapping's jira.project (the default), the one "
        "project the connector installs into and watches",
    )
    label: str = Field("ecm-bypass", description="Jira label that marks a bypass change")
    field: str = Field(
        "u_ecm_bypass", description="ServiceNow true/false column that marks a bypass change (installed)"
    )
    category: str | None = Field(
        None,
        description="critical issue category the bypass change is opened with (R1): one of the mapping's "
        "categories (Jira: the category field's options); unset: none, the engineer states it",
    )

    @field_validator("label")
    @classmethod
    def _one_word(cls, label: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:-]+", label):
            raise ValueError(f"must be one word without spaces, as Jira labels are (got {label!r})")
        return label

    @field_validator("field")
    @classmethod
    def _column(cls, name: str) -> str:
        if not re.fullmatch(r"u_[a-z0-9_]{1,76}", name):
            raise ValueError(
                f"must be a custom column name starting with u_, like u_ecm_bypass (got {name!r})"
            )
        return name


class Deploys(Model):
    production: tuple[str, ...] = Field(
        ("production",), description="environment names that are production (compared ignoring case)"
    )
    change_key: str | None = Field(
        None,
        description="regular expression of a change key (group 1 if it has one); default: the project's "
        "Jira keys (EMG-12) or ServiceNow change numbers (CHG0030001)",
    )
    look_in: tuple[KeySource, ...] = tuple(KeySource)
    bypass: Bypass | None = Field(
        None, description="open bypass changes in this tool (one configured mapping at most)"
    )
    alert: tuple[Recipient, ...] = (R.LEADS, R.SECURITY)

    @field_validator("production")
    @classmethod
    def _named(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names or any(not n.strip() for n in names):
            raise ValueError("name at least one production environment, none empty")
        return tuple(dict.fromkeys(names))

    @field_validator("change_key")
    @classmethod
    def _pattern(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            compiled = re.compile(pattern)
        except re.error as e:
            raise ValueError(f"is not a regular expression: {e}") from None
        if compiled.groups > 1:
            raise ValueError("may have one group (the key), not more")
        if compiled.search(""):
            raise ValueError("matches empty text; it must match a key such as EMG-12")
        return pattern

    @field_validator("look_in")
    @classmethod
    def _somewhere(cls, sources: tuple[KeySource, ...]) -> tuple[KeySource, ...]:
        if not sources:
            raise ValueError("name at least one place to look for the change key")
        return tuple(dict.fromkeys(sources))

    @field_validator("alert")
    @classmethod
    def _procedure_minimum(cls, chosen: tuple[Recipient, ...], info: ValidationInfo) -> tuple[Recipient, ...]:
        if missing := sorted({R.LEADS, R.SECURITY} - set(chosen)):
            raise ValueError(f"must include {', '.join(missing)} (ENG-PROC-004 R9: bypasses are violations)")
        return tuple(dict.fromkeys(chosen))

    def key_pattern(self, default: str) -> re.Pattern[str]:
        return re.compile(self.change_key or default)

    def is_production(self, environment: str) -> bool:
        wanted = environment.strip().casefold()
        return any(name.strip().casefold() == wanted for name in self.production)
