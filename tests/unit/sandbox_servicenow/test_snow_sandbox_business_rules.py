"""Business rules run as the JavaScript stored in `sys_script`: the installer's own scripts, conditions,
before rules that abort, scripts that fail, and what a rule sees of a journal write."""

from __future__ import annotations

import json

import pytest

from connector.servicenow.installer import script

TABLE = "/api/now/table/change_request"
GROUPS = json.dumps(["Engineering Leads", "Security Team"])


def rule(bot, name, source, *, table="change_request", when="after", **fields):
    answer = bot(
        "POST",
        "/api/now/table/sys_script",
        json={
            "name": name,
            "collection": table,
            "when": when,
            "active": "true",
            "action_insert": "true",
            "action_update": "true",
            "script": source,
            **fields,
        },
    )
    assert answer.status_code == 201
    return answer.json["result"]


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
    [row] = instance.store.find(
        "sysapproval_approver",
        sysapproval=change["sys_id"],
        approver=instance.user(user_name)["sys_id"],
        group=asked["sys_id"],
    )
    answer = as_user(user_name)(
        "PATCH", f"/api/now/table/sysapproval_approver/{row['sys_id']}", json={"state": "approved"}
    )
    assert answer.status_code == 200


def test_installed_block_rule_refuses_implement_without_approvals_only_while_active(
    emma, bot, change, instance
):
    block = rule(
        bot,
        "ECM Connector: block implement without approvals",
        script("block_implement.js", GROUPS=GROUPS),
        when="before",
        action_insert="false",
        filter_condition="type=emergency^stateCHANGESTO-1^EQ",
    )
    move(emma, change, "-3")
    move(emma, change, "-2")
    blocked = move(emma, change, "-1")
    assert blocked.status_code == 403
    # as an instance answers: the rule named with its sys_id, its gs.addErrorMessage text left to the form
    assert blocked.json["error"] == {
        "message": "Operation Failed",
        "detail": "Operation against file 'change_request' was aborted by Business Rule "
        f"'ECM Connector: block implement without approvals^{block['sys_id']}'. "
        "Business Rule Stack:ECM Connector: block implement without approvals",
    }
    ((who, kind, text),) = instance.session_messages
    assert (who, kind) == ("eng.emma", "error") and "Missing: Engineering Leads, Security Team" in text
    bot("PATCH", f"/api/now/table/sys_script/{block['sys_id']}", json={"active": "false"})
    assert move(emma, change, "-1").status_code == 200


def test_installed_block_rule_lets_implement_through_with_both_approvals(
    emma, bot, as_user, instance, change
):
    rule(
        bot,
        "block",
        script("block_implement.js", GROUPS=GROUPS),
        when="before",
        filter_condition="type=emergency^stateCHANGESTO-1^EQ",
    )
    move(emma, change, "-3")
    approve(as_user, instance, change, "dual.dana", "Engineering Leads")
    approve(as_user, instance, change, "sec.sara", "Security Team")
    move(emma, change, "-2")
    assert move(emma, change, "-1").status_code == 200


def test_a_before_rule_sets_fields_on_current_and_runs_only_when_its_filter_holds(emma, bot, change):
    rule(
        bot,
        "stamp",
        "current.setValue('justification', 'set by ' + gs.getUserName());",
        when="before",
        filter_condition="stateCHANGESTO-3^EQ",
    )
    assert move(emma, change, "-5", description="x").json["result"]["justification"] == ""
    assert move(emma, change, "-3").json["result"]["justification"] == "set by eng.emma"


@pytest.mark.parametrize(
    "source",
    [
        "var x = ;",  # a syntax error
        "gs.sendEmail('lead.liam', 'hi');",  # not an API of GlideSystem
        "new GlideRecord('change_request').getFoo();",  # not an API of GlideRecord
        "throw new Error('broken');",
    ],
)
def test_a_broken_script_fails_the_write(emma, bot, change, source):
    rule(bot, "broken", source)
    failed = move(emma, change, "-3")
    assert failed.status_code == 500
    assert failed.json["error"]["detail"].startswith("business rule broken: ")


def test_rules_on_sys_journal_field_do_not_run_for_a_journal_write(emma, bot, instance, change):
    rule(bot, "journal watcher", "gs.eventQueue('journal.seen', current);", table="sys_journal_field")
    move(emma, change, "-5", work_notes="/approve")
    assert instance.store.find("sys_journal_field", element_id=change["sys_id"])[0]["value"] == "/approve"
    assert instance.store.find("sysevent", name="journal.seen") == []


def test_the_change_rule_sees_the_journal_field_changed_and_reads_its_newest_entry(
    emma, bot, instance, change
):
    rule(
        bot,
        "journal reader",
        "if (current.work_notes.changes())"
        " gs.eventQueue('note', current, current.work_notes.getJournalEntry(1));"
        "if (current.comments.changes()) gs.eventQueue('comment', current);",
    )
    move(emma, change, "-5", work_notes="first")
    as_lead = move(emma, change, "-5", work_notes="second /approve")
    assert as_lead.status_code == 200
    notes = [e["parm1"] for e in instance.store.find("sysevent", name="note")]
    assert notes == [
        "2026-03-02 09:30:00 - Emma Engineer (Work notes)\nfirst\n\n",
        "2026-03-02 09:30:00 - Emma Engineer (Work notes)\nsecond /approve\n\n",
    ]
    assert instance.store.find("sysevent", name="comment") == []


def test_a_password2_property_reads_back_encrypted_but_scripts_get_it_in_clear(bot, emma, instance, change):
    bot(
        "POST",
        "/api/now/table/sys_properties",
        json={"name": "x_test.key", "type": "password2", "value": "s3cret"},
    )
    shown = bot("GET", "/api/now/table/sys_properties?sysparm_query=name=x_test.key").json["result"][0]
    assert shown["value"].startswith("ENC:") and "s3cret" not in shown["value"]
    rule(bot, "reader", "gs.eventQueue('key.read', current, gs.getProperty('x_test.key'));")
    move(emma, change, "-3")
    assert [e["parm1"] for e in instance.store.find("sysevent", name="key.read")] == ["s3cret"]


def notification(bot, **fields):
    bot(
        "POST",
        "/api/now/table/sysevent_email_action",
        json={
            "name": "alert mail",
            "event_name": "x.alert",
            "collection": "change_request",
            "active": "true",
            "subject": "Alert",
            **fields,
        },
    )


def test_event_recipients_are_sys_ids_or_addresses_and_a_name_reaches_nobody(bot, instance, change):
    notification(bot, event_parm_1="true", event_parm_2="true")
    liam = instance.user("lead.liam")["sys_id"]
    now = "2026-03-02 09:30:00"
    for parm1, parm2 in ((liam, "ops@example.com"), ("lead.liam", "Engineering Leads")):
        bot(
            "POST",
            "/api/now/table/sysevent",
            json={
                "name": "x.alert",
                "instance": change["sys_id"],
                "table": "change_request",
                "parm1": parm1,
                "parm2": parm2,
                "state": "ready",
                "process_on": now,
            },
        )
    assert [m["recipients"] for m in instance.store.rows("sys_email")] == [
        "lead.liam@example.com,ops@example.com",
        "",
    ]


def test_a_notification_reads_no_parm_it_is_not_told_contains_recipients(bot, instance, change):
    notification(bot)  # event_parm_1 / event_parm_2 left unset: false
    liam = instance.user("lead.liam")["sys_id"]
    bot(
        "POST",
        "/api/now/table/sysevent",
        json={
            "name": "x.alert",
            "instance": change["sys_id"],
            "table": "change_request",
            "parm1": liam,
            "state": "ready",
            "process_on": "2026-03-02 09:30:00",
        },
    )
    assert [m["recipients"] for m in instance.store.rows("sys_email")] == [""]


def test_an_event_inserted_without_process_on_is_never_processed(bot, instance, change):
    notification(bot, event_parm_1="true")
    bot(
        "POST",
        "/api/now/table/sysevent",
        json={
            "name": "x.alert",
            "instance": change["sys_id"],
            "table": "change_request",
            "parm1": "ops@example.com",
            "state": "ready",
        },
    )
    assert instance.store.rows("sys_email") == []
    assert instance.store.rows("sysevent")[0]["state"] == "ready"


def test_a_notification_is_sent_only_for_events_on_records_of_its_own_table(bot, instance, change):
    notification(bot, event_parm_1="true")
    liam = instance.user("lead.liam")
    for table, record in (("sys_user", liam["sys_id"]), ("change_request", change["sys_id"])):
        bot(
            "POST",
            "/api/now/table/sysevent",
            json={
                "name": "x.alert",
                "instance": record,
                "table": table,
                "parm1": liam["sys_id"],
                "state": "ready",
                "process_on": "2026-03-02 09:30:00",
            },
        )
    assert [m["target_table"] for m in instance.store.rows("sys_email")] == ["change_request"]
