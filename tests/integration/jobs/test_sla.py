"""R10 and R4 over time: reminders, breach, escalations and unconfirmed verbal approvals, each once."""

from __future__ import annotations

from datetime import date, timedelta

from connector.services.sla import run_sla

from .conftest import (
    add_change,
    add_verbal_approval,
    alerts,
    audit_actions,
    ny,
    outbox,
    set_done,
    tool_context,
)

CAL = tool_context("jira").calendar
SECOND = timedelta(seconds=1)


def due(d: date):
    return CAL.end_of(d)


def run_at(connector, clock, moment):
    clock.set(moment)
    return run_sla(connector)


def test_each_reminder_point_is_alerted_once_before_the_deadline(connector, clock, database):
    add_change(database, "EMG-1", due(date(2026, 12, 9)))  # Wednesday
    assert run_at(connector, clock, ny((2026, 12, 8), 23, 59)).total == 0
    assert run_at(connector, clock, due(date(2026, 12, 8)) + SECOND).sent == {"reminder": 1}
    assert run_at(connector, clock, ny((2026, 12, 9), 10)).total == 0
    assert run_at(connector, clock, ny((2026, 12, 9), 20)).sent == {"reminder": 1}
    assert run_at(connector, clock, ny((2026, 12, 9), 21)).total == 0
    assert alerts(database) == [("EMG-1", "reminder", "reminder:1bd"), ("EMG-1", "reminder", "reminder:4h")]


def test_breach_is_alerted_once_then_one_escalation_each_business_day(connector, clock, database):
    add_change(database, "EMG-1", due(date(2026, 12, 4)))  # Friday
    assert run_at(connector, clock, ny((2026, 12, 5), 0, 1)).sent == {"breach": 1}
    assert run_at(connector, clock, ny((2026, 12, 6), 9)).total == 0  # Sunday: no escalation
    assert run_at(connector, clock, ny((2026, 12, 7), 18)).total == 0
    assert run_at(connector, clock, ny((2026, 12, 8), 0, 1)).sent == {"escalation": 1}
    assert run_at(connector, clock, ny((2026, 12, 9), 0, 1)).sent == {"escalation": 1}
    kinds = [(kind, threshold) for _, kind, threshold in alerts(database)]
    assert kinds == [("breach", "breach"), ("escalation", "escalation:1"), ("escalation", "escalation:2")]


def test_escalations_skip_weekends_and_public_holidays(connector, clock, database):
    add_change(database, "EMG-1", due(date(2026, 12, 23)))  # Wednesday before Christmas
    run_at(connector, clock, ny((2026, 12, 24), 6))
    run_at(connector, clock, ny((2026, 12, 25), 6))  # escalation 1 for Thursday 24th
    for day in (26, 27, 28):  # Christmas Friday, the weekend, then Monday until its end
        run_at(connector, clock, ny((2026, 12, day), 22))
    run_at(connector, clock, ny((2026, 12, 29), 0, 5))  # escalation 2 for Monday 28th
    assert [t for _, _, t in alerts(database)] == ["breach", "escalation:1", "escalation:2"]


def test_reminder_a_business_day_before_a_deadline_across_the_daylight_saving_change(
    connector, clock, database
):
    add_change(database, "EMG-1", due(date(2026, 11, 2)))  # Monday after clocks went back on 1 Nov
    reminder_at = CAL.shift(due(date(2026, 11, 2)), business_days=1)
    assert reminder_at.isoformat() == "2026-10-30T23:59:59-04:00"  # Friday, still summer time
    assert run_at(connector, clock, reminder_at - SECOND).total == 0
    assert run_at(connector, clock, reminder_at).sent == {"reminder": 1}
    assert run_at(connector, clock, ny((2026, 11, 2), 19, 59) + timedelta(seconds=59)).sent == {"reminder": 1}


def test_deadline_passed_while_down_gets_the_breach_and_latest_escalation_not_stale_reminders(
    connector, clock, database
):
    add_change(database, "EMG-1", due(date(2026, 12, 2)))
    report = run_at(connector, clock, ny((2026, 12, 7), 9))  # back on Monday after 4 days down
    assert report.sent == {"breach": 1, "escalation": 1}
    assert [t for _, _, t in alerts(database)] == ["breach", "escalation:2"]


def test_missed_reminder_points_send_only_the_latest(connector, clock, database):
    add_change(database, "EMG-1", due(date(2026, 12, 9)))
    assert run_at(connector, clock, ny((2026, 12, 9), 21)).sent == {"reminder": 1}
    assert [t for _, _, t in alerts(database)] == ["reminder:4h"]


def test_alerts_stop_when_the_postmortem_and_retroactive_items_are_done(connector, clock, database):
    change = add_change(database, "EMG-1", due(date(2026, 12, 4)))
    run_at(connector, clock, ny((2026, 12, 5), 9))
    set_done(database, change, ny((2026, 12, 7), 9))  # report filled in, pull request link still missing
    assert run_at(connector, clock, ny((2026, 12, 8), 9)).sent == {"escalation": 1}
    set_done(database, change, ny((2026, 12, 8), 10), pr_url="https://git/pr/1", docs_url="https://wiki/d")
    assert run_at(connector, clock, ny((2026, 12, 10), 9)).total == 0


def test_complete_change_is_never_alerted(connector, clock, database):
    add_change(
        database, "EMG-1", due(date(2026, 12, 4)), done=True, pr_url="https://x/pr", docs_url="https://d"
    )
    assert run_at(connector, clock, ny((2026, 12, 9), 9)).total == 0


def test_jira_breach_notifies_assignee_leads_and_security_comments_and_labels(connector, clock, database):
    add_change(database, "EMG-1", due(date(2026, 12, 4)))
    run_at(connector, clock, ny((2026, 12, 5), 9))
    actions = outbox(database)
    assert [a for a, _ in actions] == ["notify", "comment", "add_label"]
    notify = actions[0][1]
    assert notify["users"] == ["eng.emma"] and notify["groups"] == ["engineering-leads", "security-team"]
    assert "SLA breach" in notify["subject"] and "Pull Request link" in notify["body"]
    assert notify["subject"].endswith("due Fri 04 Dec 2026 23:59 EST (2026-12-05 04:59 UTC)")  # calendar zone
    assert actions[2][1] == {"key": "EMG-1", "remote_id": None, "label": "sla-breached"}
    assert audit_actions(database) == ["sla-breach"]


def test_servicenow_breach_notifies_people_and_groups_by_name_for_the_mapped_event(
    connector, clock, database
):
    # The ServiceNow notify action turns the names into user sys_ids when it fires the event: an
    # installed notification reads recipients from an event parm as sys_ids or addresses, never names.
    add_change(database, "CHG0001", due(date(2026, 12, 4)), tool="servicenow")
    run_at(connector, clock, ny((2026, 12, 5), 9))
    [(action, payload), (note, text)] = outbox(database)
    assert (action, note) == ("notify", "comment")
    assert payload["kind"] == "breach" and payload["key"] == "CHG0001"
    assert payload["users"] == ["eng.emma"] and payload["groups"] == ["engineering-leads", "security-team"]
    assert payload["at"] == ny((2026, 12, 5), 9).isoformat()
    assert "SLA breach" in text["body"]


def test_unconfirmed_verbal_approval_is_alerted_once_after_its_confirm_by(connector, clock, database):
    change = add_change(database, "EMG-1", due(date(2026, 12, 30)))
    add_verbal_approval(database, change, ny((2026, 12, 2), 23, 59))
    assert run_at(connector, clock, ny((2026, 12, 2), 23, 58)).total == 0
    assert run_at(connector, clock, ny((2026, 12, 3), 0, 1)).sent == {"unconfirmed_verbal": 1}
    assert run_at(connector, clock, ny((2026, 12, 3), 9)).total == 0
    [(action, payload), *_] = outbox(database)
    assert payload["users"] == ["lead.liam", "eng.emma"] and payload["groups"] == ["engineering-leads"]
    assert "sla-unconfirmed_verbal" in audit_actions(database)


def test_deadlines_far_ahead_are_not_read(connector, clock, database):
    add_change(database, "EMG-1", due(date(2027, 3, 1)))
    assert run_at(connector, clock, ny((2026, 12, 7), 9)).checked == 0
