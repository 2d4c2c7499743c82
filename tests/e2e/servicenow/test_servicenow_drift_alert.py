"""A business rule the installer wrote and an admin switched off is drift: the drift job's alert reaches
the mailboxes of the Engineering Leads and the Security Team, through the notification `ecm install`
wrote and the sandbox's event processor, as on an instance."""

from __future__ import annotations

import pytest

from connector.demo.servicenow_stack import ServiceNowStack
from jobs import drift

pytestmark = pytest.mark.slow


def members(sandbox, group: str) -> set[str]:
    [row] = sandbox.records("sys_user_group", name=group)
    users = (
        sandbox.record("sys_user", m["user"])
        for m in sandbox.records("sys_user_grmember", group=row["sys_id"])
    )
    return {user["email"] for user in users}


def test_a_switched_off_business_rule_is_mailed_to_the_leads_and_security(tmp_path, database_url):
    with ServiceNowStack(tmp_path, database_url=database_url) as stack:
        instance = stack.sandbox.instance
        [rule] = [r for r in stack.sandbox.records("sys_script") if r["name"].startswith("ECM Connector")][:1]
        instance.write_update("sys_script", rule["sys_id"], {"active": "false"}, instance.user("admin"))

        assert drift.run(stack.connector, sleep=lambda _: None) == "ecm_drift_problems=1"
        stack.dispatch.wake()
        mailed = stack.settle(
            lambda: [m for m in stack.sandbox.emails if "configuration changed" in m["subject"]]
        )

    [mail] = mailed
    wanted = members(stack.sandbox, "Engineering Leads") | members(stack.sandbox, "Security Team")
    assert wanted and set(mail["recipients"].split(",")) == wanted
    assert mail["target_table"] == "sys_user"
