"""ServiceNow notifications, parsed as they arrive, into the commands the connector runs."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector import commands as c
from connector.inbound.events import Ignored
from connector.inbound.servicenow import parse_servicenow
from connector.mapping import load_mapping
from connector.procedure.model import Role, Stage
from connector.servicenow.translate import ServiceNowTranslator, first_url
from connector.tools import ToolContext
from tests.fakes import StaticDirectory

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "servicenow.yaml")
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
EVENT_ID = "0123456789abcdef0123456789abcdef"
USERS = {"1" * 32: "eng.emma", "2" * 32: "lead.liam", "3" * 32: "sec.sara", "4" * 32: "dual.dana"}
GROUPS = {"a" * 32: "Engineering Leads", "b" * 32: "Security Team"}


@pytest.fixture
def translate():
    section = MAPPING.servicenow
    ctx = ToolContext(
        tool="servicenow",
        calendar=MAPPING.calendar.build(),
        policy=MAPPING.policy(),
        directory=StaticDirectory(frozenset({"lead.liam"}), frozenset({"sec.sara"}), (("sec.sara", "Sara"),)),
        account=lambda: "ecm-bot",
        statuses={stage: value for value, stage in section.states.items()},
        group_names={"leads": "Engineering Leads", "security": "Security Team"},
        recipients_by_kind={},
        create_postmortem_on=section.create_postmortem_on,
        command_words=MAPPING.commands.words(),
    )
    translator = ServiceNowTranslator(ctx, section, USERS.get, GROUPS.get, "http://snow.test")

    def run(table="change_request", operation="update", actor="eng.emma", **overrides):
        body = {
            "event_id": EVENT_ID,
            "table": table,
            "operation": operation,
            "sys_id": "f" * 32,
            "change_sys_id": "c" * 32,
            "change_number": "CHG0030001",
            "actor": actor,
            "sent_at": "2025-03-03 09:30:00",
            "changed": [],
            "previous": {},
            "record": {"number": "CHG0030001", "type": "emergency", "state": "-5", "requested_by": "1" * 32},
        } | overrides
        _, event = parse_servicenow({}, json.dumps(body).encode(), received_at=NOW)
        return translator(event, "delivery-1")

    return run


def change(**fields):
    return {"number": "CHG0030001", "type": "emergency", "requested_by": "1" * 32} | fields


def test_new_change_registers_the_requester_category_and_impact(translate):
    [register] = translate(
        operation="insert",
        record=change(
            state="-5",
            category="Service outage",
            justification="Checkout down in EU",
            short_description="Pool",
        ),
    )
    assert isinstance(register, c.RegisterChange)
    assert (register.engineer, register.category, register.impact) == (
        "eng.emma",
        "Service outage",
        "Checkout down in EU",
    )
    assert register.stage is Stage.IDENTIFIED and register.title == "Pool"
    assert register.url == f"http://snow.test/nav_to.do?uri=change_request.do?sys_id={'f' * 32}"


def test_state_change_becomes_a_transition_to_the_mapped_stage(translate):
    commands = translate(record=change(state="-1"), changed=["state"], previous={"state": "-2"})
    transition = commands[-1]
    assert isinstance(transition, c.RecordTransition)
    assert (transition.to_stage, transition.to_status, transition.from_status) == (Stage.DEPLOYED, "-1", "-2")


def test_unmapped_state_is_ignored_with_its_value(translate, caplog):
    result = translate(record=change(state="-4"), changed=["state"], previous={"state": "-5"})
    assert isinstance(result, Ignored) and "'-4'" in result.reason
    assert "servicenow-state-unmapped" in caplog.text


def test_close_code_is_recorded_before_the_close(translate):
    commands = translate(
        record=change(state="3", close_code="successful", close_notes="done"),
        changed=["state", "close_code"],
        previous={"state": "0", "close_code": ""},
    )
    assert [type(x) for x in commands] == [c.RegisterChange, c.RecordLink, c.RecordTransition]
    assert (commands[1].kind, commands[1].url) == ("close_code", "successful")


def test_the_connectors_own_update_is_ignored(translate):
    result = translate(
        actor="ecm-bot", record=change(state="-2"), changed=["state"], previous={"state": "-1"}
    )
    assert isinstance(result, Ignored) and "own update" in result.reason


@pytest.mark.parametrize("group, role", [("a" * 32, Role.LEAD), ("b" * 32, Role.SECURITY)])
def test_approval_by_the_approvers_own_account_records_the_groups_role(translate, group, role):
    [approval] = translate(
        table="sysapproval_approver",
        actor="dual.dana",
        record={"approver": "4" * 32, "group": group, "state": "approved"},
    )
    assert isinstance(approval, c.RecordApproval)
    assert (approval.actor, approval.role, approval.evidence) == (
        "dual.dana",
        role,
        f"sysapproval_approver:{'f' * 32}",
    )


def test_approval_written_by_someone_else_is_not_an_approval(translate):
    result = translate(
        table="sysapproval_approver",
        actor="admin",
        record={"approver": "2" * 32, "group": "a" * 32, "state": "approved"},
    )
    assert isinstance(result, Ignored) and "only the approver's own decision" in result.reason


@pytest.mark.parametrize("state", ["requested", "not_required", "cancelled"])
def test_approval_records_that_decide_nothing_are_ignored(translate, state):
    result = translate(
        table="sysapproval_approver",
        actor="lead.liam",
        record={"approver": "2" * 32, "group": "a" * 32, "state": state},
    )
    assert isinstance(result, Ignored)


def test_rejection_by_the_approver_is_a_rejection(translate):
    [rejection] = translate(
        table="sysapproval_approver",
        actor="sec.sara",
        record={"approver": "3" * 32, "group": "b" * 32, "state": "rejected"},
    )
    assert isinstance(rejection, c.RecordRejection) and rejection.actor == "sec.sara"


def test_work_note_command_on_the_change_is_a_review(translate):
    [review] = translate(
        table="sys_journal_field",
        operation="insert",
        actor="sec.sara",
        record={
            "element": "work_notes",
            "name": "change_request",
            "value": "/security-reviewed",
            "sys_created_by": "sec.sara",
        },
    )
    assert isinstance(review, c.RecordReview) and review.actor == "sec.sara"


def test_pr_comment_is_a_link(translate):
    [link] = translate(
        table="sys_journal_field",
        operation="insert",
        record={
            "element": "comments",
            "name": "change_request",
            "value": "/pr https://git.example.com/pull/1",
            "sys_created_by": "eng.emma",
        },
    )
    assert isinstance(link, c.RecordLink) and link.url == "https://git.example.com/pull/1"


def test_comment_on_a_task_is_not_a_command(translate):
    result = translate(
        table="sys_journal_field",
        operation="insert",
        record={
            "element": "comments",
            "name": "change_task",
            "value": "/approve",
            "sys_created_by": "eng.emma",
        },
    )
    assert isinstance(result, Ignored)


def test_closed_postmortem_task_is_done_with_the_link_from_its_close_notes(translate):
    [update] = translate(
        table="change_task",
        record={
            "number": "CTASK0010001",
            "change_task_type": "review",
            "short_description": "Post-mortem of CHG0030001: Pool",
            "state": "3",
            "close_notes": "Report: https://wiki.example.com/pm/checkout-eu. Thanks all.",
        },
        changed=["state"],
        previous={"state": "1"},
    )
    assert isinstance(update, c.UpdatePostMortem)
    assert (update.key, update.done, update.report_url) == (
        "CTASK0010001",
        True,
        "https://wiki.example.com/pm/checkout-eu",
    )


def test_other_change_tasks_are_ignored(translate):
    result = translate(
        table="change_task",
        record={
            "number": "CTASK0010002",
            "change_task_type": "implementation",
            "short_description": "Deploy",
            "state": "3",
        },
    )
    assert isinstance(result, Ignored)


def test_first_url_takes_no_trailing_punctuation():
    assert first_url("see (https://a.example/x), then") == "https://a.example/x"
    assert first_url("no link here") is None
