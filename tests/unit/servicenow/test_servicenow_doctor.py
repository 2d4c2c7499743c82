"""`ecm doctor` for ServiceNow, against an in-memory gateway."""

from __future__ import annotations

from pydantic import SecretStr

from connector.config import Settings
from connector.servicenow.doctor import doctor
from connector.servicenow.installer import BLOCK_RULE, install


def failing(checks):
    return {check.name: check for check in checks if not check.ok}


def test_doctor_passes_after_install(fake, mapping, settings):
    install(mapping, fake, settings=settings)

    checks = doctor(mapping, fake, settings=settings)

    assert all(check.ok for check in checks), failing(checks)
    assert [c.name for c in checks][:4] == [
        "connection",
        "roles of ecm-bot",
        "group Engineering Leads",
        "group Security Team",
    ]


def test_doctor_on_a_fresh_instance_says_to_install(fake, mapping, settings):
    problems = failing(doctor(mapping, fake, settings=settings))

    assert problems[f"business rule {BLOCK_RULE}"].detail == "missing"
    assert "ecm install" in problems[f"business rule {BLOCK_RULE}"].fix
    assert "system property x_ecm.connector_url" in problems


def test_deactivated_rule_fails_with_the_fix(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    block = fake.find_one("sys_script", f"name={BLOCK_RULE}")
    fake.update("sys_script", block.sys_id, {"active": "false"})

    (problem,) = failing(doctor(mapping, fake, settings=settings)).values()

    assert (problem.name, problem.detail) == (f"business rule {BLOCK_RULE}", "inactive")
    assert "System Definition > Business Rules" in problem.fix and "ecm install" in problem.fix


def test_unreachable_instance_is_one_failing_check(fake, mapping, settings):
    fake.down = True

    (check,) = doctor(mapping, fake, settings=settings)

    assert (check.name, check.ok) == ("connection", False)
    assert "ECM_SERVICENOW_URL" in check.fix


def test_account_without_admin_or_itil_and_approval_admin_fails(make_fake, mapping, settings):
    gateway = make_fake(roles="itil,rest_service")

    problem = failing(doctor(mapping, gateway, settings=settings))["roles of ecm-bot"]

    assert problem.detail == "has itil, rest_service"
    assert "admin role, or itil and approval_admin" in problem.fix


def test_roles_are_read_from_role_assignments_when_the_user_has_no_roles_field(make_fake, mapping, settings):
    gateway = make_fake(roles="")
    user = gateway.user_by_name("ecm-bot")
    for role in ("itil", "approval_admin", "snc_platform_rest_api_access"):
        role_id = gateway.create("sys_user_role", {"name": role}).sys_id
        gateway.create("sys_user_has_role", {"user": user.sys_id, "role": role_id})

    (roles,) = [c for c in doctor(mapping, gateway, settings=settings) if c.name == "roles of ecm-bot"]

    assert roles.ok
    assert roles.detail == (
        "approval_admin, itil, snc_platform_rest_api_access (ecm install needs admin) (ecm install needs "
        "security_admin for the gate field's ACL, or create it by hand)"
    )


def test_missing_and_empty_approver_groups_fail(make_fake, mapping, settings):
    gateway = make_fake()
    gateway.add_group("Engineering Leads")

    problems = failing(doctor(mapping, gateway, settings=settings))

    assert problems["group Engineering Leads"].detail == "has no members"
    assert "does not exist" in problems["group Security Team"].detail
    assert "create the group 'Security Team'" in problems["group Security Team"].fix


def test_connector_url_pointing_elsewhere_fails(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    moved = Settings(public_url="https://ecm-new.example.com", servicenow_webhook_secret=SecretStr("x"))

    problem = failing(doctor(mapping, fake, settings=moved))["system property x_ecm.connector_url"]

    assert "https://ecm-new.example.com/webhooks/servicenow" in problem.detail


def test_missing_settings_are_reported_not_raised(fake, mapping):
    checks = doctor(mapping, fake, settings=Settings(public_url="https://ecm.example.com"))

    assert checks[-1].name == "configuration" and not checks[-1].ok
    assert "ECM_SERVICENOW_WEBHOOK_SECRET" in checks[-1].detail


def test_a_notification_that_reads_no_recipients_fails_with_where_to_tick_them(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    mail = fake.find_one("sysevent_email_action", "name=ECM Connector: ecm.change.violation")
    fake.update("sysevent_email_action", mail.sys_id, {"event_parm_1": "false", "event_parm_2": "false"})

    (problem,) = failing(doctor(mapping, fake, settings=settings)).values()

    assert problem.name == "email notification ECM Connector: ecm.change.violation"
    assert problem.detail.startswith("sends to nobody")
    assert "'Event parm 1 contains recipient'" in problem.fix
    assert "System Notification > Email > Notifications" in problem.fix


def test_a_missing_property_and_a_rule_moved_to_another_table_fail(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    secret = fake.find_one("sys_properties", "name=x_ecm.connector_secret")
    fake.tables["sys_properties"].pop(secret.sys_id)
    block = fake.find_one("sys_script", f"name={BLOCK_RULE}")
    fake.update("sys_script", block.sys_id, {"when": "after"})

    problems = failing(doctor(mapping, fake, settings=settings))

    assert problems["system property x_ecm.connector_secret"].detail == "missing"
    assert "System Properties" in problems["system property x_ecm.connector_secret"].fix
    assert problems[f"business rule {BLOCK_RULE}"].detail == "when is 'after', expected 'before'"


def test_notifications_the_instance_gave_up_on_are_reported(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    fake.create("u_ecm_notification", {"u_event_id": "a" * 32, "u_state": "error", "u_last_status": "503"})

    (problem,) = failing(doctor(mapping, fake, settings=settings)).values()

    assert (problem.name, problem.detail) == (
        "notification queue u_ecm_notification",
        "1 notification(s) not delivered (last answer: 503)",
    )
    assert "u_state=ready" in problem.fix


def test_a_removed_gate_rule_or_a_loosened_gate_acl_is_drift(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    rule = fake.find_one(
        "sys_script",
        "name=ECM Connector: Implement needs both approvals and both reviews (ENG-PROC-004 steps 2-3, R5 R6)",
    )
    fake.update("sys_script", rule.sys_id, {"active": "false"})
    acl = fake.find_one("sys_security_acl", "name=change_request.u_ecm_gate^operation=write")
    fake.update("sys_security_acl", acl.sys_id, {"admin_overrides": "true"})

    failing = {c.name: c.detail for c in doctor(mapping, fake, settings=settings) if not c.ok}

    assert failing == {
        "business rule ECM Connector: Implement needs both approvals and both reviews "
        "(ENG-PROC-004 steps 2-3, R5 R6)": "inactive",
        "access control change_request.u_ecm_gate": "admin_overrides is 'true': others may write the gate",
    }
