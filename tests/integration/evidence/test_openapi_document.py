"""The OpenAPI document matches the app: the same /api routes, and real responses validate against it."""

from __future__ import annotations

import re

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from connector.web.app import create_app
from connector.web.openapi import document

from .evidence_lifecycle import Driver


def flask_paths(app) -> set[str]:
    return {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }


def test_every_api_route_is_documented_and_every_documented_path_is_a_route(connector):
    app = create_app(connector, config={"TESTING": True})
    assert flask_paths(app) == set(document()["paths"])


def test_document_is_valid_openapi_and_is_served(client):
    OpenAPI.from_dict(document())  # raises on an invalid document
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json["openapi"].startswith("3.")


@pytest.fixture
def lifecycle(database):
    Driver(database).whole_lifecycle()
    Driver(database, key="EMG-2").until_deployed()


@pytest.mark.parametrize(
    "url",
    [
        "/api/changes",
        "/api/changes?overdue=true&limit=1",
        "/api/changes/EMG-1",
        "/api/changes/EMG-1/evidence",
        "/api/changes/EMG-1/evidence?format=html",
        "/api/changes/NOPE",
        "/api/changes?limit=0",
        "/api/evidence/population?from=2026-12-01&to=2026-12-31",
        "/api/evidence/population?from=2026-12-01&to=2026-12-31&format=csv",
        "/api/metrics/summary",
        "/api/openapi.json",
    ],
)
def test_responses_validate_against_the_document(connector, auth, lifecycle, url):
    app = create_app(connector, config={"TESTING": True})
    spec = OpenAPI.from_dict(document())
    openapi_request = WerkzeugOpenAPIRequest(Request(EnvironBuilder(url, headers=auth).get_environ()))
    response = app.test_client().get(url, headers=auth)
    response.make_sequence()
    spec.validate_response(openapi_request, WerkzeugOpenAPIResponse(response))


def test_unauthorised_answer_validates_against_the_document(connector):
    app = create_app(connector, config={"TESTING": True})
    spec = OpenAPI.from_dict(document())
    openapi_request = WerkzeugOpenAPIRequest(Request(EnvironBuilder("/api/changes").get_environ()))
    response = app.test_client().get("/api/changes")
    assert response.status_code == 401
    spec.validate_response(openapi_request, WerkzeugOpenAPIResponse(response))
