"""The ServiceNow gateway against recorded Table API answers (`responses`)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from pydantic import SecretStr

from connector.errors import AuthFailed, ConfigError, NotFound, RateLimited, Rejected, Unavailable
from connector.servicenow.gateway import ServiceNowGateway, gateway_from_settings

BASE = "http://127.0.0.1:8123"
TABLE = f"{BASE}/api/now/table"
CHANGE_ID = "a" * 32
ALICE_ID, BOB_ID, LEADS_ID = "1" * 32, "2" * 32, "9" * 32


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def gateway():
    return ServiceNowGateway(BASE, user="ecm.integration", password="s3cret-pw", timeout=(1.5, 4))


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query, keep_blank_values=True).items()}


def change_row(**fields: str) -> dict:
    return {
        "sys_id": CHANGE_ID,
        "number": "CHG0030001",
        "state": "-3",
        "type": "emergency",
        "requested_by": {"link": f"{TABLE}/sys_user/{ALICE_ID}", "value": ALICE_ID},
        "assigned_to": "",
        "approval": "requested",
        "close_code": "",
        "close_notes": "",
        **fields,
    }


def users(*pairs: tuple[str, str]) -> dict:
    return {"result": [{"sys_id": sys_id, "user_name": name} for sys_id, name in pairs]}


def test_change_is_read_by_number_with_requester_as_user_name(api, gateway):
    api.get(f"{TABLE}/change_request", json={"result": [change_row()]})
    api.get(f"{TABLE}/sys_user", json=users((ALICE_ID, "alice")))

    change = gateway.get_change("CHG0030001")

    assert (change.number, change.sys_id, change.state, change.requested_by) == (
        "CHG0030001",
        CHANGE_ID,
        "-3",
        "alice",
    )
    assert query_of(api.calls[0])["sysparm_query"] == "number=CHG0030001"
    assert query_of(api.calls[1])["sysparm_query"] == f"sys_idIN{ALICE_ID}"


def test_user_names_are_cached_between_calls(api, gateway):
    api.get(f"{TABLE}/change_request", json={"result": [change_row()]})
    api.get(f"{TABLE}/sys_user", json=users((ALICE_ID, "alice")))

    gateway.get_change(CHANGE_ID)
    gateway.get_change(CHANGE_ID)

    assert [urlsplit(c.request.url).path for c in api.calls].count("/api/now/table/sys_user") == 1
    assert query_of(api.calls[0])["sysparm_query"] == f"sys_id={CHANGE_ID}"


def test_missing_change_is_not_found(api, gateway):
    api.get(f"{TABLE}/change_request", json={"result": []})

    with pytest.raises(NotFound, match="CHG0099999"):
        gateway.get_change("CHG0099999")


def test_query_without_matches_answered_404_is_an_empty_result(api, gateway):
    api.get(f"{TABLE}/sys_user", status=404, json={"error": {"message": "No Record found", "detail": ""}})

    assert gateway.user_by_name("nobody") is None


def test_update_is_one_put_by_sys_id_without_a_leftover_query(api, gateway):
    api.put(f"{TABLE}/change_request/{CHANGE_ID}", json={"result": change_row(state="-1")})
    api.get(f"{TABLE}/sys_user", json=users((ALICE_ID, "alice")))

    change = gateway.set_state(CHANGE_ID, -1, work_note="Reverted: approvals missing")

    put = api.calls[0]
    assert put.request.method == "PUT"
    assert urlsplit(put.request.url).path == f"/api/now/table/change_request/{CHANGE_ID}"
    assert query_of(put).get("sysparm_query", "") == ""
    assert json.loads(put.request.body) == {"state": "-1", "work_notes": "Reverted: approvals missing"}
    assert change.state == "-1"


def test_update_refuses_something_that_is_not_a_sys_id(api, gateway):
    with pytest.raises(Rejected, match="not a sys_id"):
        gateway.update("change_request", "number=CHG0030001", {"state": "-1"})
    assert len(api.calls) == 0


def test_changes_updated_since_queries_emergency_changes_in_update_order_with_paging(api, gateway):
    rows = [change_row(sys_id=c * 32, number=f"CHG003000{i}") for i, c in enumerate("bc")]
    api.get(f"{TABLE}/change_request", json={"result": rows}, headers={"X-Total-Count": "5"})
    api.get(f"{TABLE}/sys_user", json=users((ALICE_ID, "alice")))

    page = gateway.changes_updated_since(datetime(2025, 3, 4, 10, 30, tzinfo=UTC), offset=2, limit=2)

    params = query_of(api.calls[0])
    assert params["sysparm_query"] == (
        "type=emergency^sys_updated_on>2025-03-04 10:30:00^ORDERBYsys_updated_on"
    )
    assert (params["sysparm_offset"], params["sysparm_limit"]) == ("2", "2")
    assert (len(page.records), page.total, page.next_offset) == (2, 5, 4)


def test_last_page_has_no_next_offset(api, gateway):
    api.get(f"{TABLE}/change_request", json={"result": []}, headers={"X-Total-Count": "4"})

    page = gateway.changes_updated_since(datetime(2025, 3, 4, tzinfo=UTC), offset=4, limit=2)

    assert (page.records, page.total, page.next_offset) == ((), 4, None)


def test_every_request_carries_the_timeout(api, gateway):
    api.get(f"{TABLE}/sys_user", json=users((ALICE_ID, "alice")))

    gateway.user_by_name("alice")

    assert api.calls[0].request.req_kwargs["timeout"] == (1.5, 4)


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "7"}, RateLimited, 7.0),
        (503, {}, Unavailable, None),
        (502, {}, Unavailable, None),
        (401, {}, AuthFailed, None),
        (403, {}, AuthFailed, None),
    ],
)
def test_http_failures_become_connector_errors_without_retrying(
    api, gateway, status, headers, error, retry_after
):
    api.put(
        f"{TABLE}/change_request/{CHANGE_ID}",
        status=status,
        headers=headers,
        json={"error": {"message": "failed", "detail": ""}, "status": "failure"},
    )

    with pytest.raises(error) as caught:
        gateway.add_work_note(CHANGE_ID, "hello")

    assert caught.value.status == status
    assert caught.value.retry_after == retry_after
    assert isinstance(caught.value.__cause__, requests.HTTPError)
    assert len(api.calls) == 1


def test_rejection_carries_servicenows_message_and_detail(api, gateway):
    api.post(
        f"{TABLE}/change_task",
        status=400,
        json={
            "error": {"message": "Invalid field", "detail": "change_task_type: bogus"},
            "status": "failure",
        },
    )

    with pytest.raises(Rejected, match="Invalid field: change_task_type: bogus") as caught:
        gateway.create_task(CHANGE_ID, {"change_task_type": "bogus"})
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("detail", "error"),
    [
        ("ECM: Implement needs approvals from Engineering Leads and Security Team", Rejected),
        ("Data Policy Exception: The following fields are mandatory: Close code", Rejected),
        ("ACL Exception Update Failed due to security constraints", AuthFailed),
    ],
)
def test_refusal_by_a_business_rule_is_a_rejection_and_by_an_acl_an_auth_failure(api, gateway, detail, error):
    api.put(
        f"{TABLE}/change_request/{CHANGE_ID}",
        status=403,
        json={"error": {"message": "Operation Failed", "detail": detail}, "status": "failure"},
    )

    with pytest.raises(error, match=detail):
        gateway.set_state(CHANGE_ID, -1)


def test_missing_record_by_sys_id_is_not_found(api, gateway):
    api.get(
        f"{TABLE}/sys_script/{CHANGE_ID}",
        status=404,
        json={"error": {"message": "No Record found", "detail": "Record doesn't exist"}},
    )

    with pytest.raises(NotFound):
        gateway.get("sys_script", CHANGE_ID)


@pytest.mark.parametrize(
    "failure", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
def test_timeouts_and_connection_failures_are_unavailable(api, gateway, failure):
    api.get(f"{TABLE}/sys_user", body=failure)

    with pytest.raises(Unavailable) as caught:
        gateway.user_by_name("alice")
    assert caught.value.retryable
    assert caught.value.__cause__ is failure


@pytest.mark.parametrize("body", ["<html>proxy error</html>", '{"unexpected": true}'])
def test_unreadable_answers_are_unavailable(api, gateway, body):
    api.get(f"{TABLE}/sys_user", body=body, content_type="application/json")

    with pytest.raises(Unavailable, match="unexpected response"):
        gateway.user_by_name("alice")


def test_retry_after_as_http_date_is_seconds_from_now(api, gateway):
    api.get(f"{TABLE}/sys_user", status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    with pytest.raises(RateLimited) as caught:
        gateway.user_by_name("alice")
    assert caught.value.retry_after == 0.0


ASKED_ID = "a" * 31 + "9"  # the group approval (sysapproval_group) of Engineering Leads on the change


def test_request_approvals_asks_only_members_without_an_approval_under_the_group_approval(api, gateway):
    api.get(f"{TABLE}/sys_user_group", json={"result": [{"sys_id": LEADS_ID, "name": "Engineering Leads"}]})
    api.get(
        f"{TABLE}/sysapproval_group",
        json={"result": [{"sys_id": ASKED_ID, "parent": CHANGE_ID, "assignment_group": LEADS_ID}]},
    )
    api.get(
        f"{TABLE}/sysapproval_approver",
        json={
            "result": [{"sys_id": "e" * 32, "approver": ALICE_ID, "group": ASKED_ID, "state": "requested"}]
        },
    )
    api.get(f"{TABLE}/sys_user_grmember", json={"result": [{"user": ALICE_ID}, {"user": BOB_ID}]})
    api.get(f"{TABLE}/sys_user", json=users((ALICE_ID, "alice"), (BOB_ID, "bob")))
    api.post(f"{TABLE}/sysapproval_approver", json={"result": {"sys_id": "f" * 32, "state": "requested"}})

    created = gateway.request_approvals(CHANGE_ID, "Engineering Leads")

    assert [(a.approver, a.group, a.state) for a in created] == [("bob", "Engineering Leads", "requested")]
    posted = [json.loads(c.request.body) for c in api.calls if c.request.method == "POST"]
    assert posted == [
        {
            "sysapproval": CHANGE_ID,
            "document_id": CHANGE_ID,
            "source_table": "change_request",
            "approver": BOB_ID,
            "group": ASKED_ID,  # the group approval, never the sys_user_group
            "state": "requested",
        }
    ]


def test_request_approvals_creates_the_group_approval_when_the_change_has_none(api, gateway):
    api.get(f"{TABLE}/sys_user_group", json={"result": [{"sys_id": LEADS_ID, "name": "Engineering Leads"}]})
    api.get(f"{TABLE}/sysapproval_group", json={"result": []})
    api.post(f"{TABLE}/sysapproval_group", json={"result": {"sys_id": ASKED_ID}})
    api.get(f"{TABLE}/sysapproval_approver", json={"result": []})
    api.get(f"{TABLE}/sys_user_grmember", json={"result": [{"user": BOB_ID}]})
    api.get(f"{TABLE}/sys_user", json=users((BOB_ID, "bob")))
    api.post(f"{TABLE}/sysapproval_approver", json={"result": {"sys_id": "f" * 32, "state": "requested"}})

    gateway.request_approvals(CHANGE_ID, "Engineering Leads")

    posted = [json.loads(c.request.body) for c in api.calls if c.request.method == "POST"]
    assert posted[0] == {"parent": CHANGE_ID, "assignment_group": LEADS_ID, "approval": "requested"}
    assert posted[1]["group"] == ASKED_ID


def test_approvals_name_approver_and_group(api, gateway):
    api.get(
        f"{TABLE}/sysapproval_approver",
        json={
            "result": [
                {"sys_id": "e" * 32, "approver": {"value": BOB_ID}, "group": ASKED_ID, "state": "approved"}
            ]
        },
    )
    api.get(f"{TABLE}/sys_user", json=users((BOB_ID, "bob")))
    api.get(
        f"{TABLE}/sysapproval_group",
        json={"result": [{"sys_id": ASKED_ID, "parent": CHANGE_ID, "assignment_group": LEADS_ID}]},
    )
    api.get(f"{TABLE}/sys_user_group", json={"result": [{"sys_id": LEADS_ID, "name": "Engineering Leads"}]})

    (approval,) = gateway.approvals(CHANGE_ID)

    assert (approval.approver, approval.group, approval.state, approval.change_sys_id) == (
        "bob",
        "Engineering Leads",
        "approved",
        CHANGE_ID,
    )
    assert query_of(api.calls[0])["sysparm_query"] == f"sysapproval={CHANGE_ID}^ORDERBYsys_created_on"


def test_find_tasks_and_fire_event_use_the_documented_fields(api, gateway):
    api.get(f"{TABLE}/change_task", json={"result": [{"sys_id": "d" * 32, "number": "CTASK0010001"}]})
    api.post(f"{TABLE}/sysevent", json={"result": {"sys_id": "c" * 32, "name": "ecm.postmortem.breach"}})

    (task,) = gateway.find_tasks(CHANGE_ID, "Post-mortem", "review")
    event_id = gateway.fire_event(
        "ecm.postmortem.breach", CHANGE_ID, "change_request", "alice", "Security Team"
    )

    assert task.get("number") == "CTASK0010001"
    assert query_of(api.calls[0])["sysparm_query"] == (
        f"change_request={CHANGE_ID}^change_task_type=review^short_descriptionSTARTSWITHPost-mortem"
        "^ORDERBYsys_created_on"
    )
    assert event_id == "c" * 32
    posted = json.loads(api.calls[1].request.body)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", posted.pop("process_on"))  # as gs.eventQueue
    assert posted == {
        "name": "ecm.postmortem.breach",
        "instance": CHANGE_ID,
        "table": "change_request",
        "parm1": "alice",
        "parm2": "Security Team",
        "state": "ready",
        "queue": "",
    }


def test_password_is_sent_as_basic_auth_but_never_shown(api, gateway):
    api.get(f"{TABLE}/sys_user", json=users())

    gateway.user_by_name("alice")

    assert api.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert "s3cret-pw" not in repr(gateway)


def test_gateway_from_settings_names_the_missing_setting():
    settings = SimpleNamespace(servicenow_url=BASE, servicenow_user="ecm", servicenow_password=None)

    with pytest.raises(ConfigError, match="ECM_SERVICENOW_PASSWORD"):
        gateway_from_settings(settings)


def test_gateway_from_settings_uses_the_configured_instance(api):
    settings = SimpleNamespace(
        servicenow_url=BASE, servicenow_user="ecm", servicenow_password=SecretStr("pw")
    )
    api.get(f"{TABLE}/sys_user", json=users())

    gateway_from_settings(settings).user_by_name("x")

    assert api.calls[0].request.url.startswith(f"{TABLE}/sys_user?")
