"""The same endpoints over the real composition root (no mapping configured: every event is recorded and
ignored), so the web layer and `connector.services.deliveries.receive` are checked together."""

import pytest

from connector.bootstrap import bootstrap
from connector.web.app import create_app

from .web_helpers import fixture_body, recorded, settings, signed_jira_headers


@pytest.fixture
def real_client(database):
    return create_app(bootstrap(settings(), database=database, upgrade=False)).test_client()


def test_delivery_is_recorded_once_however_often_it_arrives(real_client, database):
    body = fixture_body("webhook-issue-updated-resolved.json")
    outcomes = [
        real_client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "r-1")).get_json()[
            "outcome"
        ]
        for _ in range(3)
    ]
    assert outcomes == ["ignored", "duplicate", "duplicate"]
    [row] = recorded(database)
    assert (row.delivery_id, row.issue_key, row.outcome) == ("r-1", "TES-41", "ignored")


def test_wrong_signature_stores_nothing_with_the_real_connector(real_client, database):
    body = fixture_body("webhook-issue-updated-resolved.json")
    headers = {**signed_jira_headers(body, "r-2"), "X-Hub-Signature": "sha256=" + "0" * 64}
    assert real_client.post("/webhooks/jira", data=body, headers=headers).status_code == 401
    assert recorded(database) == []


def test_readiness_reads_the_real_database(real_client):
    assert real_client.get("/readyz").status_code == 200
