"""`ecm plan` / `install` / `doctor` and the gateway against the ServiceNow sandbox, through real pysnow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from connector.config import Settings
from connector.errors import NotFound, Rejected
from connector.mapping import load_mapping
from connector.procedure.model import Stage
from connector.servicenow.doctor import doctor
from connector.servicenow.gateway import ServiceNowGateway
from connector.servicenow.installer import GATE_RULES, NOTIFY_RULE, SELF_APPROVAL_RULE, install, plan
from sandbox.servicenow import SandboxServiceNow

pytestmark = pytest.mark.slow

MAPPING = Path(__file__).parents[3] / "mappings" / "servicenow.yaml"
SECRET = "sandbox-signing-key"


class Receiver:
    """The connector's webhook endpoint, reduced to collecting what is posted."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.public_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def sandbox() -> Iterator[SandboxServiceNow]:
    with SandboxServiceNow() as running:
        yield running


@pytest.fixture
def gateway(sandbox) -> ServiceNowGateway:
    return ServiceNowGateway(sandbox.base_url, user="ecm-bot", password="ecm-bot")


@pytest.fixture
def settings(receiver) -> Settings:
    return Settings(public_url=receiver.public_url, servicenow_webhook_secret=SecretStr(SECRET))


@pytest.fixture
def mapping():
    return load_mapping(MAPPING)


def test_install_is_idempotent_never_deletes_and_doctor_passes(sandbox, gateway, mapping, settings):
    admin_rule = gateway.create("sys_script", {"name": "Company: notify CAB", "collection": "change_request"})

    first = plan(mapping, gateway, settings=settings)
    install(mapping, gateway, settings=settings)
    second = plan(mapping, gateway, settings=settings)

    assert {item.action for item in first.items} == {"create"}
    assert f"create  business rule  {NOTIFY_RULE}" in first.render()
    assert SECRET not in first.render()
    assert {item.action for item in second.items} == {"unchanged"}
    assert gateway.get("sys_script", admin_rule.sys_id).get("name") == "Company: notify CAB"
    checks = doctor(mapping, gateway, settings=settings)
    assert [c for c in checks if not c.ok] == []


def test_deactivated_rule_makes_doctor_fail_and_install_restores_it(sandbox, gateway, mapping, settings):
    install(mapping, gateway, settings=settings)
    rule = gateway.find_one("sys_script", f"name={NOTIFY_RULE}")
    gateway.update("sys_script", rule.sys_id, {"active": "false"})

    problems = [c for c in doctor(mapping, gateway, settings=settings) if not c.ok]
    restored = plan(mapping, gateway, settings=settings)
    install(mapping, gateway, settings=settings)

    assert [(c.name, c.detail) for c in problems] == [(f"business rule {NOTIFY_RULE}", "inactive")]
    assert "ecm install" in problems[0].fix
    assert [(i.name, i.detail) for i in restored.changes] == [(NOTIFY_RULE, "fields: active")]
    assert all(check.ok for check in doctor(mapping, gateway, settings=settings))


def test_installed_rule_posts_signed_notifications(sandbox, receiver, gateway, mapping, settings):
    install(mapping, gateway, settings=settings)

    change = gateway.create("change_request", {"type": "emergency", "short_description": "DB outage"})
    assert sandbox.wait_for_notifications()

    headers, body = next((h, b) for h, b in receiver.received if json.loads(b)["sys_id"] == change.sys_id)
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-ECM-Signature"] == expected
    assert headers["X-ECM-Event-Id"] == json.loads(body)["event_id"]
    assert headers["Host"].endswith(receiver.public_url.removeprefix("http://"))


def test_installed_block_rule_refuses_implement_without_approvals(sandbox, gateway, mapping, settings):
    install(mapping, gateway, settings=settings)
    change = gateway.create("change_request", {"type": "emergency", "state": "-2", "short_description": "x"})

    with pytest.raises(
        Rejected, match="aborted by Business Rule 'ECM Connector: block implement without approvals"
    ):
        gateway.set_state(change.sys_id, -1, work_note="deploying")
    assert gateway.get_change(change.get("number")).state == "-2"


def test_gateway_reads_changes_approvals_and_groups_from_the_sandbox(sandbox, gateway):
    emma = sandbox.user("eng.emma")["sys_id"]
    change = gateway.create("change_request", {"type": "emergency", "requested_by": emma})
    gateway.set_state(change.sys_id, -3)

    read = gateway.get_change(change.get("number"))
    asked = gateway.request_approvals(change.sys_id, "Security Team")  # the instance asked the CAB only
    approvals = gateway.approvals(change.sys_id)
    asked_again = gateway.request_approvals(change.sys_id, "Security Team")
    page = gateway.changes_updated_since(datetime(2000, 1, 1, tzinfo=UTC), limit=1)

    assert (read.requested_by, read.state, read.type) == ("eng.emma", "-3", "emergency")
    assert {(a.approver, a.group) for a in asked} == {
        ("sec.sara", "Security Team"),
        ("dual.dana", "Security Team"),
    }
    assert {(a.approver, a.group) for a in approvals} == {
        ("cab.carl", "Change Advisory Board"),
        ("sec.sara", "Security Team"),
        ("dual.dana", "Security Team"),
    }
    assert asked_again == ()  # every member asked already
    assert gateway.group_members("Engineering Leads") == ("dual.dana", "lead.liam")
    assert (len(page.records), page.total, page.next_offset) == (1, 1, None)
    with pytest.raises(NotFound):
        gateway.get_change("CHG9999999")


def admin_delete(sandbox, table: str, sys_id: str, user: str = "admin") -> None:
    answer = requests.delete(
        f"{sandbox.base_url}/api/now/table/{table}/{sys_id}", auth=(user, user), timeout=5
    )
    assert answer.status_code == 204, answer.text


def test_a_refusing_rule_deactivated_and_the_gate_acl_and_self_approval_rule_removed_are_drift(
    sandbox, gateway, mapping, settings
):
    """Also what an installation from before the gate looks like: `ecm install` adds what it lacks, and a
    second install has nothing to do."""
    install(mapping, gateway, settings=settings)
    deploy_rule = GATE_RULES[Stage.DEPLOYED][0]
    rule = gateway.find_one("sys_script", f"name={deploy_rule}")
    gateway.update("sys_script", rule.sys_id, {"active": "false"})
    acl = gateway.find_one("sys_security_acl", "name=change_request.u_ecm_gate^operation=write")
    admin_delete(sandbox, "sys_security_acl", acl.sys_id, user="ecm-bot")  # needs security_admin
    admin_delete(sandbox, "sys_script", gateway.find_one("sys_script", f"name={SELF_APPROVAL_RULE}").sys_id)

    problems = {c.name: c.detail for c in doctor(mapping, gateway, settings=settings) if not c.ok}
    assert problems == {
        f"business rule {deploy_rule}": "inactive",
        "access control change_request.u_ecm_gate": "missing",
        f"business rule {SELF_APPROVAL_RULE}": "missing",
    }
    changes = {(i.name, i.action) for i in plan(mapping, gateway, settings=settings).changes}
    assert changes == {
        (deploy_rule, "update"),
        ("change_request.u_ecm_gate", "create"),
        (SELF_APPROVAL_RULE, "create"),
    }
    install(mapping, gateway, settings=settings)
    assert plan(mapping, gateway, settings=settings).changes == ()
    assert all(check.ok for check in doctor(mapping, gateway, settings=settings))
