"""Paging parameters that are not whole numbers (or below their least value) are answered 400 with the
parameter named, on every paged resource the connector reads, never 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.jira import SandboxJira

pytestmark = pytest.mark.slow

PAGED = [
    "/rest/api/3/statuses/search",
    "/rest/api/3/workflows/search",
    "/rest/api/3/issuetypescheme",
    "/rest/api/2/group/member?groupname=engineering-leads",
]


def _sandbox(flavor: str) -> Iterator[SandboxJira]:
    """Not checked against the document: these requests are malformed on purpose."""
    sandbox = SandboxJira(flavor, webhook_backoff=0.02)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def cloud() -> Iterator[SandboxJira]:
    yield from _sandbox("cloud")


@pytest.fixture
def datacenter() -> Iterator[SandboxJira]:
    yield from _sandbox("datacenter")


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("asked", [{"maxResults": "ten"}, {"startAt": "x"}, {"startAt": "-1"}])
def test_a_paging_parameter_that_is_no_whole_number_is_a_400_naming_it(cloud, path, asked):
    answer = requests.get(f"{cloud.url}{path}", params=asked, auth=("admin", "admin"), timeout=5)

    assert answer.status_code == 400, answer.text
    assert next(iter(asked)) in answer.text


def test_the_data_center_options_read_pages_only_by_whole_numbers(datacenter):
    created = requests.post(
        f"{datacenter.url}/rest/api/2/field",
        json={
            "name": "Critical Issue Category",
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:select",
        },
        auth=("admin", "admin"),
        timeout=5,
    )
    numeric = created.json()["id"].removeprefix("customfield_")
    url = f"{datacenter.url}/rest/api/2/customFields/{numeric}/options"
    for asked in ({"maxResults": "all"}, {"page": "first"}, {"page": "0"}):
        answer = requests.get(url, params=asked, auth=("admin", "admin"), timeout=5)
        assert answer.status_code == 400, (asked, answer.text)
    assert requests.get(url, params={"page": "1"}, auth=("admin", "admin"), timeout=5).status_code == 200
