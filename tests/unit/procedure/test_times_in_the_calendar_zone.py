"""The rules' words show each time in the organisation's calendar zone with UTC beside it, as the evidence
packet shows deadlines — never in UTC alone where the calendar has a zone of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connector.procedure.model import Role, Stage
from connector.procedure.policy import Policy
from connector.procedure.rules import check_transition, evaluate
from connector.procedure.rules.base import at as shown

from .procedure_facts import ENGINEER, GROUPS, LEAD, NOW, SECURITY, approval, at, change_at, verbal

NEW_YORK = Policy(zone=ZoneInfo("America/New_York"))


def test_a_moment_is_shown_in_the_zone_with_utc_beside_it_and_alone_in_utc():
    moment = datetime(2026, 12, 5, 4, 59, 59, tzinfo=UTC)
    assert shown(moment, NEW_YORK.zone) == "2026-12-04 23:59 EST (2026-12-05 04:59 UTC)"
    assert shown(moment) == "2026-12-05 04:59 UTC"
    assert shown(None, NEW_YORK.zone) == "-"


def test_summer_time_is_named_as_the_zone_names_it():
    assert shown(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), NEW_YORK.zone) == (
        "2026-07-01 08:00 EDT (2026-07-01 12:00 UTC)"
    )


def test_every_time_in_a_closed_changes_evidence_is_in_the_calendar_zone_with_utc_beside():
    statuses = evaluate(change_at(Stage.CLOSED), GROUPS, NOW, NEW_YORK)
    texts = {rule: s.evidence for rule, s in statuses.items()}
    assert (
        texts["R6"]
        == "deployed 2026-11-23 05:00 EST (2026-11-23 10:00 UTC), after both approvals and both reviews"
    )
    assert "notified 2026-11-23 04:01 EST (2026-11-23 09:01 UTC)" in texts["R1"]
    assert "written 2026-11-23 04:10 EST (2026-11-23 09:10 UTC)" in texts["R2"]
    assert "due 2026-12-01 04:00 EST (2026-12-01 09:00 UTC)" in texts["R7"]
    assert "peer review by peer.pat 2026-11-23 04:40 EST (2026-11-23 09:40 UTC)" in texts["R5"]
    assert not any("+00:00" in text or "T0" in text for text in texts.values())


def test_an_overdue_post_mortem_names_its_deadline_in_the_calendar_zone():
    change = change_at(Stage.POSTMORTEM)
    status = evaluate(change, GROUPS, NOW.replace(month=12, day=2), NEW_YORK)["R10"]
    assert status.evidence == "post-mortem overdue since 2026-12-01 04:00 EST (2026-12-01 09:00 UTC)"


def test_an_unconfirmed_verbal_approval_names_its_confirm_by_in_the_calendar_zone():
    change = replace(
        change_at(Stage.APPROVED),
        approvals=(verbal(LEAD, Role.LEAD, at(60)), approval(SECURITY, Role.SECURITY)),
    )
    late = evaluate(change, GROUPS, at(61), NEW_YORK)["R4"]
    assert late.status == "violated"
    assert "not confirmed in writing by 2026-11-23 05:00 EST (2026-11-23 10:00 UTC)" in late.evidence
    decision = check_transition(change, Stage.IN_REVIEW, ENGINEER, GROUPS, at(61), NEW_YORK)
    [message] = [v.message for v in decision.violations if v.rule == "R4"]
    assert message.endswith("by 2026-11-23 05:00 EST (2026-11-23 10:00 UTC).")
