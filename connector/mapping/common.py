"""Mapping schema: shared pieces and the sections every target has (groups, commands, calendar, ...)."""

from __future__ import annotations

import re
from collections.abc import Mapping as EnvMapping
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from connector.errors import MappingError

if TYPE_CHECKING:  # pragma: no cover
    from connector.procedure.calendar import BusinessCalendar

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
    deploy: str = "/deploy"  # Jira Data Center: ask the connector to deploy once the rules hold
    close: str = "/close"  # Jira Data Center: ask the connector to close once the rules hold

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
    def _known_subdivision(cls, code: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if code is None or country is None:
            return code
        known = holidays.list_supported_countries()[country]
        if code not in known:
            listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") if known else "none"
            raise ValueError(f"unknown subdivision {code!r} of {country} (known: {listed})")
        return code

    def build(self) -> BusinessCalendar:
        from connector.mapping.calendar import build_calendar

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
    BYPASS = "bypass"  # a production deploy without an approved emergency change (recipients: deploys.alert)


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
    def _procedure_minimum(cls, chosen: tuple[Recipient, ...], info: ValidationInfo) -> tuple[Recipient, ...]:
        if not chosen:
            raise ValueError("name at least one recipient")
        needed, rule = REQUIRED_RECIPIENTS.get(AlertKind(info.field_name), (set(), ""))
        if missing := sorted(needed - set(chosen)):
            raise ValueError(f"must include {', '.join(missing)} (ENG-PROC-004 {rule})")
        return tuple(dict.fromkeys(chosen))

    def for_kind(self, kind: AlertKind) -> tuple[Recipient, ...]:
        return getattr(self, kind.value)
