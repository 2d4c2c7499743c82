"""An auditor sees who: every person in a packet and on the dashboard is named with the display name and
e-mail the tool gave when the fact was recorded, the account id beside it, even after a rename."""

from __future__ import annotations

import dataclasses

from connector.directory import CachedDirectory
from connector.evidence.packet import build_packet
from connector.evidence.render_html import packet_page
from connector.evidence.rulebook import RuleBook

from .evidence_lifecycle import NOW, Driver, context
from .test_dashboard import log_in

PEOPLE = {
    "eng.emma": ("eng.emma", "Emma Engineer", "emma@example.com"),
    "lead.liam": ("lead.liam", "Liam Lead", "liam@example.com"),
    "sec.sara": ("sec.sara", "Sara Security", "sara@example.com"),
    "peer.pete": ("peer.pete", "Pete Peer", None),
}


def directory(people: dict) -> CachedDirectory:
    members = lambda group: [people["lead.liam"]] if group == "leads" else [people["sec.sara"]]  # noqa: E731
    return CachedDirectory(members, "leads", "security", describe=lambda user: people.get(user))


def packet(database) -> dict:
    with database.session() as session:
        return build_packet(session, "EMG-1", RuleBook(clock=lambda: NOW))


def test_the_packet_names_each_person_with_display_name_and_email_beside_the_account(database):
    Driver(database, ctx=dataclasses.replace(context(), directory=directory(PEOPLE))).whole_lifecycle()
    found = packet(database)
    assert found["people"]["lead.liam"] == {"display_name": "Liam Lead", "email": "liam@example.com"}
    assert found["people"]["eng.emma"]["display_name"] == "Emma Engineer"
    page = packet_page(found)
    assert "Emma Engineer &lt;emma@example.com&gt; (eng.emma)" in page
    assert "Liam Lead &lt;liam@example.com&gt; (lead.liam)" in page
    [r3] = [r for r in found["rules"] if r["rule"] == "R3"]
    assert "Liam Lead <liam@example.com> (lead.liam)" in r3["evidence"]
    created = next(e for e in found["timeline"] if e["event"] == "created")
    assert created["detail"].startswith("by Emma Engineer <emma@example.com> (eng.emma): ")


def test_a_person_renamed_after_the_change_closed_keeps_the_name_recorded_then(database):
    Driver(database, ctx=dataclasses.replace(context(), directory=directory(PEOPLE))).whole_lifecycle()
    renamed = {**PEOPLE, "lead.liam": ("lead.liam", "Liam Renamed", "liam.r@example.com")}
    later = Driver(database, key="EMG-9", ctx=dataclasses.replace(context(), directory=directory(renamed)))
    later.register()
    assert packet(database)["people"]["lead.liam"]["display_name"] == "Liam Lead"


def test_the_dashboard_names_people_too(client, database):
    driver = Driver(database, ctx=dataclasses.replace(context(), directory=directory(PEOPLE)))
    driver.until_deployed()
    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Emma Engineer &lt;emma@example.com&gt; (eng.emma)" in page


def test_the_population_export_names_the_engineer_and_approvers(database):
    from datetime import UTC, datetime

    from connector.evidence.population import population

    Driver(database, ctx=dataclasses.replace(context(), directory=directory(PEOPLE))).whole_lifecycle()
    with database.session() as session:
        rows = list(
            population(
                session, datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), RuleBook()
            )
        )
    [row] = rows
    assert row.engineer == "eng.emma"  # the account id stays in its own column
    assert row.people.startswith("Emma Engineer <emma@example.com> (eng.emma); ")
    assert "Liam Lead <liam@example.com> (lead.liam)" in row.people
