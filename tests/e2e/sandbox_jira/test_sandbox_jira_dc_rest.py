"""Jira Data Center serves REST API 2 without Cloud's resources: those answer 404 as Jersey does."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.slow
CLOUD_ONLY = [
    ("GET", "/rest/api/3/field"),
    ("POST", "/rest/api/2/statuses"),
    ("GET", "/rest/api/2/statuses/search"),
    ("GET", "/rest/api/2/workflows/search"),
    ("PUT", "/rest/api/2/workflowscheme/project"),
    ("GET", "/rest/api/2/search/jql"),
    ("GET", "/rest/api/2/field/customfield_10000/context"),
]


@pytest.mark.parametrize(("method", "path"), CLOUD_ONLY)
def test_data_center_answers_404_for_cloud_only_resources(datacenter, method, path):
    response = requests.request(
        method, f"{datacenter.url}{path}", auth=("admin", "admin"), json={}, timeout=5
    )
    assert response.status_code == 404
    assert response.json()["message"].startswith("null for uri: ")


def test_cloud_serves_them(cloud):
    response = requests.get(f"{cloud.url}/rest/api/2/statuses/search", auth=("admin", "admin"), timeout=5)
    assert response.status_code == 200


def test_data_center_serves_what_its_installer_uses(datacenter):
    for path in (
        "/rest/api/2/status",
        "/rest/api/2/field",
        "/rest/api/2/issuetype",
        "/rest/api/2/workflowscheme",
    ):
        assert requests.get(f"{datacenter.url}{path}", auth=("admin", "admin"), timeout=5).status_code == 200
