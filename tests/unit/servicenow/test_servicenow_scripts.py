"""The installed notify and deliver rules, run by the sandbox instance as JavaScript (Node is required,
never skipped): what they post, how they sign, and that the connector's own verifier and parser accept it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from connector.config import Settings
from connector.inbound.events import CommentAdded, IssueUpdated
from connector.inbound.servicenow import parse_servicenow
from connector.inbound.signatures import verify_servicenow
from connector.mapping import load_mapping
from connector.servicenow.installer import desired_records
from sandbox.servicenow.engine import Instance
from sandbox.servicenow.notify import Notifier, Outbound

MAPPING = Path(__file__).parents[3] / "mappings" / "servicenow.yaml"
URL = "https://ecm.example.com/webhooks/servicenow"
SECRET = "k3y-\u00e9"  # not ASCII: the key is the secret's UTF-8 bytes on both sides
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Capture(Notifier):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Outbound] = []

    def execute_async(self, request: Outbound) -> dict:
        self.sent.append(request)
        return {"status": 0, "body": "", "error": ""}

    execute = execute_async


@pytest.fixture
def instance():
    """An instance with everything `ecm install` creates, written straight into it."""
    instance = Instance(lambda: NOW, Capture())
    admin = instance.user("ecm-bot")  # an admin with security_admin, which the gate field's ACL needs
    public = URL.removesuffix("/webhooks/servicenow")
    settings = Settings(public_url=public, servicenow_webhook_secret=SecretStr(SECRET))
    for desired in desired_records(load_mapping(MAPPING), settings, "ecm-bot"):
        identity = {} if desired.lookup else {desired.key: desired.name}
        secret = {"value": desired.secret} if desired.secret else {}
        instance.insert(desired.table, {**identity, **desired.fields, **secret}, admin)
    yield instance
    instance.close()


def sent(instance) -> list[Outbound]:
    assert instance.wait_idle()
    return instance.notifier.sent


def emergency(instance, **fields):
    return instance.insert(
        "change_request",
        {"short_description": "Outage", "type": "emergency", **fields},
        instance.user("eng.emma"),
    )


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body_and_the_connector_verifies_it(instance):
    emergency(instance)
    [request] = sent(instance)
    body = request.body.encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert request.headers["X-ECM-Signature"] == expected
    verify_servicenow(request.headers, body, SECRET)  # raises when it does not verify


def test_a_state_change_is_posted_as_the_contract_says(instance):
    change = emergency(instance)
    sent(instance).clear()
    instance.update("change_request", change["sys_id"], {"state": "-3"}, instance.user("eng.emma"))
    request = [r for r in sent(instance) if r.payload()["table"] == "change_request"][0]
    payload = json.loads(request.body)
    assert (request.url, request.method, request.headers["X-ECM-Event-Id"]) == (
        URL,
        "POST",
        payload["event_id"],
    )
    assert list(payload) == sorted(payload)
    assert (payload["changed"], payload["previous"]) == (
        ["approval", "state"],
        {"approval": "not requested", "state": "-5"},
    )
    assert (payload["actor"], payload["change_number"], payload["sent_at"]) == (
        "eng.emma",
        change["number"],
        "2026-12-01 10:00:00",
    )
    _, event = parse_servicenow(request.headers, request.body.encode(), received_at=NOW)
    assert isinstance(event, IssueUpdated) and event.status_change().new == "-3"


def test_a_journal_only_update_sends_the_newest_entry_which_the_connector_reads_as_a_command(instance):
    change = emergency(instance)
    sent(instance).clear()
    instance.update(
        "change_request", change["sys_id"], {"work_notes": "/approve"}, instance.user("lead.liam")
    )
    [request] = sent(instance)
    payload = request.payload()
    assert payload["journal"] == {
        "element": "work_notes",
        "entry": "2026-12-01 10:00:00 - Liam Lead (Work notes)\n/approve\n\n",
    }
    _, event = parse_servicenow(request.headers, request.body.encode(), received_at=NOW)
    assert isinstance(event, CommentAdded)
    assert (event.actor, event.body, event.key, event.issue_type) == (
        "lead.liam",
        "/approve",
        change["number"],
        "change_request",
    )


def test_a_comment_on_a_task_of_the_change_comes_with_the_task(instance):
    change = emergency(instance)
    task = instance.insert("change_task", {"change_request": change["sys_id"]}, instance.user("eng.emma"))
    sent(instance).clear()
    instance.update("change_task", task["sys_id"], {"comments": "report drafted"}, instance.user("eng.emma"))
    [request] = sent(instance)
    assert (request.payload()["table"], request.payload()["journal"]["element"]) == (
        "change_task",
        "comments",
    )


def test_normal_changes_and_quiet_updates_send_nothing(instance):
    normal = instance.insert("change_request", {"type": "normal"}, instance.user("eng.emma"))
    change = emergency(instance)
    sent(instance).clear()
    instance.update("change_request", normal["sys_id"], {"state": "-4"}, instance.user("eng.emma"))
    instance.update("change_request", change["sys_id"], {"state": "-5"}, instance.user("eng.emma"))
    assert sent(instance) == []
