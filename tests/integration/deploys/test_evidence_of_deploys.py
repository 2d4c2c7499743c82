"""The evidence of pipeline deploys: the packet shows them beside the ticket's deploy, a deploy before the
approvals stood (R9), the population export names each bypass change, the summary counts bypasses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector import commands as c
from connector import services
from connector.evidence.overview import recent_bypasses
from connector.evidence.packet import build_packet
from connector.evidence.population import population
from connector.evidence.rulebook import RuleBook
from connector.evidence.summary import summary
from connector.procedure.model import Stage
from connector.store.uow import UnitOfWork
from tests.integration.deploys.test_github_deploys import (
    DEPLOYED_AT,
    actions,
    deliver,
    reviewed,
    status,
    tools_for,
)
from tests.integration.evidence.evidence_lifecycle import Driver, at
from tests.integration.evidence.test_dashboard import log_in

NOW = datetime(2026, 12, 10, tzinfo=UTC)
BOOK = RuleBook(clock=lambda: NOW)


def packet(database, key):
    with database.session() as session:
        return build_packet(session, key, BOOK)


def test_the_packet_shows_the_pipeline_deploy_beside_the_tickets(database):
    tools = tools_for(reviewed(database))
    deliver(database, tools, "deployment_status", status(payload={"change": "EMG-2"}), "g-1")

    found = packet(database, "EMG-2")

    [deploy] = found["deploys"]
    assert (deploy["outcome"], deploy["environment"], deploy["bypass"]) == ("recorded", "production", False)
    assert deploy["url"].endswith("/statuses/1") and found["change"]["deployed_at"] == deploy["deployed_at"]
    events = [e["event"] for e in found["timeline"]]
    assert "deployed" in events and "deployed by a pipeline" in events
    assert next(r for r in found["rules"] if r["rule"] == "R6")["status"] == "held"


def test_a_pipeline_deploy_before_the_approvals_stood(database):
    drive = Driver(database)
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    deliver(database, tools_for(drive), "deployment_status", status(payload={"change": "EMG-1"}), "g-1")

    found = packet(database, "EMG-1")

    rules = {r["rule"]: r for r in found["rules"]}
    assert rules["R6"]["status"] == "violated"
    assert rules["R9"]["exceptions"][0]["outcome"] == "stood (deployed by a pipeline)"
    assert rules["R9"]["status"] == "violated"
    with database.session() as session:  # the population export says what the packet says
        [row] = population(session, at(1) - timedelta(days=1), NOW, BOOK)
    assert (row.blocked_or_reverted, row.stood, row.compliance) == (0, 1, "non-compliant")
    assert f"R9: {rules['R9']['evidence']}" in row.reasons.split(" | ")


def test_bypasses_are_listed_in_the_population_and_counted_in_the_summary(database):
    drive = reviewed(database)
    tools = tools_for(drive)
    deliver(database, tools, "deployment_status", status(payload={"change": "EMG-2"}), "g-1")
    deliver(database, tools, "deployment_status", status(deployment_id=77), "g-2")
    [bypass] = actions(database, "open_bypass")
    with UnitOfWork(database) as uow:
        opened = c.RegisterBypass(
            "jira", "EMG-9", "ecm-bot", at(3), "outbox:9", deploy=bypass.deploy, title=bypass.summary
        )
        services.handle(uow, opened, drive.ctx)
        uow.commit()

    assert packet(database, "EMG-9")["change"]["bypass"] is True
    with database.session() as session:
        rows = {row.key: row for row in population(session, at(1) - timedelta(days=1), NOW, BOOK)}
        figures = summary(session, at(1) - timedelta(days=1), NOW, NOW)
    assert rows["EMG-9"].bypass == "Codertocat/Hello-World to production (Codertocat/Hello-World#77)"
    assert rows["EMG-9"].compliance == "non-compliant" and "R6" in rows["EMG-9"].reasons
    assert rows["EMG-2"].bypass == ""
    assert (figures["production_deploys"], figures["bypasses"]) == (2, 1)
    with database.session() as session:
        [listed] = recent_bypasses(session)
    assert (listed["key"], listed["named"], listed["deployed_at"]) == ("EMG-9", None, DEPLOYED_AT)


def test_the_dashboard_lists_bypasses_and_the_packet_page_marks_one(database, client):
    drive = Driver(database)
    deliver(database, tools_for(drive), "deployment_status", status(deployment_id=77), "g-1")
    [bypass] = actions(database, "open_bypass")
    with UnitOfWork(database) as uow:
        opened = c.RegisterBypass("jira", "EMG-9", "ecm-bot", at(3), "outbox:9", deploy=bypass.deploy)
        services.handle(uow, opened, drive.ctx)
        uow.commit()
    log_in(client)

    page = client.get("/dashboard").get_data(as_text=True)
    evidence = client.get("/dashboard/changes/EMG-9/evidence").get_data(as_text=True)

    assert "Production deploys without an approved change (bypasses)" in page
    assert "evidence for EMG-9" in page and "Codertocat/Hello-World" in page
    assert "Production deploys reported by pipelines" in evidence and ">bypass<" in evidence


def test_a_pipeline_report_of_a_change_deployed_from_the_ticket_is_shown_beside_it(database):
    drive = Driver(database)
    drive.until_deployed()  # deployed from the ticket on 1 Dec, 19:00
    deliver(database, tools_for(drive), "deployment_status", status(payload={"change": "EMG-1"}), "g-1")

    found = packet(database, "EMG-1")

    assert found["change"]["deployed_at"] == "2026-12-01T19:00:00.000000Z"  # the ticket's deploy stands
    [deploy] = found["deploys"]
    assert (deploy["deployed_at"], deploy["outcome"]) == ("2026-12-02T15:00:00.000000Z", "recorded")
    assert actions(database, "open_bypass") == [] and actions(database, "transition") == []


def test_the_packet_and_population_with_deploys_validate_against_the_api_document(database, connector, auth):
    from openapi_core import OpenAPI
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from connector.web.app import create_app
    from connector.web.openapi import document

    drive = reviewed(database)
    deliver(database, tools_for(drive), "deployment_status", status(payload={"change": "EMG-2"}), "g-1")
    app, spec = create_app(connector, config={"TESTING": True}), OpenAPI.from_dict(document())
    for url in ("/api/changes/EMG-2/evidence", "/api/evidence/population?from=2026-11-01&to=2026-12-31"):
        response = app.test_client().get(url, headers=auth)
        response.make_sequence()
        request = WerkzeugOpenAPIRequest(Request(EnvironBuilder(url, headers=auth).get_environ()))
        spec.validate_response(request, WerkzeugOpenAPIResponse(response))
        assert response.status_code == 200
    assert response.json["summary"]["production_deploys"] == 1
