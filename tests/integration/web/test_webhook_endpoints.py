import base64
import hashlib
import hmac
import io
import json
import logging

from connector.logs import JsonFormatter
from connector.web.app import create_app

from .web_helpers import (
    SERVICENOW_SECRET,
    connector_for,
    fixture_body,
    jira_signature,
    recorded,
    settings,
    signed_jira_headers,
    translated,
)

RESOLVED = "webhook-issue-updated-resolved.json"


def test_signed_jira_delivery_is_recorded_and_handled(client, database, connector):
    body = fixture_body(RESOLVED)
    response = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "abc-1"))
    assert response.status_code == 200
    assert response.get_json() == {"outcome": "handled", "delivery_id": "abc-1"}
    [row] = recorded(database)
    assert (row.source, row.delivery_id, row.issue_key, row.outcome) == ("jira", "abc-1", "TES-41", "handled")
    assert translated(connector)[0].status_change().new == "Done"


def test_wrongly_signed_delivery_is_refused_and_nothing_is_stored(client, database, connector):
    body = fixture_body(RESOLVED)
    response = client.post(
        "/webhooks/jira", data=body, headers={"X-Hub-Signature": jira_signature(body, "guess")}
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "bad signature"
    assert recorded(database) == [] and translated(connector) == []


def test_unsigned_delivery_is_refused_and_nothing_is_stored(client, database):
    response = client.post("/webhooks/jira", data=fixture_body(RESOLVED))
    assert response.status_code == 401
    assert "missing X-Hub-Signature" in response.get_json()["detail"]
    assert recorded(database) == []


def test_data_center_delivery_with_the_url_token_is_accepted(database):
    connector = connector_for(settings(jira_webhook_secret=None, jira_webhook_token="dc-tok"), database)
    client = create_app(connector).test_client()
    body = fixture_body("webhook-server-issue-updated-closed.json")
    assert client.post("/webhooks/jira?token=wrong", data=body).status_code == 401
    assert client.post("/webhooks/jira?token=dc-tok", data=body).status_code == 200
    assert [r.issue_key for r in recorded(database)] == ["TES-4"]


def test_malformed_json_is_a_bad_request(client, database):
    body = b'{"webhookEvent": '
    response = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body))
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed body"
    assert recorded(database) == []


def test_body_over_one_mebibyte_is_refused_as_too_large(client, database):
    body = b'{"webhookEvent": "x", "pad": "' + b"a" * (1024 * 1024) + b'"}'
    response = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request entity too large"
    assert recorded(database) == []


def test_same_delivery_twice_is_processed_once(client, database, connector):
    body = fixture_body(RESOLVED)
    first = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "dup-1"))
    again = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "dup-1"))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json()["outcome"] == "duplicate"
    assert [row.outcome for row in recorded(database)] == ["handled"]


def test_unknown_event_is_accepted_and_recorded_as_ignored(client, database):
    body = json.dumps({"webhookEvent": "board_created", "board": {"id": 3}}).encode()
    response = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "unk-1"))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored"
    [row] = recorded(database)
    assert row.outcome == "ignored" and "unknown event" in row.detail


def test_endpoint_without_a_configured_secret_refuses_with_503(database):
    connector = connector_for(settings(jira_webhook_secret=None), database)
    client = create_app(connector).test_client()
    response = client.post("/webhooks/jira", data=fixture_body(RESOLVED))
    assert response.status_code == 503
    assert response.get_json()["error"] == "webhook secret not configured"
    assert recorded(database) == []


def test_insecure_app_accepts_unsigned_deliveries_and_says_so_at_start(database, caplog):
    connector = connector_for(settings(jira_webhook_secret=None), database)
    client = create_app(connector, insecure_no_signature=True).test_client()
    assert "webhook-signatures-off" in caplog.text
    response = client.post("/webhooks/jira", data=fixture_body(RESOLVED))
    assert response.status_code == 200
    assert len(recorded(database)) == 1


def servicenow_headers(body: bytes, event_id: str) -> dict[str, str]:
    digest = hmac.new(SERVICENOW_SECRET.encode(), body, hashlib.sha256).digest()
    return {"X-ECM-Signature": base64.b64encode(digest).decode(), "X-ECM-Event-Id": event_id}


def test_signed_servicenow_notification_is_recorded(client, database):
    event_id = "ab" * 16
    body = json.dumps(
        {
            "event_id": event_id,
            "table": "change_request",
            "operation": "update",
            "sys_id": "1" * 32,
            "change_sys_id": "1" * 32,
            "change_number": "CHG0030001",
            "actor": "alice",
            "sent_at": "2025-03-03 09:30:00",
            "changed": ["state"],
            "previous": {"state": "-3"},
            "record": {"type": "emergency", "state": "-2"},
        }
    ).encode()
    assert (
        client.post("/webhooks/servicenow", data=body, headers=servicenow_headers(b"x", event_id)).status_code
        == 401
    )
    response = client.post("/webhooks/servicenow", data=body, headers=servicenow_headers(body, event_id))
    assert response.status_code == 200 and response.get_json()["outcome"] == "handled"
    [row] = recorded(database)
    assert (row.source, row.delivery_id, row.issue_key) == ("servicenow", event_id, "CHG0030001")


def test_signed_servicenow_body_of_no_known_event_is_accepted_and_recorded_as_ignored(client, database):
    event_id = "cd" * 16
    body = json.dumps({"event": "unknown"}).encode()
    response = client.post("/webhooks/servicenow", data=body, headers=servicenow_headers(body, event_id))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    again = client.post("/webhooks/servicenow", data=body, headers=servicenow_headers(body, event_id))
    assert again.get_json()["outcome"] == "duplicate"
    [row] = recorded(database)
    assert (row.source, row.delivery_id, row.outcome) == ("servicenow", event_id, "ignored")
    assert "unknown event" in row.detail


def test_delivery_log_lines_carry_delivery_id_tool_and_issue_key(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    webhook_logger = logging.getLogger("connector.web.webhooks")
    webhook_logger.addHandler(handler)
    webhook_logger.setLevel(logging.INFO)
    try:
        body = fixture_body(RESOLVED)
        client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "log-1"))
    finally:
        webhook_logger.removeHandler(handler)
        webhook_logger.setLevel(logging.NOTSET)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["event"] == "webhook-received"
    assert (line["delivery_id"], line["tool"], line["issue_key"]) == ("log-1", "jira", "TES-41")
    assert line["outcome"] == "handled"


def test_a_nul_in_a_webhook_query_is_a_bad_request(client, database):
    body = fixture_body(RESOLVED)
    response = client.post("/webhooks/jira?token=a%00b", data=body, headers=signed_jira_headers(body))
    assert response.status_code == 400
    assert "NUL" in response.get_json()["detail"]
    assert recorded(database) == []


def test_a_chunked_body_over_one_mebibyte_is_refused_as_too_large(client, database):
    body = b'{"webhookEvent": "x", "pad": "' + b"a" * (1024 * 1024) + b'"}'
    headers = {**signed_jira_headers(body), "Transfer-Encoding": "chunked"}
    response = client.post(
        "/webhooks/jira",
        input_stream=io.BytesIO(body),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert recorded(database) == []
