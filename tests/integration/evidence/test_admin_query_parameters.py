"""The admin API and its OpenAPI document agree on every query parameter: what the document refuses,
the API refuses with a 400 naming the parameter, and what the document accepts, the API accepts."""

from __future__ import annotations

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.exceptions import OpenAPIError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from connector.web.openapi import document

from .evidence_lifecycle import Driver


def documented(url: str, headers: dict) -> bool:
    """Whether the OpenAPI document accepts this request."""
    spec = OpenAPI.from_dict(document())
    request = WerkzeugOpenAPIRequest(Request(EnvironBuilder(url, headers=headers).get_environ()))
    try:
        spec.validate_request(request)
    except OpenAPIError:
        return False
    return True


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/changes?overdue=null", "overdue: must be true or false"),
        ("/api/changes?overdue=", "overdue: must be true or false"),
        ("/api/changes?overdue=maybe", "overdue: must be true or false"),
        ("/api/changes?cursor=abc", "cursor: must be a whole number"),
        ("/api/changes?cursor=", "cursor: must be a whole number"),
        ("/api/changes?cursor=0", "cursor: must be a change id"),
        ("/api/changes?limit=", "limit: must be a whole number"),
        ("/api/evidence/population?to=", "to: must be a date YYYY-MM-DD"),
        ("/api/evidence/population?from=&to=2026-12-31", "from: must be a date YYYY-MM-DD"),
        ("/api/metrics/summary?to=2026-13-01", "to: must be a date YYYY-MM-DD"),
    ],
)
def test_a_value_the_document_refuses_is_a_400_naming_the_parameter(client, auth, url, detail):
    assert not documented(url, auth)
    response = client.get(url, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    "url",
    [
        "/api/changes?overdue=true",
        "/api/changes?overdue=false",
        "/api/changes?overdue=1",
        "/api/changes?cursor=1&limit=1",
        "/api/evidence/population?from=2026-12-01&to=2026-12-31",
        "/api/metrics/summary",
    ],
)
def test_a_value_the_document_accepts_is_answered(client, auth, database, url):
    Driver(database).until_deployed()
    assert documented(url, auth)
    assert client.get(url, headers=auth).status_code == 200


def test_the_next_cursor_is_a_whole_number_that_pages_on(client, auth, database):
    for n in range(3):
        Driver(database, key=f"EMG-{n}").until_deployed()
    first = client.get("/api/changes?limit=2", headers=auth).get_json()
    assert isinstance(first["next_cursor"], int)
    second = client.get(f"/api/changes?limit=2&cursor={first['next_cursor']}", headers=auth).get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
