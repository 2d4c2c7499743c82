"""The instance's state model, data policy and approvals (the platform's own checks, in Python)."""

from __future__ import annotations

import pytest

TABLE = "/api/now/table/change_request"


@pytest.fixture
def change(emma):
    return emma(
        "POST", TABLE, json={"short_description": "Outage", "type": "emergency", "requested_by": "eng.emma"}
    ).json["result"]


def move(caller, change, state, **fields):
    return caller("PATCH", f"{TABLE}/{change['sys_id']}", json={"state": state, **fields})


def approve(as_user, instance, change, user_name, group):
    group_id = instance.store.find("sys_user_group", name=group)[0]["sys_id"]
    [asked] = instance.store.find("sysapproval_group", parent=change["sys_id"], assignment_group=group_id)
    user_id = instance.user(user_name)["sys_id"]
    [row] = instance.store.find(
        "sysapproval_approver", sysapproval=change["sys_id"], approver=user_id, group=asked["sys_id"]
    )
    return as_user(user_name)(
        "PATCH", f"/api/now/table/sysapproval_approver/{row['sys_id']}", json={"state": "approved"}
    )


def test_emergency_change_cannot_skip_authorize(emma, change):
    response = move(emma, change, "-1")
    assert response.status_code == 400
    assert response.json["error"]["message"] == "Invalid state transition"
    assert "from New to Implement" in response.json["error"]["detail"]


def test_the_state_model_refuses_a_way_back_to_an_admin_too_except_revert_to_new(emma, bot, change):
    for state in ("-3", "-2", "-1"):
        assert move(emma, change, state).status_code == 200
    refused = move(bot, change, "-2")
    assert (refused.status_code, refused.json["error"]["message"]) == (400, "Invalid state transition")
    assert "from Implement to Scheduled" in refused.json["error"]["detail"]


def test_revert_to_new_from_authorize_is_allowed(emma, bot, change):
    assert move(emma, change, "-3").status_code == 200
    assert move(bot, change, "-5").json["result"]["state"] == "-5"


def test_authorize_requests_one_approval_per_group_member(emma, instance, change):
    result = move(emma, change, "-3").json["result"]
    assert result["approval"] == "requested"
    rows = instance.store.find("sysapproval_approver", sysapproval=change["sys_id"])
    names = sorted(instance.store.get("sys_user", r["approver"])["user_name"] for r in rows)
    assert names == ["dual.dana", "dual.dana", "lead.liam", "sec.sara"]
    assert {r["state"] for r in rows} == {"requested"}


def test_by_default_the_emergency_model_asks_the_cab_and_a_group_approval_holds_the_members(default_app):
    from tests.unit.sandbox_servicenow.conftest import Caller

    instance = default_app.extensions["servicenow"]
    emma = Caller(default_app.test_client(), "eng.emma")
    change = emma("POST", TABLE, json={"short_description": "Outage", "type": "emergency"}).json["result"]
    move(emma, change, "-3")
    [asked] = instance.store.find("sysapproval_group", parent=change["sys_id"])
    assert instance.store.get("sys_user_group", asked["assignment_group"])["name"] == "Change Advisory Board"
    [row] = instance.store.find("sysapproval_approver", sysapproval=change["sys_id"])
    assert (instance.store.get("sys_user", row["approver"])["user_name"], row["group"]) == (
        "cab.carl",
        asked["sys_id"],
    )
    carl = Caller(default_app.test_client(), "cab.carl")
    carl("PATCH", f"/api/now/table/sysapproval_approver/{row['sys_id']}", json={"state": "approved"})
    assert instance.store.get("sysapproval_group", asked["sys_id"])["approval"] == "approved"
    assert instance.store.get("change_request", change["sys_id"])["approval"] == "approved"


def test_an_approval_whose_group_is_not_a_group_approval_settles_nothing(emma, as_user, instance, change):
    """The Table API stores a sys_user_group sys_id in `group` as given; it is no group approval."""
    move(emma, change, "-3")
    leads = instance.store.find("sys_user_group", name="Engineering Leads")[0]["sys_id"]
    liam = instance.user("lead.liam")["sys_id"]
    bot = as_user("ecm-bot")
    created = bot(
        "POST",
        "/api/now/table/sysapproval_approver",
        json={"sysapproval": change["sys_id"], "approver": liam, "group": leads, "state": "requested"},
    ).json["result"]
    assert created["group"]["value"] == leads  # stored as given
    as_user("lead.liam")(
        "PATCH", f"/api/now/table/sysapproval_approver/{created['sys_id']}", json={"state": "approved"}
    )
    [asked] = instance.store.find("sysapproval_group", parent=change["sys_id"], assignment_group=leads)
    assert asked["approval"] == "requested"


def test_only_the_approver_may_approve(emma, as_user, instance, change):
    move(emma, change, "-3")
    row = instance.store.find("sysapproval_approver", sysapproval=change["sys_id"])[0]
    denied = emma("PATCH", f"/api/now/table/sysapproval_approver/{row['sys_id']}", json={"state": "approved"})
    assert denied.status_code == 403
    assert denied.json["error"]["detail"] == "ACL Exception Update Failed due to security constraints"


def test_both_group_approvals_approve_the_change_and_settle_the_other_members(
    emma, as_user, instance, change
):
    move(emma, change, "-3")
    assert approve(as_user, instance, change, "lead.liam", "Engineering Leads").status_code == 200
    assert approve(as_user, instance, change, "sec.sara", "Security Team").status_code == 200
    assert instance.store.get("change_request", change["sys_id"])["approval"] == "approved"
    dana = instance.user("dual.dana")["sys_id"]
    assert {r["state"] for r in instance.store.find("sysapproval_approver", approver=dana)} == {
        "not_required"
    }


def test_closing_needs_close_code_and_close_notes(emma, bot, change):
    for state in ("-3", "-2", "-1", "0"):
        assert move(emma, change, state).status_code == 200
    refused = move(emma, change, "3")
    assert refused.status_code == 403
    assert "Close code, Close notes" in refused.json["error"]["detail"]
    closed = move(emma, change, "3", close_code="successful", close_notes="Done").json["result"]
    assert (closed["state"], closed["active"], closed["closed_at"]) == ("3", "false", "2026-03-02 09:30:00")


def test_review_cannot_be_canceled(emma, change):
    for state in ("-3", "-2", "-1", "0"):
        move(emma, change, state)
    assert move(emma, change, "4").status_code == 400


def test_event_with_an_active_notification_records_an_email_to_users_and_groups(emma, bot, instance, change):
    bot(
        "POST",
        "/api/now/table/sysevent_email_action",
        json={
            "name": "ECM reminder",
            "event_name": "x_ecm.reminder",
            "collection": "change_request",
            "active": "true",
            "subject": "Post-mortem due for ${number}",
            "message_html": "Due ${event.parm2}",
            "event_parm_1": "true",
            "recipient_groups": instance.store.find("sys_user_group", name="Security Team")[0]["sys_id"],
        },
    )
    bot(
        "POST",
        "/api/now/table/sysevent",
        json={
            "name": "x_ecm.reminder",
            "instance": change["sys_id"],
            "table": "change_request",
            "parm1": instance.user("eng.emma")["sys_id"],
            "parm2": "",
            "state": "ready",
            "process_on": "2026-03-02 09:30:00",
        },
    )
    [email] = emma("GET", "/api/now/table/sys_email").json["result"]
    assert email["subject"] == f"Post-mortem due for {change['number']}"
    assert email["recipients"].split(",") == [
        "eng.emma@example.com",
        "sec.sara@example.com",
        "dual.dana@example.com",
    ]
    assert instance.store.find("sysevent")[0]["state"] == "processed"


def test_event_without_an_active_notification_sends_nothing(bot, change):
    bot(
        "POST",
        "/api/now/table/sysevent_email_action",
        json={"name": "off", "event_name": "x_ecm.breach", "active": "false", "subject": "s"},
    )
    bot("POST", "/api/now/table/sysevent", json={"name": "x_ecm.breach", "parm1": "eng.emma"})
    assert bot("GET", "/api/now/table/sys_email").json["result"] == []


def test_change_task_gets_a_task_sla_when_an_sla_definition_covers_it(bot, emma, change):
    sla = bot(
        "POST",
        "/api/now/table/contract_sla",
        json={
            "name": "Post-mortem 3 business days",
            "collection": "change_task",
            "duration": "1970-01-04 00:00:00",
        },
    )
    task = emma(
        "POST",
        "/api/now/table/change_task",
        json={
            "change_request": change["sys_id"],
            "change_task_type": "review",
            "short_description": "Post-mortem",
            "due_date": "2026-03-05 09:30:00",
        },
    ).json["result"]
    assert task["number"] == "CTASK0010001"
    [row] = emma(
        "GET", "/api/now/table/task_sla", query_string={"sysparm_query": f"task={task['sys_id']}"}
    ).json["result"]
    assert row["sla"]["value"] == sla.json["result"]["sys_id"] and row["stage"] == "in_progress"
    emma("PATCH", f"/api/now/table/change_task/{task['sys_id']}", json={"state": "3", "close_notes": "done"})
    [row] = emma("GET", "/api/now/table/task_sla").json["result"]
    assert (row["stage"], row["active"]) == ("completed", "false")
