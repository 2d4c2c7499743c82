"""The emergency lifecycle driven through the real pysnow client as the seeded people."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pysnow
import pytest
import requests

from sandbox.servicenow import SandboxServiceNow
from tests.e2e.sandbox_servicenow.conftest import install_rules

pytestmark = pytest.mark.slow
SECRET = "s3cret-notify"


def changes(client: pysnow.Client):
    return client.resource(api_path="/table/change_request")


def approvals_for(client: pysnow.Client, change_sys_id: str, user_sys_id: str) -> list[dict]:
    resource = client.resource(api_path="/table/sysapproval_approver")
    return resource.get(query={"sysapproval": change_sys_id, "approver": user_sys_id}).all()


def test_pysnow_creates_reads_updates_and_deletes(client_as):
    emma = changes(client_as("eng.emma"))
    created = emma.create(payload={"short_description": "Checkout down", "type": "emergency"}).one()
    fetched = emma.get(query={"number": created["number"]}).one()
    assert fetched["sys_id"] == created["sys_id"]
    updated = emma.update(query={"number": created["number"]}, payload={"impact": "1"}).one()
    assert (updated["impact"], updated["sys_mod_count"]) == ("1", "1")
    assert emma.delete(query={"number": created["number"]}) == {"status": "record deleted"}
    assert emma.get(query={"number": created["number"]}).all() == []


def test_emergency_change_lifecycle_with_approvals_rule_and_closure(sandbox, client_as, install):
    install()
    emma = changes(client_as("eng.emma"))
    change = emma.create(
        payload={
            "short_description": "DB corruption",
            "type": "emergency",
            "category": "data corruption",
            "requested_by": "eng.emma",
        }
    ).one()
    number = {"number": change["number"]}
    assert emma.update(query=number, payload={"state": "-3"}).one()["approval"] == "requested"
    bot = changes(client_as("ecm-bot"))
    bot.update(query=number, payload={"u_ecm_gate": "approved"}).one()  # as the connector opens it
    emma.update(query=number, payload={"state": "-2"}).one()
    with pytest.raises(requests.HTTPError) as blocked:
        emma.update(query=number, payload={"state": "-1"}).one()
    assert blocked.value.response.status_code == 403
    detail = blocked.value.response.json()["error"]["detail"]
    assert (
        "was aborted by Business Rule 'ECM Connector: Implement needs both approvals and both reviews"
        in detail
    )

    liam, sara = sandbox.user("lead.liam"), sandbox.user("sec.sara")
    [liam_row] = approvals_for(client_as("lead.liam"), change["sys_id"], liam["sys_id"])
    approvals = client_as("eng.emma").resource(api_path="/table/sysapproval_approver")
    with pytest.raises(requests.HTTPError) as denied:
        approvals.update(query={"sys_id": liam_row["sys_id"]}, payload={"state": "approved"}).one()
    assert denied.value.response.status_code == 403
    client_as("lead.liam").resource(api_path="/table/sysapproval_approver").update(
        query={"sys_id": liam_row["sys_id"]}, payload={"state": "approved"}
    ).one()
    [sara_row] = approvals_for(client_as("sec.sara"), change["sys_id"], sara["sys_id"])
    client_as("sec.sara").resource(api_path="/table/sysapproval_approver").update(
        query={"sys_id": sara_row["sys_id"]}, payload={"state": "approved"}
    ).one()

    forged = emma.update(
        query=number, payload={"u_ecm_gate": "approved,deployed,closed", "impact": "2"}
    ).one()
    assert (forged["u_ecm_gate"], forged["impact"]) == ("approved", "2")  # the ACL drops the field, 200
    with pytest.raises(requests.HTTPError):
        emma.update(query=number, payload={"state": "-1", "u_ecm_gate": "deployed"}).one()
    bot.update(query=number, payload={"u_ecm_gate": "deployed"}).one()
    assert emma.update(query=number, payload={"state": "-1"}).one()["state"] == "-1"
    emma.update(query=number, payload={"state": "0"}).one()
    with pytest.raises(requests.HTTPError) as refused:
        emma.update(query=number, payload={"state": "3"}).one()
    assert refused.value.response.json()["status"] == "failure"
    closing = {"state": "3", "close_code": "successful", "close_notes": "Restored"}
    with pytest.raises(requests.HTTPError) as no_postmortem:  # the installed close rule (R8)
        emma.update(query=number, payload=closing).one()
    assert (
        "Closed needs post-mortem, PR and documentation"
        in no_postmortem.value.response.json()["error"]["detail"]
    )
    bot.update(query=number, payload={"u_ecm_gate": "closed?close_code"}).one()
    with pytest.raises(requests.HTTPError) as no_task:  # the close rule checks the task itself as well
        emma.update(query=number, payload=closing).one()
    assert "block close without post-mortem" in no_task.value.response.json()["error"]["detail"]
    tasks = client_as("eng.emma").resource(api_path="/table/change_task")
    task = tasks.create(
        payload={
            "change_request": change["sys_id"],
            "change_task_type": "review",
            "short_description": "Post-mortem: DB corruption",
        }
    ).one()
    tasks.update(
        query={"sys_id": task["sys_id"]},
        payload={"state": "3", "close_notes": "Report: https://wiki.example.com/pm/1"},
    ).one()
    closed = emma.update(query=number, payload=closing).one()
    assert closed["state"] == "3"


def test_outbound_rule_posts_signed_notifications_in_order(sandbox, client_as, receiver, install):
    install(receiver.url, SECRET)
    emma = changes(client_as("eng.emma"))
    change = emma.create(payload={"short_description": "Outage", "type": "emergency"}).one()
    emma.update(
        query={"sys_id": change["sys_id"]}, payload={"state": "-3", "work_notes": "paging leads"}
    ).one()
    emma.create(payload={"short_description": "Routine", "type": "normal"}).one()
    assert sandbox.wait_for_notifications()

    for headers, body in receiver.received:
        expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        assert hmac.compare_digest(headers["X-ECM-Signature"], expected)
    payloads = receiver.payloads()
    # The instance's own approval records are written (and notified) before the rule on the change runs.
    assert [(p["table"], p["operation"]) for p in payloads] == [
        ("change_request", "insert"),
        *[("sysapproval_approver", "insert")] * 4,
        ("change_request", "update"),
        ("change_request", "update"),
    ]
    assert payloads[-1]["journal"]["element"] == "work_notes"
    assert payloads[-1]["journal"]["entry"].endswith("(Work notes)\npaging leads\n\n")
    update = payloads[5]
    assert update["changed"] == ["state", "approval"] or set(update["changed"]) == {"state", "approval"}
    assert update["previous"]["state"] == "-5" and update["record"]["state"] == "-3"
    assert update["actor"] == "eng.emma" and update["change_number"] == change["number"]
    assert all(p["change_sys_id"] == change["sys_id"] for p in payloads)
    assert [h["X-ECM-Event-Id"] for h, _ in receiver.received] == [p["event_id"] for p in payloads]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("fault", ["receiver answers 500", "request dropped", "network fails"])
def test_a_notification_that_fails_is_resent_by_the_job_with_the_same_event_id_and_body(
    client_as, receiver, fault
):
    clock = Clock()
    with SandboxServiceNow(clock=clock, job_interval=None) as sandbox:
        install_rules(sandbox, receiver.url)
        if fault == "receiver answers 500":
            receiver.fail_next = 1
        else:
            sandbox.faults.configure({"notifications": {"drop" if "dropped" in fault else "fail": 1.0}})
        emma = pysnow.Client(host=sandbox.host, user="eng.emma", password="eng.emma", use_ssl=False)
        changes(emma).create(payload={"short_description": "Outage", "type": "emergency"})
        assert sandbox.wait_for_notifications()
        assert receiver.payloads() == []
        [queued] = sandbox.queued_notifications()
        assert (queued["u_state"], queued["u_attempts"]) == ("ready", "1")

        sandbox.faults.clear()
        sandbox.run_scheduled_jobs()  # not due yet: the first retry waits 30 seconds
        assert receiver.payloads() == []
        clock.now += timedelta(seconds=31)
        sandbox.run_scheduled_jobs()
        assert sandbox.wait_for_notifications()

        [delivered] = receiver.payloads()
        assert (
            delivered["event_id"] == queued["u_event_id"]
            and receiver.received[0][1] == queued["u_body"].encode()
        )
        assert sandbox.queued_notifications()[0]["u_state"] == "sent"


def test_a_notification_never_answered_ends_in_error_after_the_last_attempt(client_as, receiver):
    clock = Clock()
    with SandboxServiceNow(clock=clock, job_interval=None) as sandbox:
        install_rules(sandbox, receiver.url)
        sandbox.faults.configure({"notifications": {"fail": 1.0}})
        changes(pysnow.Client(host=sandbox.host, user="eng.emma", password="eng.emma", use_ssl=False)).create(
            payload={"short_description": "Outage", "type": "emergency"}
        )
        assert sandbox.wait_for_notifications()
        for _ in range(20):
            clock.now += timedelta(hours=1)
            sandbox.run_scheduled_jobs()
        [queued] = sandbox.queued_notifications()
        assert (queued["u_state"], queued["u_attempts"], queued["u_last_status"]) == ("error", "12", "503")


def test_notification_faults_drop_and_duplicate(sandbox, client_as, receiver, install):
    install(receiver.url, SECRET)
    emma = changes(client_as("eng.emma"))
    sandbox.faults.configure({"notifications": {"drop": 1.0}})
    emma.create(payload={"short_description": "Dropped", "type": "emergency"})
    assert sandbox.wait_for_notifications()
    assert receiver.payloads() == [] and sandbox.deliveries[0].outcome == "dropped"
    sandbox.instance.store.delete("u_ecm_notification", sandbox.queued_notifications()[0]["sys_id"])
    sandbox.faults.configure({"notifications": {"duplicate": 1.0}})
    emma.create(payload={"short_description": "Twice", "type": "emergency"})
    assert sandbox.wait_for_notifications()
    first, second = receiver.payloads()
    assert first == second


def test_scripted_and_random_request_faults(sandbox, client_as):
    admin = {"auth": ("admin", "admin")}
    url = f"{sandbox.base_url}/api/now/table/change_request"
    spec = {
        "scripted": [
            {"pattern": "GET /api/now/table/change_request*", "count": 2, "status": 429, "retry_after": 3},
            {"pattern": "POST *", "count": 1, "status": 503},
        ]
    }
    assert requests.post(f"{sandbox.base_url}/_sandbox/faults", json=spec, timeout=5).status_code == 200
    limited = [requests.get(url, timeout=5, **admin) for _ in range(3)]
    assert [r.status_code for r in limited] == [429, 429, 200]
    assert limited[0].headers["Retry-After"] == "3" and limited[0].json()["status"] == "failure"
    assert limited[0].json()["error"]["message"] == "Rate limit exceeded"  # ServiceNow's rate limit answer
    assert {"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Rule"} <= set(limited[0].headers)
    assert requests.post(url, json={}, timeout=5, **admin).status_code == 503
    assert requests.post(url, json={}, timeout=5, **admin).status_code == 201
    requests.post(
        f"{sandbox.base_url}/_sandbox/faults",
        json={"scripted": [{"pattern": "GET *", "count": 1, "timeout": 1.0}]},
        timeout=5,
    )
    with pytest.raises(requests.Timeout):
        requests.get(url, timeout=0.3, **admin)
    bad = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"rates": {"nope": 1}}, timeout=5)
    assert bad.status_code == 400 and "rates.nope" in bad.json()["error"]["detail"]
    state = requests.get(f"{sandbox.base_url}/_sandbox/state", timeout=5).json()
    assert state["request_counts"]["change_request"] >= 6


def test_random_faults_are_repeatable_with_a_seed(sandbox):
    url = f"{sandbox.base_url}/api/now/table/sys_user"

    def statuses() -> list[int]:
        sandbox.faults.configure({"seed": 7, "rates": {"5xx": 0.5}})
        return [requests.get(url, auth=("admin", "admin"), timeout=5).status_code for _ in range(12)]

    first = statuses()
    assert first == statuses() and {200, 503} == set(first)
