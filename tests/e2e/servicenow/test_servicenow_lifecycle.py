"""A whole emergency change through the real `pysnow` gateway, the sandbox's signed notifications, the
connector's web service and its outbox dispatcher — including violations, duplicates and faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from connector.demo.servicenow_stack import ServiceNowStack
from connector.demo.servicenow_story import ServiceNowStory
from connector.errors import Rejected
from connector.procedure.model import Stage
from connector.store.tables import ChangeRow, DeliveryRow, OutboxRow
from connector.store.uow import UnitOfWork

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, database_url):
    with ServiceNowStack(tmp_path, database_url=database_url) as running:
        yield running


def quiet_story(stack):
    return ServiceNowStory(stack, say=lambda _line: None)


def outbox_statuses(stack):
    with UnitOfWork(stack.connector.database) as uow:
        rows = uow.session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
    return dict(rows)


def signed_post(stack, body: dict, secret: str):
    raw = json.dumps(body, sort_keys=True).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return requests.post(
        f"{stack.service_url}/webhooks/servicenow",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-ECM-Signature": signature,
            "X-ECM-Event-Id": body["event_id"],
        },
        timeout=10,
    )


def notification(**record):
    event_id = secrets.token_hex(16)
    return {
        "event_id": event_id,
        "table": "change_request",
        "operation": "insert",
        "sys_id": "9" * 32,
        "change_sys_id": "9" * 32,
        "change_number": "CHG0099999",
        "actor": "eng.emma",
        "sent_at": "2025-03-03 09:30:00",
        "changed": ["state"],
        "previous": {},
        "record": {"number": "CHG0099999", "state": "-5", **record},
    }


def test_full_lifecycle_holds_every_check_of_the_demo(stack):
    story = quiet_story(stack)
    result = story.demo()
    failed = [f"{c.what}: {c.detail}" for c in result.checks if not c.held]
    assert failed == []
    assert len([c for c in result.checks if "(R10)" in c.what]) == 4
    # each SLA alert is an event the installed notification mailed, queued at the demo clock's time
    alerts = story.alerts_in_tool(result.overdue_key)
    assert [a.kind for a in alerts] == ["reminder", "reminder", "breach", "escalation"]
    assert {"lead.liam@example.com", "sec.sara@example.com", "eng.emma@example.com"} <= set(alerts[2].to)
    change = stack.sandbox.records("change_request", number=result.overdue_key)[0]
    events = [e for e in stack.sandbox.events if e["instance"] == change["sys_id"]]
    breach = next(e for e in events if e["name"] == "ecm.postmortem.breach")
    assert breach["state"] == "processed" and breach["process_on"] == breach["sys_created_on"]
    assert breach["sys_created_on"] == alerts[2].sent_at.strftime("%Y-%m-%d %H:%M:%S")
    assert datetime.now(UTC) < alerts[2].sent_at - timedelta(
        days=1
    )  # the demo clock moved, not the machine's
    notes = story.work_notes("SLA breach:")
    assert notes and all(n["element_id"] == change["sys_id"] for n in notes)
    assert result.postmortem_key.startswith("CTASK") and result.due.endswith("23:59:59-05:00")
    assert stack.dispatch.errors == []
    assert outbox_statuses(stack) == {"done": outbox_statuses(stack)["done"]}


def test_duplicated_and_reordered_notifications_still_give_one_postmortem_task(stack):
    stack.sandbox.faults.configure({"seed": 3, "notifications": {"duplicate": 0.6, "reorder": 0.3}})
    story = quiet_story(stack)
    result = story.play()
    assert result.postmortem_key
    assert [t["number"] for t in story.tasks()] == [result.postmortem_key]
    assert story.facts().stage is Stage.CLOSED
    delivered = Counter(d.event_id for d in stack.sandbox.deliveries if d.outcome == "delivered")
    assert any(times > 1 for times in delivered.values())  # the sandbox did send duplicates
    with UnitOfWork(stack.connector.database) as uow:
        recorded = uow.session.scalar(
            select(func.count())
            .select_from(DeliveryRow)
            .where(DeliveryRow.source == "servicenow", DeliveryRow.delivery_id.not_like("reconcile:%"))
        )
    assert recorded == len(delivered)  # each notification recorded and processed once
    assert outbox_statuses(stack).get("dead", 0) == 0


def test_servicenow_answering_429_and_503_delays_actions_but_loses_none(stack):
    # Only endpoints the connector alone calls (people's own writes are not made to fail here).
    stack.sandbox.faults.configure(
        {
            "scripted": [
                {"pattern": "POST /api/now/table/sysevent", "count": 2, "status": 429, "retry_after": 1},
                {"pattern": "POST /api/now/table/change_task", "count": 2, "status": 503},
                {"pattern": "GET /api/now/table/sys_journal_field", "count": 2, "status": 503},
                {"pattern": "GET /api/now/table/sys_user_grmember", "count": 1, "status": 503},
            ]
        }
    )
    story = quiet_story(stack)
    result = story.play()
    assert [c.what for c in result.checks if not c.held] == []
    assert len(story.tasks()) == 1
    statuses = outbox_statuses(stack)
    assert statuses.get("dead", 0) == 0 and statuses.get("pending", 0) == 0


def test_an_action_servicenow_keeps_refusing_waits_in_the_outbox_and_completes_later(stack):
    stack.sandbox.faults.configure(
        {"scripted": [{"pattern": "POST /api/now/table/sysevent", "count": 3, "status": 503}]}
    )
    story = quiet_story(stack)
    story.raise_change()  # the R1 alert cannot be queued yet: three 503 answers in a row

    key = story.result.key

    def alert_row():
        with UnitOfWork(stack.connector.database) as uow:
            row = uow.session.scalar(select(OutboxRow).where(OutboxRow.action == "notify"))
            return (row.status, row.attempts) if row is not None else None

    assert stack.settle(lambda: alert_row() == ("done", 1), timeout=20), alert_row()  # rescheduled once
    assert story.mails(f"Emergency change {key} raised")
    # what waited behind the alert (the gate written for the new change) follows it, in order
    assert stack.settle(lambda: set(outbox_statuses(stack)) == {"done"}, timeout=20), outbox_statuses(stack)


def test_a_notification_with_a_bad_signature_is_refused_and_stored_nowhere(stack):
    answer = signed_post(stack, notification(type="emergency"), secret="not-the-secret")
    assert answer.status_code == 401
    with UnitOfWork(stack.connector.database) as uow:
        assert uow.session.scalar(select(func.count()).select_from(DeliveryRow)) == 0


def test_a_change_that_is_not_an_emergency_is_answered_and_ignored(stack):
    answer = signed_post(stack, notification(type="normal", category="Service outage"), stack.secret)
    assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
    with UnitOfWork(stack.connector.database) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ChangeRow)) == 0


def test_one_person_in_both_groups_cannot_give_both_approvals(stack):
    story = quiet_story(stack)
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    dana = story.person("dual.dana")

    def mine():  # asked by the connector (the instance's own emergency model asks the CAB)
        return [a for a in dana.approvals(story.sys_id) if a.approver == "dual.dana"]

    assert stack.settle(lambda: len(mine()) == 2)
    mine = mine()
    assert {a.group for a in mine} == {"Engineering Leads", "Security Team"}
    dana.update("sysapproval_approver", mine[0].sys_id, {"state": "approved"})
    with pytest.raises(Rejected, match="one person one role"):  # the instance's own rule refuses it
        dana.update("sysapproval_approver", mine[1].sys_id, {"state": "approved"})
    assert stack.settle(lambda: len(story.facts().approvals) == 1)
    assert [(a.approver, a.role.value) for a in story.facts().approvals] in (
        [("dual.dana", "lead")],
        [("dual.dana", "security")],
    )


def test_when_the_emergency_model_already_asks_both_groups_the_connector_adds_no_second_request(
    tmp_path, database_url
):
    groups = ("Engineering Leads", "Security Team")
    options = {"emergency_approvers": groups}
    with ServiceNowStack(tmp_path, database_url=database_url, sandbox_options=options) as stack:
        story = quiet_story(stack)
        result = story.play()
        assert [f"{c.what}: {c.detail}" for c in result.checks if not c.held] == []
        rows = stack.sandbox.records("sysapproval_approver", sysapproval=story.sys_id)
        asked = stack.sandbox.records("sysapproval_group", parent=story.sys_id)
        assert len(asked) == 2  # the model's two group approvals, none added by the connector
        assert len(rows) == len({(r["approver"], r["group"]) for r in rows}) == 4


def test_a_cab_approval_from_the_instance_default_model_does_not_count_for_the_procedure(stack):
    story = quiet_story(stack)
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    story.decide("cab.carl", "approved")
    story.decide("lead.liam", "approved")
    assert stack.settle(lambda: len(story.facts().approvals) == 1)
    assert [a.approver for a in story.facts().approvals] == ["lead.liam"]


def test_reconciliation_catches_up_approvals_and_comment_commands_whose_notifications_failed(stack):
    from connector.reconcile import reconcile

    story = quiet_story(stack)
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    story.decide("lead.liam", "approved")
    story.decide("sec.sara", "approved")
    assert stack.settle(lambda: len(story.facts().approvals) == 2)
    stack.sandbox.faults.configure({"notifications": {"fail": 1.0}})  # every send fails from here on
    story.move("eng.emma", Stage.APPROVED)  # a state change
    story.comment("peer.pete", "/peer-reviewed")  # a comment command
    stack.sandbox.wait_for_notifications()
    assert story.facts().stage is Stage.AWAITING_APPROVAL and not story.facts().reviews
    stack.sandbox.faults.clear()

    report = reconcile(stack.connector, "servicenow")

    facts = story.facts()
    assert facts.stage is Stage.APPROVED, report.outcomes
    assert [r.reviewer for r in facts.reviews] == ["peer.pete"], report.outcomes
    stack.settle(lambda: stack.dispatch.errors == [] and story.work_notes("peer review by peer.pete"))
    reconcile(stack.connector, "servicenow")  # a second run records nothing twice
    assert [r.reviewer for r in story.facts().reviews] == ["peer.pete"]
    assert len(story.facts().approvals) == 2


def test_an_approval_whose_notification_failed_is_caught_up_by_reconciliation(stack):
    from connector.reconcile import reconcile

    story = quiet_story(stack)
    story.raise_change()
    story.move("eng.emma", Stage.AWAITING_APPROVAL)
    story.wait_stage(Stage.AWAITING_APPROVAL)
    story.decide("lead.liam", "approved")
    assert stack.settle(lambda: len(story.facts().approvals) == 1)
    stack.sandbox.faults.configure({"notifications": {"drop": 1.0}})
    story.decide("sec.sara", "approved")
    stack.sandbox.wait_for_notifications()
    assert len(story.facts().approvals) == 1
    stack.sandbox.faults.clear()

    reconcile(stack.connector, "servicenow")

    assert {a.approver for a in story.facts().approvals} == {"lead.liam", "sec.sara"}


def test_the_created_alert_is_mailed_to_every_engineering_lead_and_security_member(stack):
    story = quiet_story(stack)
    story.raise_change()
    [mail] = story.mails(f"Emergency change {story.result.key} raised")
    assert sorted(mail["recipients"].split(",")) == [
        "dual.dana@example.com",
        "lead.liam@example.com",
        "sec.sara@example.com",
    ]
