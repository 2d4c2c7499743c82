"""Tables the sandbox instance knows: their fields, defaults, references, numbers and choice labels."""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM_FIELDS = (
    "sys_id",
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
)
JOURNAL_FIELDS = ("comments", "work_notes")

# Every field of a change_request as the Change Management API sample returns it.
_CHANGE_REQUEST_TEXT = """
active activity_due additional_assignee_list approval approval_history approval_set assigned_to
assignment_group backout_plan business_duration business_service cab_date cab_delegate
cab_recommendation cab_required calendar_duration category change_plan chg_model ci_class close_code
close_notes closed_at closed_by cmdb_ci comments comments_and_work_notes company conflict_last_run
conflict_status contact_type contract correlation_display correlation_id delivery_plan delivery_task
description due_date end_date escalation expected_start follow_up group_list impact
implementation_plan is_bulk justification knowledge location made_sla number on_hold on_hold_reason
on_hold_task opened_at opened_by order outside_maintenance_schedule parent phase phase_state
priority production_system proposed_change reason reassignment_count rejection_goto requested_by
requested_by_date review_comments review_date review_status risk risk_impact_analysis risk_value
route_reason scope service_offering short_description skills sla_due start_date state
std_change_producer_version sys_class_name sys_domain sys_domain_path sys_tags task_effective_number
test_plan time_worked type unauthorized universal_request upon_approval upon_reject urgency
user_input variables watch_list wf_activity work_end work_notes work_notes_list work_start
"""
_CHANGE_REQUEST_FIELDS = tuple(_CHANGE_REQUEST_TEXT.split())

_TASK_DEFAULTS = {
    "active": "true",
    "approval": "not requested",
    "escalation": "0",
    "impact": "3",
    "urgency": "3",
    "priority": "4",
    "made_sla": "true",
    "knowledge": "false",
    "sys_domain": "global",
    "sys_domain_path": "/",
    "upon_approval": "proceed",
    "upon_reject": "cancel",
    "on_hold": "false",
    "reassignment_count": "0",
}


@dataclass(frozen=True)
class TableSpec:
    """How one table behaves: `fields` None means any field is accepted (configuration tables)."""

    name: str
    fields: tuple[str, ...] | None
    defaults: dict[str, str] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    number_prefix: str = ""
    number_start: int = 0
    display_field: str = "sys_id"
    write_role: str = ""
    read_role: str = ""
    custom: bool = False  # a u_ table: exists once a sys_db_object record of its name does

    def accepts(self, name: str) -> bool:
        return self.fields is None or name in self.fields or name.startswith("u_")


def _spec(name: str, fields: str | tuple[str, ...] | None, **kwargs: object) -> TableSpec:
    names = tuple(fields.split()) if isinstance(fields, str) else fields
    return TableSpec(name=name, fields=names, **kwargs)  # type: ignore[arg-type]


_USER_REF = "sys_user"
_GROUP_REF = "sys_user_group"

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "change_request",
            tuple(_CHANGE_REQUEST_FIELDS),
            defaults={
                **_TASK_DEFAULTS,
                "state": "-5",
                "type": "normal",
                "phase": "requested",
                "risk": "3",
                "sys_class_name": "change_request",
                "cab_required": "false",
                "production_system": "false",
                "unauthorized": "false",
                "outside_maintenance_schedule": "false",
                "is_bulk": "false",
                "conflict_status": "Not Run",
                "review_status": "",
                "scope": "3",
            },
            references={
                "requested_by": _USER_REF,
                "assigned_to": _USER_REF,
                "opened_by": _USER_REF,
                "closed_by": _USER_REF,
                "assignment_group": _GROUP_REF,
                "sys_domain": _GROUP_REF,
                "parent": "change_request",
            },
            number_prefix="CHG",
            number_start=30001,
            display_field="number",
        ),
        _spec(
            "change_task",
            "number change_request change_task_type short_description description assigned_to "
            "assignment_group "
            "due_date state close_code close_notes planned_start_date planned_end_date work_start work_end "
            "active approval comments work_notes comments_and_work_notes priority parent on_hold sys_domain "
            "sys_domain_path sys_class_name sys_tags opened_by opened_at closed_at closed_by impact urgency "
            "escalation made_sla knowledge upon_approval upon_reject reassignment_count",
            defaults={
                **_TASK_DEFAULTS,
                "state": "1",
                "change_task_type": "implementation",
                "sys_class_name": "change_task",
            },
            references={
                "change_request": "change_request",
                "parent": "change_request",
                "assigned_to": _USER_REF,
                "assignment_group": _GROUP_REF,
                "opened_by": _USER_REF,
                "closed_by": _USER_REF,
                "sys_domain": _GROUP_REF,
            },
            number_prefix="CTASK",
            number_start=10001,
            display_field="number",
        ),
        _spec(
            "sysapproval_approver",
            "approver sysapproval document_id source_table group state comments due_date expected_start "
            "approval_source order sys_class_name",
            defaults={
                "state": "requested",
                "source_table": "change_request",
                "order": "",
                "sys_class_name": "sysapproval_approver",
            },
            # `group` is the group approval (sysapproval_group), not the sys_user_group.
            references={"approver": _USER_REF, "sysapproval": "change_request", "group": "sysapproval_group"},
        ),
        _spec(
            "sysapproval_group",
            "parent assignment_group approval short_description sys_class_name",
            defaults={"approval": "requested", "sys_class_name": "sysapproval_group"},
            references={"parent": "change_request", "assignment_group": _GROUP_REF},
        ),
        _spec(
            _USER_REF,
            "user_name first_name last_name name email active roles title locked_out",
            defaults={"active": "true", "locked_out": "false"},
            display_field="name",
            write_role="admin",
        ),
        _spec(
            _GROUP_REF,
            "name description manager email active",
            defaults={"active": "true"},
            references={"manager": _USER_REF},
            display_field="name",
            write_role="admin",
        ),
        _spec(
            "sys_user_grmember",
            "user group",
            references={"user": _USER_REF, "group": _GROUP_REF},
            write_role="admin",
        ),
        _spec("sys_journal_field", "element element_id name value"),
        _spec(
            "sysevent",
            "name instance table parm1 parm2 state queue process_on processed claimed_by uri",
            defaults={"state": "ready"},
        ),
        _spec(
            "sys_email",
            "subject recipients copied blind_copied body body_text type state instance target_table "
            "notification_type content_type mailbox headers",
            defaults={
                "type": "sent",
                "state": "processed",
                "notification_type": "SMTP",
                "content_type": "text/html",
                "mailbox": "sent",
            },
        ),
        _spec(
            "task_sla",
            "task sla stage active start_time end_time planned_end_time has_breached schedule",
            defaults={"stage": "in_progress", "active": "true", "has_breached": "false"},
            references={"task": "change_task", "sla": "contract_sla", "schedule": "cmn_schedule"},
        ),
        _spec(
            "sys_script",
            None,
            defaults={"active": "true", "when": "before", "order": "100"},
            display_field="name",
            write_role="admin",
        ),
        _spec(
            "sys_properties",
            None,
            defaults={"type": "string"},
            display_field="name",
            write_role="admin",
            read_role="admin",
        ),
        _spec("sysevent_register", None, display_field="event_name", write_role="admin"),
        _spec(
            "sysevent_email_action",
            None,
            defaults={"active": "true"},
            display_field="name",
            write_role="admin",
        ),
        _spec("cmn_schedule", None, display_field="name", write_role="admin"),
        _spec("sys_db_object", None, display_field="name", write_role="admin"),
        _spec("sys_dictionary", None, display_field="element", write_role="admin"),
        _spec(
            "sysauto_script",
            None,
            defaults={"active": "true", "run_type": "periodically"},
            display_field="name",
            write_role="admin",
        ),
        # The connector's outbound queue, as its installer defines it (sys_db_object + sys_dictionary).
        _spec(
            "u_ecm_notification",
            "u_event_id u_change u_body u_state u_attempts u_next_attempt u_last_status",
            defaults={"u_state": "ready", "u_attempts": "0"},
            display_field="u_event_id",
            write_role="admin",
            read_role="admin",
            custom=True,
        ),
        _spec("contract_sla", None, defaults={"active": "true"}, display_field="name", write_role="admin"),
        # Access controls: writing them needs security_admin, not admin alone ("Configure an ACL … Role
        # required: security_admin … To create ACLs, you must elevate privileges to the security_admin
        # role", https://www.servicenow.com/docs/r/australia/platform-security/access-control/t_CreateAnACLRule.html).
        # The sandbox has no elevation step: an account holding the role may write them.
        _spec(
            "sys_security_acl",
            None,
            defaults={"active": "true", "type": "record", "admin_overrides": "true", "advanced": "false"},
            display_field="name",
            write_role="security_admin",
        ),
    )
}

CHOICE_LABELS: dict[tuple[str, str], dict[str, str]] = {
    ("change_request", "state"): {
        "-5": "New",
        "-4": "Assess",
        "-3": "Authorize",
        "-2": "Scheduled",
        "-1": "Implement",
        "0": "Review",
        "3": "Closed",
        "4": "Canceled",
    },
    ("change_request", "type"): {"normal": "Normal", "standard": "Standard", "emergency": "Emergency"},
    ("change_task", "state"): {
        "-5": "Pending",
        "1": "Open",
        "2": "In Progress",
        "3": "Closed",
        "4": "Canceled",
    },
    ("change_task", "change_task_type"): {
        "planning": "Planning",
        "implementation": "Implementation",
        "testing": "Testing",
        "review": "Review",
    },
    ("sysapproval_approver", "state"): {
        "requested": "Requested",
        "approved": "Approved",
        "rejected": "Rejected",
        "cancelled": "Cancelled",
        "not_required": "No Longer Required",
        "not requested": "Not Yet Requested",
    },
}
for _table in ("change_request", "change_task"):
    CHOICE_LABELS[(_table, "approval")] = {
        "not requested": "Not Yet Requested",
        "requested": "Requested",
        "approved": "Approved",
        "rejected": "Rejected",
    }


def spec_for(table: str) -> TableSpec | None:
    return TABLES.get(table)
