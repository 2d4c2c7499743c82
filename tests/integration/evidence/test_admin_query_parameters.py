"""The admin API and its OpenAPI document agree on every query parameter: what the document refuses,
the API refuses with a 400 naming the parameter, and what the document accepts, the API accepts."""

from __future__ import annotations

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.exceptions import OpenAPIError
from sqlalchemy import text
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from connector.store.tables import ChangeRow
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
        ("/api/changes?stage=", "stage: must be one of identified"),
        ("/api/changes?status=", "status: must be one of"),
        ("/api/changes?tool=", "tool: must be one of jira, servicenow"),
        ("/api/changes?tool=github", "tool: must be one of jira, servicenow"),
        ("/api/changes?offset=" + "9" * 30, "offset: must be between 0 and 2147483647"),
        ("/api/changes?cursor=2147483648", "cursor: must be a change id"),
        ("/api/changes/EMG-1/evidence?format=xml", "format: must be json or html"),
        ("/api/evidence/population?format=pdf", "format: must be json or csv"),
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


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/evidence/population?from=2026-12-01&to=9999-12-31", "to: must be a date with a day after it"),
        ("/api/metrics/summary?to=0001-01-01", "to: must be a date with a day after it and 90 days before"),
        ("/api/metrics/summary?from=2026-12-31&to=2026-12-01", "to: must not be before from"),
    ],
)
def test_a_period_the_document_cannot_refuse_is_a_400_not_a_crash(client, auth, url, detail):
    assert documented(url, auth)  # each day alone is a valid date
    response = client.get(url, headers=auth)
    assert response.status_code == 400 and response.get_json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/evidence/population?start=2026-12-01", "start: not a query parameter of this endpoint"),
        ("/api/changes?stages=deployed", "stages: not a query parameter of this endpoint (it takes: cursor,"),
        ("/api/changes/EMG-1?format=html", "format: not a query parameter of this endpoint (it takes: tool)"),
        ("/api/metrics/summary?=2026", ": not a query parameter"),
    ],
)
def test_a_mistyped_parameter_is_a_400_naming_it_not_silently_the_default(
    client, auth, database, url, detail
):
    Driver(database).until_deployed()
    response = client.get(url, headers=auth)
    assert response.status_code == 400 and response.get_json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    "url",
    [
        "/api/changes/EMG-1%00/gate?to=approved",
        "/api/changes/EMG-1/gate?to=approved&tool=jira%00",
        "/api/changes/EMG-1%00/evidence",
        "/api/changes?stage=identified%00",
        "/dashboard/changes/EMG-1%00/evidence",
    ],
)
def test_a_nul_character_in_the_address_is_a_400_on_every_database(client, auth, database, url):
    """PostgreSQL cannot hold a NUL in a text value; a query with one was a 500 there and a 404 on SQLite."""
    Driver(database).until_deployed()
    client.application.testing = False  # answer as in production
    response = client.get(url, headers=auth)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "bad request",
        "detail": "the address must not contain a NUL character (%00)",
    }


def test_a_crash_in_the_admin_api_says_it_was_logged_and_nothing_about_deliveries(client, auth, database):
    table = ChangeRow.__tablename__
    with database.engine.begin() as connection:  # the database loses a table under the service
        connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    client.application.testing = False  # answer as in production instead of raising into the test
    try:
        response = client.get("/api/changes", headers=auth)
    finally:  # the PostgreSQL schema is shared by the session's tests
        with database.engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error", "detail": "the error was logged"}
