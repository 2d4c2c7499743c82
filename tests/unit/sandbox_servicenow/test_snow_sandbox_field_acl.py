"""Field write ACLs as an instance applies them to the Table API: a field nobody granted the caller is left
out of the write, the rest is saved and the answer is 200; only security_admin writes ACLs."""

from __future__ import annotations

import pytest

ACLS = "/api/now/table/sys_security_acl"
CHANGES = "/api/now/table/change_request"
GATE = {"name": "change_request", "element": "u_ecm_gate", "internal_type": "string"}
CONNECTOR_ONLY = {
    "name": "change_request.u_ecm_gate",
    "operation": "write",
    "admin_overrides": "false",
    "advanced": "true",
    "script": "answer = gs.getUserName() == 'ecm-bot';",
}


@pytest.fixture
def change(as_user, bot):
    assert as_user("admin")("POST", "/api/now/table/sys_dictionary", json=GATE).status_code == 201
    created = as_user("eng.emma")("POST", CHANGES, json={"type": "emergency", "short_description": "x"})
    return created.json["result"]


def patch(caller, change, **fields):
    answer = caller("PATCH", f"{CHANGES}/{change['sys_id']}", json=fields)
    assert answer.status_code == 200, answer.json
    return answer.json["result"]


def test_only_security_admin_writes_access_controls(as_user, bot):
    refused = as_user("admin")("POST", ACLS, json=CONNECTOR_ONLY)
    assert refused.status_code == 403
    assert refused.json["error"]["detail"] == "ACL Exception Insert Failed due to security constraints"
    assert bot("POST", ACLS, json=CONNECTOR_ONLY).status_code == 201  # ecm-bot holds security_admin


def test_a_field_the_acl_denies_is_left_out_and_the_rest_is_saved(as_user, bot, change):
    bot("POST", ACLS, json=CONNECTOR_ONLY)
    forged = patch(as_user("eng.emma"), change, u_ecm_gate="deployed", impact="1")
    assert (forged["u_ecm_gate"], forged["impact"]) == ("", "1")
    assert patch(as_user("admin"), change, u_ecm_gate="deployed")["u_ecm_gate"] == ""  # no admin override
    assert patch(bot, change, u_ecm_gate="deployed")["u_ecm_gate"] == "deployed"


def test_admin_overrides_an_acl_unless_it_says_otherwise(as_user, bot, change):
    bot("POST", ACLS, json={**CONNECTOR_ONLY, "admin_overrides": "true"})
    assert patch(as_user("admin"), change, u_ecm_gate="closed")["u_ecm_gate"] == "closed"
    assert patch(as_user("eng.emma"), change, u_ecm_gate="")["u_ecm_gate"] == "closed"


def test_an_inactive_acl_guards_nothing(as_user, bot, change):
    bot("POST", ACLS, json={**CONNECTOR_ONLY, "active": "false"})
    assert patch(as_user("eng.emma"), change, u_ecm_gate="approved")["u_ecm_gate"] == "approved"


def test_a_server_side_write_is_not_acl_checked(as_user, bot, change, instance):
    bot("POST", ACLS, json=CONNECTOR_ONLY)
    instance.write_update(
        "change_request", change["sys_id"], {"u_ecm_gate": "closed"}, instance.user("admin")
    )
    assert (
        as_user("eng.emma")("GET", f"{CHANGES}/{change['sys_id']}").json["result"]["u_ecm_gate"] == "closed"
    )
