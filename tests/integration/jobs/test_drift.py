"""The drift job alerts each failing doctor check once per day and tool, however often it runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.install_plan import Check
from connector.services.drift import RETRY_PAUSES
from connector.store.tables import MarkerRow
from jobs import drift

from .conftest import audit_actions, outbox


def doctor(*checks: Check):
    return lambda mapping, gateway, settings=None: list(checks)


FAILING = doctor(Check("workflow", True), Check("business rule", False, "inactive", "ecm install"))


def test_a_failing_check_is_alerted_once_a_day_and_again_the_next_day(connector, clock, database):
    doctors = {"jira": FAILING, "servicenow": FAILING}
    assert drift.run(connector, doctors) == "ecm_drift_problems=2"
    assert drift.run(connector, doctors) == "ecm_drift_problems=2"
    assert audit_actions(database) == ["drift-detected", "drift-detected"]
    [(action, payload)] = outbox(database)  # ServiceNow: its drift notification to leads and security
    groups = ["engineering-leads", "security-team"]
    assert (action, payload["kind"], payload["groups"]) == ("notify", "drift", groups)
    assert payload["subject"].endswith(": business rule") and payload["body"] == "inactive | fix: ecm install"

    clock.set(clock() + timedelta(days=1))
    drift.run(connector, doctors)
    assert audit_actions(database) == ["drift-detected"] * 4
    with database.session() as session:
        markers = list(
            session.scalars(select(MarkerRow.key).where(MarkerRow.kind == "drift").order_by(MarkerRow.id))
        )
    assert markers == [
        "jira:business rule:2026-12-01",
        "servicenow:business rule:2026-12-01",
        "jira:business rule:2026-12-02",
        "servicenow:business rule:2026-12-02",
    ]


def test_passing_checks_alert_nothing(connector, database):
    assert drift.run(connector, {"jira": doctor(Check("workflow", True))} | {"servicenow": doctor()}) == (
        "ecm_drift_problems=0"
    )
    assert audit_actions(database) == [] and outbox(database) == []


def flaky(*answers: list[Check]):
    """A doctor answering each list in turn, then the last one again."""
    calls = []

    def run(mapping, gateway, settings=None):
        calls.append(1)
        return list(answers[min(len(calls), len(answers)) - 1])

    run.calls = calls
    return run


RATE_LIMITED = Check("workflow", False, "search workflows: HTTP 429: Rate limit exceeded.", transient=True)


def test_a_check_the_tool_answered_429_is_checked_again_and_is_not_drift(connector, database):
    jira = flaky([RATE_LIMITED], [Check("workflow", True)])
    pauses = []
    summary = drift.run(connector, {"jira": jira, "servicenow": doctor()}, sleep=pauses.append)
    assert summary == "ecm_drift_problems=0"
    assert len(jira.calls) == 2 and len(pauses) == 1
    assert audit_actions(database) == [] and outbox(database) == []


def test_a_check_the_tool_never_answered_is_reported_as_cannot_check_not_as_drift(connector, database):
    jira = flaky([RATE_LIMITED])
    summary = drift.run(connector, {"jira": jira, "servicenow": doctor()}, sleep=lambda _: None)
    assert summary == "ecm_drift_problems=0 cannot_check=1"
    assert len(jira.calls) == 1 + len(RETRY_PAUSES)
    assert audit_actions(database) == ["drift-cannot-check"]
    assert outbox(database) == []  # nobody is alerted of drift


def test_a_real_problem_found_while_another_check_was_rate_limited_is_still_drift(connector, database):
    broken = Check("business rule", False, "inactive", "ecm install")
    jira = flaky([RATE_LIMITED, broken])
    summary = drift.run(connector, {"jira": jira, "servicenow": doctor()}, sleep=lambda _: None)
    assert summary == "ecm_drift_problems=1 cannot_check=1"
    assert sorted(audit_actions(database)) == ["drift-cannot-check", "drift-detected"]
