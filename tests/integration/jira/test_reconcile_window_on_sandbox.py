"""The reconciliation window in the connector account's time zone: Jira reads a JQL date literal in the
searching account's zone, and the sandbox's connector account is on America/Los_Angeles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from connector.jira.gateway import JiraGateway
from connector.jira.history import jira_deliveries, jql_time
from connector.mapping import load_mapping
from sandbox.jira import SandboxJira
from tests.integration.jira.sandbox_types import add_issue_type

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")


@pytest.fixture
def sandbox():
    with SandboxJira("cloud", validate_openapi=True) as running:
        yield running
    assert running.openapi_errors == []


def test_the_connector_account_reports_its_time_zone(sandbox):
    me = JiraGateway(sandbox.url, user="ecm-bot@example.com", token="ecm-bot").myself()
    assert me.time_zone == "America/Los_Angeles"


def test_a_change_updated_within_the_window_is_found_whatever_the_accounts_time_zone(sandbox):
    admin = ("admin", "admin")
    add_issue_type(sandbox, "Emergency Change")
    fields = {"project": {"key": "EMG"}, "issuetype": {"name": "Emergency Change"}, "summary": "EU down"}
    created = requests.post(f"{sandbox.url}/rest/api/2/issue", json={"fields": fields}, auth=admin, timeout=5)
    gateway = JiraGateway(sandbox.url, user="ecm-bot@example.com", token="ecm-bot")
    tool = SimpleNamespace(mapping=MAPPING, gateway=gateway)
    now = datetime.now(UTC)

    replayed = [d.delivery_id for d, _event in jira_deliveries(tool, now - timedelta(minutes=30), now)]

    assert f"reconcile:created:{created.json()['id']}" in replayed


def test_a_wall_time_that_comes_twice_is_written_so_either_reading_starts_no_later():
    # 01:30 comes twice in Los Angeles on 2026-11-01 (08:30 and 09:30 UTC), and Jira may take either.
    first, second = datetime(2026, 11, 1, 8, 30, tzinfo=UTC), datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert jql_time(first, "America/Los_Angeles") == "2026-11-01 00:30"
    assert jql_time(second, "America/Los_Angeles") == "2026-11-01 01:30"
    assert jql_time(datetime(2026, 12, 1, 18, 5, 59, tzinfo=UTC), "America/Los_Angeles") == "2026-12-01 10:05"
    assert jql_time(datetime(2026, 12, 1, 18, 5, tzinfo=UTC), None) == "2026-12-01 18:05"
