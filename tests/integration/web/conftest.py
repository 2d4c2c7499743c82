"""An app over a real migrated database and the real connector, whose translators record what they see."""

import pytest

from connector.web.app import create_app

from .web_helpers import connector_for, settings


@pytest.fixture
def connector(database):
    return connector_for(settings(), database)


@pytest.fixture
def app(connector):
    return create_app(connector, config={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()
