"""An app over a real migrated database, with a connector that records deliveries like the real one."""

import pytest

from connector.web.app import create_app

from .web_helpers import RecordingConnector, settings


@pytest.fixture
def connector(database):
    return RecordingConnector(settings(), database)


@pytest.fixture
def app(connector):
    return create_app(connector, config={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()
