"""A database with emergency changes driven through the service layer, and an app over it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from connector.config import Settings
from connector.web.app import create_app

from .evidence_lifecycle import ADMIN_TOKEN, NOW, Driver


@pytest.fixture
def drive(database):
    return Driver(database)


@pytest.fixture
def connector(database):
    settings = Settings(admin_token=ADMIN_TOKEN, jira_webhook_secret="s")
    return SimpleNamespace(settings=settings, database=database, tools={}, clock=lambda: NOW)


@pytest.fixture
def client(connector):
    return create_app(connector, config={"TESTING": True}).test_client()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
