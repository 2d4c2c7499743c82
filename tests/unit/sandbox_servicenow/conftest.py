"""Fixtures for the ServiceNow sandbox unit tests: the Flask app in-process, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from sandbox.servicenow import create_app
from sandbox.servicenow.engine import Instance

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Caller:
    """Calls the Table API as one seeded user (password = user name)."""

    def __init__(self, client: FlaskClient, user: str) -> None:
        self.client, self.auth = client, (user, user)

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": _basic(*self.auth), "Accept": "application/json"}
        return self.client.open(path, method=method, headers=headers, **kwargs)


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


APPROVER_GROUPS = ("Engineering Leads", "Security Team")


@pytest.fixture
def app():
    """An instance whose emergency change model asks Engineering Leads and Security Team to authorize
    (an admin's "Other group" choice); `default_app` keeps the model's default (CAB member)."""
    return create_app(instance=Instance(lambda: NOW, emergency_approvers=APPROVER_GROUPS))


@pytest.fixture
def default_app():
    return create_app(clock=lambda: NOW)


@pytest.fixture
def instance(app) -> Instance:
    return app.extensions["servicenow"]


@pytest.fixture
def as_user(app) -> Callable[[str], Caller]:
    client = app.test_client()
    return lambda user: Caller(client, user)


@pytest.fixture
def emma(as_user) -> Caller:
    return as_user("eng.emma")


@pytest.fixture
def bot(as_user) -> Caller:
    return as_user("ecm-bot")
