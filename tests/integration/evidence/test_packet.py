"""The evidence packet of a change that went through the whole lifecycle holds every item auditors ask for."""

from __future__ import annotations

from sqlalchemy import update

from connector.evidence.packet import build_packet
from connector.evidence.population import NON_COMPLIANT, population
from connector.evidence.render_html import packet_page
from connector.evidence.rulebook import RuleBook
from connector.store.tables import AuditRow, OutboxRow

from .evidence_lifecycle import NOW, Driver, at


def packet_of(database, key="EMG-1"):
    with database.session() as session:
        return build_packet(session, key, RuleBook(clock=lambda: NOW))


def test_packet_of_a_closed_change_holds_the_change_rules_approvals_and_timeline(database, drive):
    drive.whole_lifecycle()
    packet = packet_of(database)
    change = packet["change"]
    assert (change["tool"], change["key"], change["category"]) == ("jira", "EMG-1", "Service outage")
    assert change["link"] == "https://jira.example.com/browse/EMG-1"
    assert change["impact"] == "Nobody can pay"
    assert [r["rule"] for r in packet["rules"]] == [f"R{n}" for n in range(1, 11)]
    statuses = {r["rule"]: r["status"] for r in packet["rules"]}
    assert all(statuses[r] == "held" for r in ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R10"))
    assert statuses["R9"] == "held"  # the early deploy was reverted: the control worked
    [r9] = [r for r in packet["rules"] if r["rule"] == "R9"]
    assert [(x["attempted"], x["outcome"]) for x in r9["exceptions"]] == [("deployed", "reverted")]
    verbal = next(a for a in packet["approvals"] if a["method"] == "verbal")
    assert (verbal["approver"], verbal["role"], verbal["channel"]) == ("lead.liam", "lead", "phone")
    assert verbal["granted_at"].startswith("2026-12-01T12:00")
    assert verbal["confirmed_at"].startswith("2026-12-01T15:00")
    assert verbal["confirmation_lag_seconds"] == 3 * 3600
    events = [e["event"] for e in packet["timeline"]]
    for wanted in (
        "created",
        "leads and security notified",
        "lead approval granted",
        "lead approval confirmed in writing",
        "security approval granted",
        "peer review",
        "security review",
        "deployed",
        "post-mortem created",
        "post-mortem due",
        "post-mortem done",
        "closed",
        "violation reverted",
    ):
        assert wanted in events, wanted
    closed = next(e for e in packet["timeline"] if e["event"] == "closed")
    assert "https://git.example.com/shop/pull/7" in closed["detail"]
    assert "https://wiki.example.com/changes/1" in closed["detail"]
    assert packet["change"]["postmortem"]["report_url"] == "https://wiki.example.com/pm/1"


def test_packet_lists_reverts_notifications_and_verified_audit_entries(database, drive):
    drive.whole_lifecycle()
    packet = packet_of(database)
    revert = packet["violations"][0]
    assert revert["reverted"] and "R6" in revert["rules"] and revert["to_stage"] == "deployed"
    sources = {n["source"] for n in packet["notifications"]}
    assert sources == {"alert", "jira notify (delivered)"}
    assert any(
        n["kind"] == "created" and "engineering-leads" in n["recipients"] for n in packet["notifications"]
    )
    audit = packet["audit"]
    assert audit["chain"]["ok"] and audit["entries_intact"]
    assert len(audit["entries"]) >= 10
    assert all(len(e["hash"]) == 64 and e["hash_ok"] for e in audit["entries"])


def test_packet_only_holds_the_audit_entries_of_its_own_change(database, drive):
    drive.whole_lifecycle()
    Driver(database, key="EMG-2").register()
    keys = {e["change_key"] for e in packet_of(database)["audit"]["entries"]}
    assert keys == {"EMG-1"}


def test_edited_audit_row_shows_in_the_packet_as_tampered(database, drive):
    drive.whole_lifecycle()
    with database.session() as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 3).values(actor="someone.else"))
        session.commit()
    packet = packet_of(database)
    assert not packet["audit"]["chain"]["ok"]
    assert packet["audit"]["chain"]["first_bad_seq"] == 3
    edited = [e for e in packet["audit"]["entries"] if not e["hash_ok"]]
    assert [e["seq"] for e in edited] == [3]
    assert "TAMPERED" in packet_page(packet) and "EDITED" in packet_page(packet)


def test_html_packet_is_one_self_contained_printable_page_naming_the_controls(database, drive):
    drive.whole_lifecycle()
    page = packet_page(packet_of(database))
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    assert "SOC 2 CC8.1" in page and "HIPAA 45 CFR 164.312(b)" in page
    assert "@media print" in page
    scripts = page.count("<script")
    assert scripts == page.count('<script type="application/json" id="ecm-packet">') == 1  # data, never run
    assert "<link" not in page and "src=" not in page
    assert 'href="https://jira.example.com/browse/EMG-1"' in page
    assert '<th scope="col">Rule</th>' in page


def test_text_typed_into_the_ticket_is_escaped_in_the_html_packet(database):
    driver = Driver(database, key="EMG-9")
    driver.register(title="<script>alert(1)</script>")
    page = packet_page(packet_of(database, "EMG-9"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_an_attempt_whose_revert_went_dead_stood_and_violates_r9(database, drive):
    drive.whole_lifecycle()
    with database.engine.begin() as connection:
        connection.execute(update(OutboxRow).where(OutboxRow.action == "revert").values(status="dead"))
    [r9] = [r for r in packet_of(database)["rules"] if r["rule"] == "R9"]
    assert r9["status"] == "violated" and "stood" in r9["evidence"]
    assert [x["outcome"] for x in r9["exceptions"]] == ["stood (the revert could not be made)"]
    with database.session() as session:  # the population export says what the packet says
        [row] = population(session, at(1, 0), NOW, RuleBook(clock=lambda: NOW))
    assert (row.blocked_or_reverted, row.stood, row.compliance) == (0, 1, NON_COMPLIANT)
    assert f"R9: {r9['evidence']}" in row.reasons.split(" | ")


def test_a_reverted_attempt_counts_in_the_export_as_blocked_or_reverted_and_the_change_stays_compliant(
    database, drive
):
    drive.whole_lifecycle()
    with database.session() as session:
        [row] = population(session, at(1, 0), NOW, RuleBook(clock=lambda: NOW))
    assert (row.blocked_or_reverted, row.stood, row.compliance) == (1, 0, "compliant")
