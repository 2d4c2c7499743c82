"""`ecm plan` / `ecm install` for ServiceNow, against an in-memory gateway."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from connector.config import Settings
from connector.errors import ConfigError, MappingError
from connector.mapping import load_mapping_text
from connector.servicenow.installer import (
    BLOCK_RULE,
    DELIVER_RULE,
    GATE_RULES,
    NOTIFY_RULE,
    RESEND_JOB,
    fingerprint,
    install,
    plan,
)

SECRET = "hmac-key-never-shown"
MAPPING = Path(__file__).parents[3] / "mappings" / "servicenow.yaml"


def rule(fake, name):
    return fake.find_one("sys_script", f"name={name}")


def test_fresh_instance_plan_creates_everything_and_writes_nothing(fake, mapping, settings):
    result = plan(mapping, fake, settings=settings)

    assert {item.action for item in result.items} == {"create"}
    assert f"create  business rule  {NOTIFY_RULE}" in result.render().splitlines()
    assert f"create  business rule  {BLOCK_RULE}" in result.render().splitlines()
    kinds = [item.kind for item in result.items]
    counts = [
        kinds.count(kind)
        for kind in (
            "business rule",
            "event registration",
            "email notification",
            "scheduled job",
            "table",
            "access control",
        )
    ]
    assert counts == [10, 8, 8, 1, 1, 2]  # one event and its notification per alert kind; gate, missing
    assert fake.writes == []


def test_plan_and_install_never_show_the_secret(fake, mapping, settings):
    shown = plan(mapping, fake, settings=settings)
    done = install(mapping, fake, settings=settings)

    for text in (shown.render(), repr(shown), done.render(), repr(done)):
        assert SECRET not in text
    assert "x_ecm.connector_secret — value (secret)" in shown.render()
    stored = fake.find_one("sys_properties", "name=x_ecm.connector_secret")
    assert (stored.get("value"), stored.get("type")) == (SECRET, "password2")


def test_notify_url_comes_from_the_public_url(fake, mapping, settings):
    install(mapping, fake, settings=settings)

    stored = fake.find_one("sys_properties", "name=x_ecm.connector_url")
    assert stored.get("value") == "https://ecm.example.com/webhooks/servicenow"


def test_second_plan_is_unchanged_and_second_install_writes_nothing(fake, mapping, settings):
    reported = []
    install(mapping, fake, settings=settings, progress=reported.append)
    fake.writes.clear()

    again = plan(mapping, fake, settings=settings)
    install(mapping, fake, settings=settings)

    assert len(reported) == len(again.items) == 42  # with the bypass column, event and notification
    assert {item.action for item in again.items} == {"unchanged"} and again.changes == ()
    assert fake.writes == []


def test_rules_watch_every_table_the_connector_needs(fake, mapping, settings):
    install(mapping, fake, settings=settings)

    notify = rule(fake, NOTIFY_RULE)
    assert (
        notify.get("collection"),
        notify.get("filter_condition"),
        notify.get("action_insert"),
        notify.get("action_update"),
    ) == ("change_request", "type=emergency^EQ", "true", "true")
    for table in ("change_task", "sysapproval_approver"):
        assert rule(fake, f"{NOTIFY_RULE} ({table})").get("collection") == table
    block = rule(fake, BLOCK_RULE)
    assert (block.get("when"), block.get("action_update"), block.get("filter_condition")) == (
        "before",
        "true",
        "type=emergency^stateCHANGESTO-1^EQ",
    )


def test_installed_scripts_are_filled_in_from_the_mapping(fake, mapping, settings):
    install(mapping, fake, settings=settings)

    notify, block = rule(fake, NOTIFY_RULE).get("script"), rule(fake, BLOCK_RULE).get("script")
    deliver = rule(fake, DELIVER_RULE).get("script")
    assert "@@" not in notify + block + deliver
    assert "var CHANGE_TYPE = 'emergency';" in notify
    assert "u_ecm_notification" in notify
    assert fake.find_one("sysauto_script", f"name={RESEND_JOB}").get("script") == deliver
    notify = deliver  # what is signed and sent
    for needed in (
        "X-ECM-Signature",
        "X-ECM-Event-Id",
        "generateMac(key, 'HmacSHA256', body)",
        "x_ecm.connector_secret",
        "sn_ws.RESTMessageV2",
    ):
        assert needed in notify
    assert 'var GROUPS = ["Engineering Leads", "Security Team"];' in block
    assert "current.setAbortAction(true)" in block and "gs.addErrorMessage(" in block


def test_edited_rule_is_updated_field_by_field_and_other_fields_are_kept(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    block = rule(fake, BLOCK_RULE)
    fake.update("sys_script", block.sys_id, {"script": "// emptied", "active": "false", "u_owner": "cab"})
    fake.writes.clear()

    (item,) = [i for i in plan(mapping, fake, settings=settings).items if i.action != "unchanged"]
    install(mapping, fake, settings=settings)

    assert (item.name, item.action, item.detail) == (BLOCK_RULE, "update", "fields: active, script")
    script = rule(fake, BLOCK_RULE).get("script")
    assert fake.writes == [("PUT", "sys_script", {"active": "true", "script": script})]
    assert rule(fake, BLOCK_RULE).get("u_owner") == "cab"


def test_install_never_deletes_what_an_admin_added(fake, mapping, settings):
    fake.create("sys_script", {"name": "Company: notify CAB", "collection": "change_request"})
    fake.create("sysevent_register", {"event_name": "company.cab"})

    install(mapping, fake, settings=settings)

    assert rule(fake, "Company: notify CAB") is not None
    assert fake.find_one("sysevent_register", "event_name=company.cab") is not None
    assert {method for method, _, _ in fake.writes} == {"POST"}


def test_encrypted_secret_with_same_fingerprint_is_unchanged_and_new_secret_updated(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    stored = fake.find_one("sys_properties", "name=x_ecm.connector_secret")
    fake.update("sys_properties", stored.sys_id, {"value": "ENC:7f9a0c"})  # how ServiceNow returns password2

    same = {i.name: i.action for i in plan(mapping, fake, settings=settings).items}
    rotated = Settings(public_url=settings.public_url, servicenow_webhook_secret=SecretStr("rotated-key"))
    (item,) = [i for i in plan(mapping, fake, settings=rotated).items if i.action != "unchanged"]

    assert same["x_ecm.connector_secret"] == "unchanged"
    assert (item.name, item.action) == ("x_ecm.connector_secret", "update")
    assert item.detail == "fields: description, value"
    assert fingerprint("rotated-key") not in item.render() and "rotated-key" not in item.render()


def test_sla_definition_counts_the_business_days_on_the_created_schedule(fake, settings):
    text = MAPPING.read_text().replace("enabled: false", "enabled: true")
    mapping = load_mapping_text(text, "servicenow.yaml")

    shown = plan(mapping, fake, settings=settings)
    install(mapping, fake, settings=settings)

    assert [(i.kind, i.name) for i in shown.items][-2:] == [
        ("schedule", "8-5 weekdays excluding holidays"),
        ("SLA definition", "ECM Connector: post-mortem due"),
    ]
    schedule = fake.find_one("cmn_schedule", "name=8-5 weekdays excluding holidays")
    sla = fake.find_one("contract_sla", "name=ECM Connector: post-mortem due")
    assert schedule.get("time_zone") == "America/New_York"
    assert (sla.get("collection"), sla.get("schedule"), sla.get("duration")) == (
        "change_task",
        schedule.sys_id,
        "1970-01-02 03:00:00",
    )
    assert sla.get("start_condition") == "change_task_type=review^short_descriptionSTARTSWITHPost-mortem^EQ"
    assert plan(mapping, fake, settings=settings).changes == ()


def test_missing_webhook_secret_is_named(fake, mapping):
    with pytest.raises(ConfigError, match="ECM_SERVICENOW_WEBHOOK_SECRET"):
        plan(mapping, fake, settings=Settings(public_url="https://ecm.example.com"))


def test_missing_public_url_is_named(fake, mapping, monkeypatch):
    monkeypatch.delenv("ECM_PUBLIC_URL", raising=False)

    with pytest.raises(MappingError, match="ECM_PUBLIC_URL"):
        plan(mapping, fake, settings=Settings(servicenow_webhook_secret=SecretStr(SECRET)))
    assert fake.writes == []


def test_install_deactivates_the_journal_rule_an_older_install_created(fake, mapping, settings):
    old = fake.create(
        "sys_script",
        {"name": f"{NOTIFY_RULE} (sys_journal_field)", "collection": "sys_journal_field", "active": "true"},
    )

    shown = plan(mapping, fake, settings=settings)
    install(mapping, fake, settings=settings)

    assert f"update  business rule  {NOTIFY_RULE} (sys_journal_field) — fields: active" in shown.render()
    assert fake.find_one("sys_script", f"sys_id={old.sys_id}").get("active") == "false"
    assert plan(mapping, fake, settings=settings).changes == ()


def test_an_install_from_before_the_gate_gets_just_the_gate_added(fake, mapping, settings):
    install(mapping, fake, settings=settings)
    gate_names = {name for name, _, _ in GATE_RULES.values()}
    fake.tables["sys_security_acl"] = {
        k: r for k, r in fake.tables["sys_security_acl"].items() if "u_ecm_gate" not in r["name"]
    }
    fake.tables["sys_dictionary"] = {
        k: r for k, r in fake.tables["sys_dictionary"].items() if r.get("element") != "u_ecm_gate"
    }
    fake.tables["sys_script"] = {
        k: r for k, r in fake.tables["sys_script"].items() if r["name"] not in gate_names
    }

    upgrade = plan(mapping, fake, settings=settings)

    created = {(item.kind, item.name) for item in upgrade.items if item.action == "create"}
    assert created == {
        ("table column", "change_request.u_ecm_gate"),
        ("access control", "change_request.u_ecm_gate"),
        *(("business rule", name) for name in gate_names),
    }
    assert {item.action for item in upgrade.items} == {"create", "unchanged"}
    install(mapping, fake, settings=settings)
    assert {item.action for item in plan(mapping, fake, settings=settings).items} == {"unchanged"}
    acl = fake.find_one("sys_security_acl", "name=change_request.u_ecm_gate^operation=write")
    assert (acl.get("admin_overrides"), acl.get("script")) == (
        "false",
        "answer = gs.getUserName() == 'ecm-bot';",
    )


def test_gate_rule_names_fit_the_business_rule_name_field():
    assert all(len(name) <= 100 for name, _, _ in GATE_RULES.values())
