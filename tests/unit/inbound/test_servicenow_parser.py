import json
from datetime import UTC, datetime

import pytest

from connector.errors import MalformedBody
from connector.inbound.events import ApprovalUpdated, CommentAdded, Ignored, IssueCreated, IssueUpdated
from connector.inbound.servicenow import parse_servicenow

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
EVENT_ID = "0123456789abcdef0123456789abcdef"


def notification(table="change_request", operation="update", **overrides):
    body = {
        "event_id": EVENT_ID,
        "table": table,
        "operation": operation,
        "sys_id": "a" * 32,
        "change_sys_id": "c" * 32,
        "change_number": "CHG0030001",
        "actor": "alice.engineer",
        "sent_at": "2025-03-03 09:30:00",
        "changed": ["state"],
        "previous": {"state": "-3"},
        "record": {"number": "CHG0030001", "type": "emergency", "state": "-2", "category": "Service outage"},
        "unknown_extra": {"ignored": True},
    }
    body.update(overrides)
    return json.dumps(body).encode()


def parse(body, headers=None):
    return parse_servicenow(
        {"X-ECM-Event-Id": EVENT_ID} if headers is None else headers, body, received_at=NOW
    )


def test_emergency_change_update_gives_the_state_change():
    delivery, event = parse(notification())
    assert isinstance(event, IssueUpdated)
    assert (event.key, event.actor, event.status, event.issue_type) == (
        "CHG0030001",
        "alice.engineer",
        "-2",
        "change_request",
    )
    assert [(c.field, c.old, c.new) for c in event.changes] == [("state", "-3", "-2")]
    assert event.status_change().new == "-2"
    assert event.fields["category"] == "Service outage"
    assert event.at == datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    assert (delivery.delivery_id, delivery.event_type, delivery.issue_key) == (
        EVENT_ID,
        "change_request.update",
        "CHG0030001",
    )


def test_emergency_change_insert_is_a_created_change():
    _, event = parse(notification(operation="insert", changed=[], previous={}))
    assert isinstance(event, IssueCreated)
    assert event.status == "-2"


def test_normal_change_is_ignored():
    _, event = parse(notification(record={"number": "CHG0030001", "type": "normal", "state": "-2"}))
    assert isinstance(event, Ignored)
    assert "only emergency changes" in event.reason


def test_change_task_belongs_to_its_change():
    record = {"number": "CTASK0010001", "state": "1", "change_task_type": "review"}
    _, event = parse(notification(table="change_task", operation="insert", record=record, changed=[]))
    assert isinstance(event, IssueCreated)
    assert (event.key, event.issue_type, event.parent_key) == ("CTASK0010001", "change_task", "CHG0030001")


def test_approval_record_gives_the_authenticated_writer_and_the_approver_reference():
    record = {"approver": "9" * 32, "group": "8" * 32, "state": "approved", "comments": "ok"}
    _, event = parse(notification(table="sysapproval_approver", record=record, actor="sam.security"))
    assert isinstance(event, ApprovalUpdated)
    assert (event.actor, event.approver, event.group, event.state, event.comments) == (
        "sam.security",
        "9" * 32,
        "8" * 32,
        "approved",
        "ok",
    )
    assert event.key == "CHG0030001"


@pytest.mark.parametrize("element", ["comments", "work_notes"])
def test_journal_comment_is_a_comment_by_its_creator(element):
    record = {"element": element, "value": "/approve", "sys_created_by": "lee.lead", "name": "change_request"}
    _, event = parse(notification(table="sys_journal_field", operation="insert", record=record))
    assert isinstance(event, CommentAdded)
    assert (event.actor, event.body, event.key) == ("lee.lead", "/approve", "CHG0030001")


def test_journal_entry_on_another_field_is_ignored():
    record = {"element": "description", "value": "x", "sys_created_by": "lee.lead"}
    _, event = parse(notification(table="sys_journal_field", operation="insert", record=record))
    assert isinstance(event, Ignored)


def test_unknown_table_is_ignored():
    _, event = parse(notification(table="incident"))
    assert isinstance(event, Ignored)
    assert "unknown table" in event.reason


def test_event_id_may_come_from_the_body_alone():
    delivery, _ = parse(notification(), headers={})
    assert delivery.delivery_id == EVENT_ID


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (b"{", None, "not valid JSON"),
        (notification(), {"X-ECM-Event-Id": "short"}, "32 hexadecimal"),
        (notification(event_id="f" * 32), None, "does not match"),
        (notification(operation="delete"), None, "operation"),
        (notification(record="CHG1"), None, "record: expected an object"),
        (notification(sent_at="yesterday"), None, "sent_at"),
        (notification(actor=None), None, "actor: missing"),
        (notification(changed="state"), None, "changed: expected a list"),
    ],
)
def test_malformed_notification_is_refused(body, headers, problem):
    with pytest.raises(MalformedBody, match=problem):
        parse(body, headers)


def journal_on_the_change(entry, element="work_notes", actor="lee.lead"):
    return notification(
        changed=[element],
        previous={},
        actor=actor,
        journal={"element": element, "entry": entry},
        record={"number": "CHG0030001", "type": "emergency", "state": "-3", "sys_mod_count": "4"},
    )


def test_a_journal_entry_sent_with_its_change_is_a_comment_by_the_writer_of_the_change():
    _, event = parse(journal_on_the_change("2025-03-03 09:30:00 - Lee Lead (Work notes)\n/approve\n\n"))
    assert isinstance(event, CommentAdded)
    assert (event.actor, event.body, event.key, event.issue_type) == (
        "lee.lead",
        "/approve",
        "CHG0030001",
        "change_request",
    )


def test_a_journal_entry_without_servicenows_header_is_refused():
    with pytest.raises(MalformedBody, match="journal.entry"):
        parse(journal_on_the_change("/approve"))


def test_the_same_entry_from_the_old_journal_rule_and_from_its_change_is_one_subject():
    with_change = parse(journal_on_the_change("2025-03-03 09:30:00 - Lee Lead (Work notes)\n/approve\n\n"))[1]
    record = {
        "element": "work_notes",
        "element_id": "a" * 32,
        "value": "/approve",
        "sys_created_by": "lee.lead",
        "name": "change_request",
    }
    from_journal = parse(notification(table="sys_journal_field", operation="insert", record=record))[1]
    assert with_change.subject_id == from_journal.subject_id is not None
