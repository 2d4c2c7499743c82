"""A GitHub deployment_protection_rule is answered by the gate through its callback: approved when the
change it names may be deployed now, rejected naming what is missing, once, retried through the outbox."""

from __future__ import annotations

import json
import logging

import responses
from sqlalchemy import select

from connector.bootstrap import Connector
from connector.cli.install import pipeline_checks
from connector.config import Settings
from connector.dispatch import Dispatcher
from connector.inbound.github import parse_github
from connector.procedure.model import Stage
from connector.services import deliveries
from connector.services.deliveries import Intake
from connector.store.tables import DeliveryRow, OutboxRow
from connector.store.uow import UnitOfWork
from tests import github_examples as gh
from tests.integration.deploys.test_github_deploys import DEPLOYED_AT, MAPPING, reviewed, tools_for
from tests.integration.evidence.evidence_lifecycle import Driver, at
from tests.unit.github.test_github_gateway import (
    CALLBACK,
    PEM,
    TOKEN_URL,
    documented_review,
    documented_token_request,
)


def ask(database, tools, *, payload, delivery="p-1", environment="production", callback=CALLBACK) -> str:
    body = gh.protection_rule(payload=payload, environment=environment, callback=callback)
    headers = gh.github_headers("deployment_protection_rule", body, delivery)
    parsed_delivery, parsed = parse_github(headers, body, received_at=DEPLOYED_AT)
    return deliveries.receive(database, tools, parsed_delivery, parsed)


def answers(database) -> list[OutboxRow]:
    with UnitOfWork(database) as uow:
        found = list(
            uow.session.scalars(select(OutboxRow).where(OutboxRow.action == "answer_protection_rule"))
        )
        uow.session.expunge_all()
        return found


def dispatch(database, tools) -> None:
    settings = Settings(github_app_id="123456", github_app_private_key=PEM)
    Dispatcher(Connector(settings, database, tools, lambda: DEPLOYED_AT), clock=lambda: DEPLOYED_AT).run()


@responses.activate
def test_a_reviewed_change_is_approved_through_the_callback(database):
    responses.add_callback(responses.POST, TOKEN_URL, callback=documented_token_request)
    responses.add_callback(responses.POST, CALLBACK, callback=documented_review)
    drive = reviewed(database)
    tools = tools_for(drive)

    assert ask(database, tools, payload={"change": "EMG-2"}) == "handled"
    dispatch(database, tools)

    [row] = answers(database)
    assert row.status == "done", row.last_error
    sent = json.loads(responses.calls[-1].request.body)
    assert (sent["environment_name"], sent["state"]) == ("production", "approved")
    assert "EMG-2 may be deployed" in sent["comment"]


def test_a_change_in_review_is_rejected_naming_what_is_missing(database):
    drive = Driver(database)
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    tools = tools_for(drive)

    ask(database, tools, payload={"change": "EMG-1"})

    [row] = answers(database)
    assert row.payload["state"] == "rejected"
    assert "R2" in row.payload["comment"] and "Missing:" in row.payload["comment"]


def test_a_deployment_naming_nothing_is_rejected_and_another_environment_approved(database):
    tools = tools_for(Driver(database))

    ask(database, tools, payload={})
    ask(database, tools, payload={}, delivery="p-2", environment="staging", callback=CALLBACK + "?staging")

    states = {row.payload["environment"]: row.payload for row in answers(database)}
    assert (
        states["production"]["state"] == "rejected"
        and "names no emergency change" in (states["production"]["comment"])
    )
    assert states["staging"]["state"] == "approved"


@responses.activate
def test_a_repeated_request_is_answered_once_and_an_outage_is_retried(database):
    responses.add_callback(responses.POST, TOKEN_URL, callback=documented_token_request)
    responses.add(responses.POST, CALLBACK, status=503)
    drive = reviewed(database)
    tools = tools_for(drive)

    ask(database, tools, payload={"change": "EMG-2"}, delivery="p-1")
    ask(database, tools, payload={"change": "EMG-2"}, delivery="p-2")  # GitHub sends it again
    dispatch(database, tools)

    [row] = answers(database)
    assert row.status == "pending" and row.attempts == 1 and "HTTP 503" in row.last_error


def test_without_the_github_app_a_rule_is_recorded_unanswered_and_the_admin_is_told(database, caplog):
    drive = reviewed(database)
    connector = Connector(Settings(), database, tools_for(drive), lambda: DEPLOYED_AT)
    body = gh.protection_rule(payload={"change": "EMG-2"})
    parsed_delivery, parsed = parse_github(
        gh.github_headers("deployment_protection_rule", body, "p-9"), body, received_at=DEPLOYED_AT
    )

    with caplog.at_level(logging.ERROR, logger="connector.services.protection"):
        assert Intake(connector).receive(parsed_delivery, parsed) == "ignored"

    assert answers(database) == []  # no row that could only die after its retries
    with UnitOfWork(database) as uow:
        [row] = uow.session.scalars(select(DeliveryRow).where(DeliveryRow.delivery_id == "p-9"))
        detail = row.detail
    assert "GitHub App is not configured" in detail
    assert "ECM_GITHUB_APP_ID and ECM_GITHUB_APP_PRIVATE_KEY" in detail
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "ECM_GITHUB_APP_PRIVATE_KEY" in record.detail


def test_doctor_names_the_github_app_settings_a_protection_rule_needs():
    mapping = MAPPING
    without = pipeline_checks(mapping, Settings(github_webhook_secret="s", github_app_id="123456"))
    with_app = pipeline_checks(
        mapping, Settings(github_webhook_secret="s", github_app_id="123456", github_app_private_key=PEM)
    )

    [check] = without
    assert not check.ok and check.fix.startswith("set ECM_GITHUB_APP_PRIVATE_KEY")
    assert [c.ok for c in with_app] == [True]
    assert pipeline_checks(mapping, Settings()) == []  # GitHub's webhook is not accepted at all
