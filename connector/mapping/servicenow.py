"""Mapping schema: the `servicenow:` section."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import field_validator, model_validator

from connector.procedure.model import Stage

if TYPE_CHECKING:  # pragma: no cover
    pass

from connector.mapping.common import AlertKind, Model, at_key, check_url

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
    bypass: str = "ecm.change.bypass"

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
