"""Deadlines are shown in the organisation's calendar zone with UTC beside them: a post-mortem due at the
end of 4 December in New York reads so, not only as 5 December 04:59 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connector.evidence.packet import build_packet
from connector.evidence.render_html import packet_page
from connector.evidence.rulebook import RuleBook, ToolRules
from connector.procedure.calendar import BusinessCalendar

from .evidence_lifecycle import NOW
from .test_dashboard import log_in

NEW_YORK = ZoneInfo("America/New_York")


def new_york() -> RuleBook:
    return RuleBook({"jira": ToolRules(calendar=BusinessCalendar(NEW_YORK))}, clock=lambda: NOW)


def test_the_packet_names_its_zone_and_shows_the_postmortem_deadline_in_it(database, drive):
    drive.until_deployed()
    with database.session() as session:
        packet = build_packet(session, "EMG-1", new_york())
    due = packet["change"]["postmortem"]["due_at"]
    assert packet["time_zone"] == "America/New_York"
    page = packet_page(packet)
    local = datetime.fromisoformat(due).astimezone(NEW_YORK)
    shown = f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({due[:16].replace('T', ' ')} UTC)"
    assert f"due {shown}" in page
    [row] = [e for e in packet["timeline"] if e["event"] == "post-mortem due"]
    assert row["detail"] == f"{local:%Y-%m-%d %H:%M %Z} in the organisation's calendar"


def test_the_rules_evidence_shows_its_times_in_the_calendar_zone_with_utc_beside(database, drive):
    drive.whole_lifecycle()
    with database.session() as session:
        packet = build_packet(session, "EMG-1", new_york())
    rules = {r["rule"]: r["evidence"] for r in packet["rules"]}
    due = datetime.fromisoformat(packet["change"]["postmortem"]["due_at"]).astimezone(NEW_YORK)
    assert f"due {due:%Y-%m-%d %H:%M} EST ({due.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" in rules["R7"]
    assert " EST (" in rules["R6"] and " EST (" in rules["R2"] and " EST (" in rules["R10"]
    assert not any("+00:00" in text for text in rules.values())
    page = packet_page(packet)
    assert f"due {due:%Y-%m-%d %H:%M} EST" in page


def test_a_utc_calendar_shows_utc_only_once(database, drive):
    drive.until_deployed()
    with database.session() as session:
        packet = build_packet(session, "EMG-1", RuleBook(clock=lambda: NOW))
    assert packet["time_zone"] == "UTC"
    due = packet["change"]["postmortem"]["due_at"]
    assert f"due {due[:16].replace('T', ' ')} UTC," in packet_page(packet)


def test_the_dashboard_shows_deadlines_in_the_calendar_zone(client, connector, drive, monkeypatch):
    import connector.web.dashboard as dashboard

    drive.until_deployed()
    monkeypatch.setattr(dashboard, "rulebook", new_york)
    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    postmortems = page[page.index('id="postmortems"') : page.index('id="verbal"')]
    assert " EST (" in postmortems and " UTC)" in postmortems
