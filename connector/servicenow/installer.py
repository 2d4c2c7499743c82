"""`ecm plan` / `ecm install` for ServiceNow: the configuration records a mapping needs, over the Table API.

Each record is looked up by its name; missing → create, different managed fields → update, else unchanged.
Nothing is ever deleted, and fields the installer does not manage are left as an admin set them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING

from connector.errors import ConfigError
from connector.install_plan import SECRET_PLACEHOLDER, Plan, PlanItem
from connector.mapping import AlertKind, Mapping, expand_placeholders
from connector.procedure.model import Stage
from connector.servicenow.actions import ACCOUNT_TABLE, MISSING_FIELD

if TYPE_CHECKING:  # pragma: no cover
    from connector.config import Settings
    from connector.mapping.servicenow import ServiceNowSection
    from connector.servicenow.gateway import ServiceNowGateway, SnRecord

NOTIFY_RULE = "ECM Connector: notify connector"
BLOCK_RULE = "ECM Connector: block implement without approvals"
CLOSE_RULE = "ECM Connector: block close without post-mortem"
SELF_APPROVAL_RULE = "ECM Connector: no self-approval, one person one role (ENG-PROC-004 step 2, R3)"
DELIVER_RULE = "ECM Connector: deliver notifications"
RESEND_JOB = "ECM Connector: resend notifications"
GATE_FIELD = "u_ecm_gate"  # the steps the procedure allows now, written by the connector alone
GATE_RULES = {  # stage: (rule name, which the Table API answers an aborted update with; the step; its reason)
    Stage.APPROVED: (
        "ECM Connector: Scheduled needs both approvals (ENG-PROC-004 step 2, R2 R3 R4)",
        "step 2",
        "an approval from an Engineering Lead and one from a Security Team member, neither the engineer",
    ),
    Stage.DEPLOYED: (
        "ECM Connector: Implement needs both approvals and both reviews (ENG-PROC-004 steps 2-3, R5 R6)",
        "steps 2-3",
        "both approvals, a peer review and a security review, none by the engineer",
    ),
    Stage.CLOSED: (
        "ECM Connector: Closed needs post-mortem, PR and documentation (ENG-PROC-004 step 5, R8)",
        "step 5",
        "the post-mortem task done with its report, the pull request link and the change documentation",
    ),
}
QUEUE_TABLE = (
    "u_ecm_notification"  # the notifications waiting to be delivered (docs/servicenow-notify-contract.md)
)
QUEUE_COLUMNS = (  # element, type, max length, label
    ("u_event_id", "string", "32", "Event id"),
    ("u_change", "string", "32", "Change sys_id"),
    ("u_body", "string", "65000", "Body"),
    ("u_state", "string", "16", "State"),
    ("u_attempts", "integer", "", "Attempts"),
    ("u_next_attempt", "glide_date_time", "", "Next attempt"),
    ("u_last_status", "string", "100", "Last answer"),
)
RESEND_PERIOD = "1970-01-01 00:01:00"  # the job runs every minute
NOTIFIED_TABLES = ("change_task", "sysapproval_approver")  # besides the change table; journal entries come
# with the record they were written on (rules on sys_journal_field do not run for journal writes)
URL_PROPERTY, SECRET_PROPERTY = "x_ecm.connector_url", "x_ecm.connector_secret"
SLA_NAME = "ECM Connector: post-mortem due"
MESSAGE_FOOTER = "<p>${number}: ${short_description}</p><p>${URI_REF}</p>"
HOURS_PER_BUSINESS_DAY = 9  # the SLA counts schedule time; an 8-5 schedule has 9 hours a day

ALERT_TEXT = {  # kind: (subject, first line of the message)
    AlertKind.CREATED: ("Emergency change ${number} raised", "A new emergency change needs your approval."),
    AlertKind.VIOLATION: (
        "Emergency change ${number}: procedure violation",
        "A step of ENG-PROC-004 was skipped; the change's work notes say what the connector did about it.",
    ),
    AlertKind.REMINDER: ("Post-mortem of ${number} due soon", "The post-mortem deadline is approaching."),
    AlertKind.BREACH: ("Post-mortem of ${number} overdue", "The post-mortem deadline has passed."),
    AlertKind.ESCALATION: (
        "Escalation: post-mortem of ${number} still overdue",
        "The post-mortem is still not done; escalated each business day.",
    ),
    AlertKind.UNCONFIRMED_VERBAL: (
        "Verbal approval of ${number} not confirmed",
        "A verbal approval has not been confirmed in writing in time.",
    ),
    AlertKind.DRIFT: (
        "ECM Connector configuration changed",
        "An installed configuration record changed or is missing; `ecm doctor` names it and its fix.",
    ),
    AlertKind.BYPASS: (
        "Production deploy without an approved emergency change: ${number}",
        "A pipeline deployed to production without an approved emergency change; this retroactive change "
        "records it and its post-mortem is due from the deploy.",
    ),
}


@dataclass(frozen=True)
class Desired:
    """One configuration record as the mapping wants it; `refs` maps a field to the (table, name) it names."""

    kind: str
    table: str
    name: str
    fields: dict[str, str]
    key: str = "name"
    secret: str = field(default="", repr=False)  # the value field holds this secret
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    lookup: str = ""  # the encoded query that finds it, when `key=name` does not

    @property
    def query(self) -> str:
        return self.lookup or f"{self.key}={self.name}"


@dataclass(frozen=True)
class Step:
    desired: Desired
    existing: SnRecord | None
    changed: tuple[str, ...]

    @property
    def action(self) -> str:
        return "create" if self.existing is None else "update" if self.changed else "unchanged"

    def item(self) -> PlanItem:
        detail = "" if self.action != "update" else "fields: " + ", ".join(self.changed)
        if self.desired.secret and self.action == "create":
            detail = f"value {SECRET_PLACEHOLDER}"
        return PlanItem(self.desired.kind, self.desired.name, self.action, detail)  # type: ignore[arg-type]


def script(name: str, **values: str) -> str:
    text = resources.files("connector.servicenow").joinpath("scripts", name).read_text(encoding="utf-8")
    for placeholder, value in values.items():
        text = text.replace(f"@@{placeholder}@@", value)
    return text


def fingerprint(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def desired_records(mapping: Mapping, settings: Settings, account: str | None = None) -> list[Desired]:
    """Everything the mapping needs in ServiceNow, in the order install creates it. `account` is the
    connector's user name (the one install runs as), the only account that may write the gate field."""
    sn = mapping.servicenow
    if sn is None:
        raise ConfigError(f"mapping target is {mapping.target}, not servicenow")
    if settings.servicenow_webhook_secret is None:
        raise ConfigError("ECM_SERVICENOW_WEBHOOK_SECRET: required to sign ServiceNow notifications")
    secret = settings.servicenow_webhook_secret.get_secret_value()
    environ = {**os.environ, **({"ECM_PUBLIC_URL": settings.public_url} if settings.public_url else {})}
    records = [
        Desired(
            "system property",
            "sys_properties",
            URL_PROPERTY,
            {
                "value": expand_placeholders(sn.notify_url, environ),
                "type": "string",
                "description": "Where the ECM Connector business rules post notifications",
            },
        ),
        Desired(
            "system property",
            "sys_properties",
            SECRET_PROPERTY,
            {
                "type": "password2",
                "description": f"Key of the ECM Connector signatures ({fingerprint(secret)})",
            },
            secret=secret,
        ),
    ]
    records += _queue_records()
    notify = script("notify.js", CHANGE_TABLE=sn.table, CHANGE_TYPE=sn.type)
    for table in (sn.table, *NOTIFIED_TABLES):
        name = NOTIFY_RULE if table == sn.table else f"{NOTIFY_RULE} ({table})"
        condition = f"type={sn.type}^EQ" if table == sn.table else ""
        records.append(
            Desired(
                "business rule",
                "sys_script",
                name,
                {
                    "collection": table,
                    "when": "after",
                    "order": "10000",
                    "active": "true",
                    "advanced": "true",
                    "action_insert": "true",
                    "action_update": "true",
                    "action_delete": "false",
                    "filter_condition": condition,
                    "script": notify,
                },
            )
        )
    groups = [mapping.groups.leads, mapping.groups.security]
    records.append(
        _refuse_state(sn, BLOCK_RULE, Stage.DEPLOYED, script("block_implement.js", GROUPS=json.dumps(groups)))
    )
    task = sn.postmortem_task
    close = script(
        "block_close.js",
        TASK_TABLE=task.table,
        TASK_TYPE=task.change_task_type,
        PREFIX=task.short_description_prefix.replace("'", "\\'"),
    )
    records.append(_refuse_state(sn, CLOSE_RULE, Stage.CLOSED, close))
    records.append(
        Desired(
            "business rule",
            "sys_script",
            SELF_APPROVAL_RULE,
            {
                "collection": "sysapproval_approver",
                "when": "before",
                "order": "100",
                "active": "true",
                "advanced": "true",
                "action_insert": "false",
                "action_update": "true",
                "action_delete": "false",
                "filter_condition": "stateCHANGESTOapproved^EQ",
                "script": script("no_self_approval.js", CHANGE_TABLE=sn.table, CHANGE_TYPE=sn.type),
            },
        )
    )
    records += _gate_records(sn, account or settings.servicenow_user)
    if mapping.deploys is not None and mapping.deploys.bypass is not None:
        records.append(_bypass_column(sn, mapping.deploys.bypass.field))
    for kind in AlertKind:
        event = sn.events.for_kind(kind)
        subject, message = ALERT_TEXT[kind]
        # An event is fired on a record, and a notification is sent for the events on its own table:
        # drift is about no change, so it is fired on the connector account's sys_user record.
        table = ACCOUNT_TABLE if kind is AlertKind.DRIFT else sn.table
        records.append(
            Desired(
                "event registration",
                "sysevent_register",
                event,
                {
                    "event_name": event,
                    "table": table,
                    "fired_by": "ECM Connector",
                    "description": f"ECM Connector alert: {kind.value}",
                },
                key="event_name",
            )
        )
        records.append(
            Desired(
                "email notification",
                "sysevent_email_action",
                f"ECM Connector: {event}",
                {
                    "event_name": event,
                    "collection": table,
                    "generation_type": "event",
                    "active": "true",
                    "event_parm_1": "true",
                    "event_parm_2": "true",
                    "subject": subject,
                    "message_html": f"<p>{message}</p>{MESSAGE_FOOTER}",
                },
            )
        )
    if sn.sla.enabled:
        records += _sla_records(mapping)
    return records


def _bypass_column(sn: ServiceNowSection, column: str) -> Desired:
    """The true/false column that marks a change opened for a production deploy without an approved
    emergency change (`deploys.bypass.field`); until it exists the Table API ignores it on insert."""
    return Desired(
        "table column",
        "sys_dictionary",
        f"{sn.table}.{column}",
        {
            "name": sn.table,
            "element": column,
            "internal_type": "boolean",
            "column_label": "ECM bypass (deployed to production without an approved emergency change)",
            "active": "true",
        },
        lookup=f"name={sn.table}^element={column}",
    )


def _refuse_state(sn: ServiceNowSection, name: str, stage: Stage, body: str) -> Desired:
    """A before-update rule on the emergency changes that may refuse the move into `stage`."""
    return Desired(
        "business rule",
        "sys_script",
        name,
        {
            "collection": sn.table,
            "when": "before",
            "order": "100",
            "active": "true",
            "advanced": "true",
            "action_insert": "false",
            "action_update": "true",
            "action_delete": "false",
            "filter_condition": f"type={sn.type}^stateCHANGESTO{sn.state_of(stage)}^EQ",
            "script": body,
        },
    )


def _gate_records(sn: ServiceNowSection, account: str | None) -> list[Desired]:
    """The gate field on the change table, the write ACL that keeps it the connector's, and one refusing
    before-rule per guarded state (Scheduled, Implement, Closed, as the mapping names them)."""
    if not account:
        raise ConfigError("ECM_SERVICENOW_USER: required: only the connector's account may write the gate")
    quoted = account.replace("\\", "\\\\").replace("'", "\\'")
    records = [
        *_owned_field(
            sn,
            quoted,
            GATE_FIELD,
            "100",
            "ECM gate (steps the procedure allows now; set by the connector)",
            "ECM Connector: only the connector's account opens and closes the steps",
        ),
        *_owned_field(
            sn,
            quoted,
            MISSING_FIELD,
            "4000",
            "ECM missing (the next step and what it still needs; set by the connector)",
            "ECM Connector: only the connector's account says what the next step needs",
        ),
    ]
    for stage, (name, step, reason) in GATE_RULES.items():
        state = sn.state_of(stage)
        if state is None:
            continue  # the mapping has no state for this step: nothing to guard
        label = name.removeprefix("ECM Connector: ").split(" needs ", 1)[0]
        message = f"ECM: {label} is not allowed yet (ENG-PROC-004 {step}): it needs {reason}."
        body = script(
            "gate.js",
            CONNECTOR=quoted,
            GATE_FIELD=GATE_FIELD,
            STAGE=stage.value,
            STATE_LABEL=label,
            STEP=step,
            REASON=reason,
            MESSAGE=message.replace("'", "\\'"),
        )
        records.append(_refuse_state(sn, name, stage, body))
    return records


def _owned_field(
    sn: ServiceNowSection, quoted: str, element: str, length: str, label: str, why: str
) -> list[Desired]:
    """A column of the change table and the write ACL that keeps it the connector's account's alone."""
    return [
        Desired(
            "table column",
            "sys_dictionary",
            f"{sn.table}.{element}",
            {
                "name": sn.table,
                "element": element,
                "internal_type": "string",
                "max_length": length,
                "column_label": label,
                "active": "true",
            },
            lookup=f"name={sn.table}^element={element}",
        ),
        Desired(
            "access control",
            "sys_security_acl",
            f"{sn.table}.{element}",
            {
                "name": f"{sn.table}.{element}",
                "operation": "write",
                "type": "record",
                "active": "true",
                "admin_overrides": "false",
                "advanced": "true",
                "script": f"answer = gs.getUserName() == '{quoted}';",
                "description": why,
            },
            lookup=f"name={sn.table}.{element}^operation=write",
        ),
    ]


def _queue_records() -> list[Desired]:
    """The outbound queue (a table with its columns), the async rule that sends a queued notification at
    once, and the scheduled job that resends what failed: RESTMessageV2.executeAsync() alone sends once."""
    deliver = script("deliver.js")
    columns = [
        Desired(
            "table column",
            "sys_dictionary",
            f"{QUEUE_TABLE}.{element}",
            {
                "name": QUEUE_TABLE,
                "element": element,
                "internal_type": kind,
                "column_label": label,
                **({"max_length": length} if length else {}),
                "active": "true",
            },
            lookup=f"name={QUEUE_TABLE}^element={element}",
        )
        for element, kind, length, label in QUEUE_COLUMNS
    ]
    return [
        Desired(
            "table",
            "sys_db_object",
            QUEUE_TABLE,
            {"label": "ECM Connector notification", "is_extendable": "false"},
        ),
        *columns,
        Desired(
            "business rule",
            "sys_script",
            DELIVER_RULE,
            {
                "collection": QUEUE_TABLE,
                "when": "async",
                "order": "100",
                "active": "true",
                "advanced": "true",
                "action_insert": "true",
                "action_update": "false",
                "action_delete": "false",
                "filter_condition": "u_state=ready^EQ",
                "script": deliver,
            },
        ),
        Desired(
            "scheduled job",
            "sysauto_script",
            RESEND_JOB,
            {"active": "true", "run_type": "periodically", "run_period": RESEND_PERIOD, "script": deliver},
        ),
    ]


def _sla_records(mapping: Mapping) -> list[Desired]:
    sn, calendar = mapping.servicenow, mapping.calendar
    assert sn is not None and sn.sla.schedule_name
    task = sn.postmortem_task
    hours = calendar.business_days * HOURS_PER_BUSINESS_DAY
    duration = (datetime(1970, 1, 1) + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")
    return [
        Desired(
            "schedule",
            "cmn_schedule",
            sn.sla.schedule_name,
            {
                "time_zone": calendar.timezone,
                "type": "business",
                "description": f"Business days, {calendar.country} public holidays excluded",
            },
        ),
        Desired(
            "SLA definition",
            "contract_sla",
            SLA_NAME,
            {
                "collection": task.table,
                "type": "SLA",
                "target": "resolution",
                "active": "true",
                "duration": duration,
                "timezone": calendar.timezone,
                "start_condition": f"change_task_type={task.change_task_type}"
                f"^short_descriptionSTARTSWITH{task.short_description_prefix}^EQ",
                "stop_condition": "state=3^EQ",
                "cancel_condition": "state=4^EQ",
            },
            refs={"schedule": ("cmn_schedule", sn.sla.schedule_name)},
        ),
    ]


def _same(name: str, want: str, have: str) -> bool:
    if name == "script":
        return want.replace("\r\n", "\n").strip() == have.replace("\r\n", "\n").strip()
    return want == have


def _resolve(gateway: ServiceNowGateway, desired: Desired) -> dict[str, str]:
    fields = dict(desired.fields) | ({"value": desired.secret} if desired.secret else {})
    for name, (table, ref_name) in desired.refs.items():
        found = gateway.find_one(table, f"name={ref_name}")
        fields[name] = found.sys_id if found else ""
    return fields


def _step(gateway: ServiceNowGateway, desired: Desired) -> Step:
    existing = gateway.find_one(desired.table, desired.query)
    if existing is None:
        return Step(desired, None, ())
    fields = _resolve(gateway, desired)
    changed = [n for n, v in fields.items() if not _same(n, v, existing.get(n))]
    encrypted = existing.get("type") == "password2" and existing.get("value")
    if (
        desired.secret
        and "value" in changed
        and encrypted
        and fingerprint(desired.secret) in existing.get("description")
    ):
        changed.remove("value")  # ServiceNow returns password2 values encrypted; the fingerprint tells
    return Step(desired, existing, tuple(changed))


def _steps(mapping: Mapping, gateway: ServiceNowGateway, settings: Settings | None) -> list[Step]:
    if settings is None:
        from connector.config import load_settings

        settings = load_settings()
    account = getattr(gateway, "user", None)
    steps = [_step(gateway, desired) for desired in desired_records(mapping, settings, account)]
    return steps + _retired(gateway)


RETIRED_RULES = (f"{NOTIFY_RULE} (sys_journal_field)",)  # journal entries now come with their record


def _retired(gateway: ServiceNowGateway) -> list[Step]:
    """Rules an older install created that are no longer wanted: deactivated, never deleted."""
    steps = []
    for name in RETIRED_RULES:
        existing = gateway.find_one("sys_script", f"name={name}")
        if existing is not None and existing.get("active") != "false":
            steps.append(
                Step(Desired("business rule", "sys_script", name, {"active": "false"}), existing, ("active",))
            )
    return steps


def plan(mapping: Mapping, gateway: ServiceNowGateway, *, settings: Settings | None = None) -> Plan:
    """What `install` would do; reads only."""
    return Plan("servicenow", tuple(step.item() for step in _steps(mapping, gateway, settings)))


def install(
    mapping: Mapping,
    gateway: ServiceNowGateway,
    *,
    progress: Callable[[PlanItem], None] = lambda _: None,
    settings: Settings | None = None,
) -> Plan:
    """Create or update what the plan lists, in order; `progress` hears each item once done."""
    done = []
    for step in _steps(mapping, gateway, settings):
        if step.action != "unchanged":
            fields = _resolve(gateway, step.desired)  # after earlier steps, references resolve
            if step.existing is None:
                identity = {} if step.desired.lookup else {step.desired.key: step.desired.name}
                gateway.create(step.desired.table, {**identity, **fields})
            else:
                gateway.update(step.desired.table, step.existing.sys_id, {n: fields[n] for n in step.changed})
        done.append(step.item())
        progress(done[-1])
    return Plan("servicenow", tuple(done))
