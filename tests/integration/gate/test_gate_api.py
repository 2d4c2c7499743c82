"""`GET /api/changes/{key}/gate?to=STAGE`: what a pipeline is told, with which token, for bad questions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from connector.config import Settings
from connector.procedure.model import Stage
from connector.web.app import create_app
from connector.web.openapi import document
from tests.integration.evidence.evidence_lifecycle import ADMIN_TOKEN, NOW, at

GATE_TOKEN = "gate-token-for-pipelines-0123456789"


def test_a_change_waiting_for_approval_may_not_deploy_and_is_told_why(client, auth, drive):
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    answer = client.get("/api/changes/EMG-1/gate?to=deployed", headers=auth)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["allowed"] is False and body["stage"] == "awaiting_approval" and body["to"] == "deployed"
    rules = {v["rule"]: v for v in body["violations"]}
    assert set(rules) == {"R2", "R5", "R6"}
    assert rules["R5"]["step"] == 3
    assert "peer review by someone other than the engineer" in rules["R5"]["missing"]


def test_a_deployed_change_may_deploy_and_close_waits_for_the_retroactive_items(client, auth, drive):
    drive.until_deployed()
    assert client.get("/api/changes/EMG-1/gate?to=deployed", headers=auth).get_json() == {
        "key": "EMG-1",
        "tool": "jira",
        "stage": "deployed",
        "to": "deployed",
        "allowed": True,
        "violations": [],
    }
    closing = client.get("/api/changes/EMG-1/gate?to=closed", headers=auth).get_json()
    assert closing["allowed"] is False
    (r8,) = [v for v in closing["violations"] if v["rule"] == "R8"]
    assert r8["missing"] == [
        "post-mortem task done with a report link",
        "Pull Request link",
        "standard change documentation",
    ]


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/api/changes/EMG-1/gate", 400, "to: missing; must be one of approved, deployed, closed"),
        ("/api/changes/EMG-1/gate?to=", 400, "to: missing; must be one of approved, deployed, closed"),
        ("/api/changes/EMG-1/gate?to=prod", 400, "to: 'prod' is not a gate stage"),
        ("/api/changes/EMG-1/gate?to=reviewed", 400, "to: 'reviewed' is not a gate stage"),
        ("/api/changes/NOPE-9/gate?to=deployed", 404, "no emergency change 'NOPE-9' is recorded"),
        ("/api/changes/EMG-1/gate?to=deployed&tool=servicenow", 404, "no emergency change 'EMG-1'"),
    ],
)
def test_a_bad_question_gets_a_clear_error(client, auth, drive, url, status, detail):
    drive.register()
    answer = client.get(url, headers=auth)
    assert answer.status_code == status
    assert answer.get_json()["detail"].startswith(detail)


def test_a_missing_stage_is_refused_by_the_document_as_well(auth):
    spec = OpenAPI.from_dict(document())
    request = WerkzeugOpenAPIRequest(
        Request(EnvironBuilder("/api/changes/EMG-1/gate", headers=auth).get_environ())
    )
    with pytest.raises(Exception, match="to"):
        spec.validate_request(request)


@pytest.fixture
def gated(database):
    settings = Settings(admin_token=ADMIN_TOKEN, gate_token=GATE_TOKEN, jira_webhook_secret="s")
    app = create_app(
        SimpleNamespace(settings=settings, database=database, tools={}, clock=lambda: NOW),
        config={"TESTING": True},
    )
    return app.test_client()


def test_the_gate_token_opens_the_gate_and_nothing_else(gated, drive):
    drive.register()
    bearer = {"Authorization": f"Bearer {GATE_TOKEN}"}
    assert gated.get("/api/changes/EMG-1/gate?to=approved", headers=bearer).status_code == 200
    for url in ("/api/changes", "/api/changes/EMG-1", "/api/changes/EMG-1/evidence", "/api/metrics/summary"):
        assert gated.get(url, headers=bearer).status_code == 401, url
    dashboard = gated.get("/dashboard", headers=bearer)
    assert dashboard.status_code == 302 and "/dashboard/login" in dashboard.headers["Location"]


def test_the_admin_token_opens_the_gate_too_and_a_wrong_token_does_not(gated, drive):
    drive.register()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert gated.get("/api/changes/EMG-1/gate?to=approved", headers=admin).status_code == 200
    wrong = gated.get("/api/changes/EMG-1/gate?to=approved", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == 'Bearer realm="ecm-gate"'
    assert GATE_TOKEN not in wrong.get_data(as_text=True)


def test_without_any_token_configured_the_gate_stays_closed(database, drive):
    drive.register()
    settings = Settings(jira_webhook_secret="s")
    app = create_app(SimpleNamespace(settings=settings, database=database, tools={}, clock=lambda: NOW))
    answer = app.test_client().get(
        "/api/changes/EMG-1/gate?to=approved", headers={"Authorization": "Bearer x"}
    )
    assert answer.status_code == 503 and "ECM_GATE_TOKEN" in answer.get_json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/changes/EMG-1/gate?to=approved",
        "/api/changes/EMG-1/gate?to=deployed",
        "/api/changes/EMG-1/gate?to=closed",
        "/api/changes/EMG-1/gate?to=closed&tool=jira",
        "/api/changes/EMG-1/gate?to=nope",
        "/api/changes/NOPE/gate?to=closed",
    ],
)
def test_gate_answers_validate_against_the_document(connector, auth, drive, url):
    drive.until_deployed()
    app = create_app(connector, config={"TESTING": True})
    spec = OpenAPI.from_dict(document())
    openapi_request = WerkzeugOpenAPIRequest(Request(EnvironBuilder(url, headers=auth).get_environ()))
    response = app.test_client().get(url, headers=auth)
    response.make_sequence()
    spec.validate_response(openapi_request, WerkzeugOpenAPIResponse(response))
