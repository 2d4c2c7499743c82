"""Schemathesis against `/api/openapi.json`, over the Flask app through WSGI, with the admin token and a
database holding a closed and a deployed change: every documented operation, with generated parameters
(valid and invalid), answers as the document says (status, content type, body shape), never a 5xx."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as examples
from schemathesis import GenerationMode

from connector.web.app import create_app
from connector.web.openapi import document

from .evidence_lifecycle import ADMIN_TOKEN, NOW, Driver

pytestmark = pytest.mark.slow
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
OPERATIONS = [  # invalid requests only where there is something to get wrong
    (path, method, mode)
    for path, item in document()["paths"].items()
    for method, operation in item.items()
    for mode in ((POSITIVE, NEGATIVE) if operation.get("parameters") else (POSITIVE,))
]
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def refused_period(query: dict) -> bool:
    """Whether `from` / `to` name no period: `to` (default the connector's today) before `from`, or a
    last day without a next day or 90 days before it."""
    try:
        first = date.fromisoformat(query["from"]) if isinstance(query.get("from"), str) else None
        last = date.fromisoformat(query["to"]) if isinstance(query.get("to"), str) else NOW.date()
    except ValueError:
        return False  # not a date: the schema's own business
    if last == date.max or (first is None and last < date.min + timedelta(days=90)):
        return True
    return first is not None and first > last


@pytest.fixture
def api_schema(connector, database):
    Driver(database).whole_lifecycle()
    Driver(database, key="EMG-2").until_deployed()
    app = create_app(connector)  # not TESTING: an unexpected error is the 500 a client would see
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.mark.parametrize(
    ("path", "method", "mode"), OPERATIONS, ids=[f"{m.upper()} {p} {g.value}" for p, m, g in OPERATIONS]
)
def test_every_operation_answers_as_the_document_says(api_schema, path, method, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @examples(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def answers(case):
        if mode is POSITIVE and refused_period(case.query or {}):  # beyond what a schema can say
            response = case.call(headers=AUTH)
            assert response.status_code == 400, response.text
            assert set(response.json()) == {"error", "detail"} and response.json()["detail"].startswith("to:")
            return
        # a parameter with no values is not sent at all: the request would be valid after all
        assume(all(value != [] for value in (case.query or {}).values()))
        case.call_and_validate(headers=AUTH)

    answers()
