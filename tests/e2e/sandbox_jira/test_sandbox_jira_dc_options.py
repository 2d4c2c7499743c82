"""Jira Data Center's select options: the admin adds them in Custom fields > Configure > Edit options (the
sandbox's stand-in for that page), REST reads them from Jira 9.3 on (`GET /rest/api/2/customFields/{id}/
options`, the numeric id), and create, edit and transition refuse a value that is not one of them."""

from __future__ import annotations

import pytest
import requests

from sandbox.jira import SandboxJira

pytestmark = pytest.mark.slow
SELECT = "com.atlassian.jira.plugin.system.customfieldtypes:select"


def _raw(method: str, url: str, user: str = "admin", **kwargs) -> requests.Response:
    return requests.request(method, url, auth=(user, user), timeout=5, **kwargs)


def _field(sandbox: SandboxJira, name: str = "Critical Issue Category") -> str:
    created = _raw("POST", f"{sandbox.url}/rest/api/2/field", json={"name": name, "type": SELECT})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _options(sandbox: SandboxJira, field_id: str, **params) -> requests.Response:
    numeric = field_id.removeprefix("customfield_")
    return _raw("GET", f"{sandbox.url}/rest/api/2/customFields/{numeric}/options", params=params)


def test_options_added_in_the_edit_options_page_are_read_back_over_rest_in_order(datacenter):
    field_id = _field(datacenter)
    assert _options(datacenter, field_id).json() == {"options": [], "total": 0}

    added = datacenter.admin_page(
        "POST", "fields/Critical Issue Category/options", {"options": ["Service outage", "Data corruption"]}
    )

    assert added.status_code == 201, added.text
    assert added.json()["options"] == ["Service outage", "Data corruption"]
    read = _options(datacenter, field_id, projectIds="10000", issueTypeIds="10001").json()
    assert [o["value"] for o in read["options"]] == ["Service outage", "Data corruption"]
    assert read["total"] == 2 and all(isinstance(o["id"], int) and not o["disabled"] for o in read["options"])


def test_an_option_already_there_is_refused_and_nothing_is_added(datacenter):
    field_id = _field(datacenter)
    datacenter.admin_page("POST", f"fields/{field_id}/options", {"options": ["Service outage"]})

    again = datacenter.admin_page(
        "POST", f"fields/{field_id}/options", {"options": ["Other", "Service outage"]}
    )

    assert again.status_code == 400
    assert [o["value"] for o in _options(datacenter, field_id).json()["options"]] == ["Service outage"]


def test_the_edit_options_page_is_for_administrators(datacenter):
    field_id = _field(datacenter)
    refused = datacenter.admin_page("POST", f"fields/{field_id}/options", {"options": ["X"]}, user="eng.emma")
    assert refused.status_code == 403


def test_the_rest_read_takes_the_numeric_id_pages_and_filters(datacenter):
    field_id = _field(datacenter)
    datacenter.admin_page("POST", f"fields/{field_id}/options", {"options": ["Red", "Green", "Dark red"]})

    by_key = _raw("GET", f"{datacenter.url}/rest/api/2/customFields/{field_id}/options")
    second = _options(datacenter, field_id, maxResults="2", page="2").json()
    reds = _options(datacenter, field_id, query="RED").json()

    assert by_key.status_code == 404
    assert [o["value"] for o in second["options"]] == ["Dark red"] and second["total"] == 3
    assert [o["value"] for o in reds["options"]] == ["Red", "Dark red"]
    assert _options(datacenter, field_id).status_code == 200
    assert (
        _raw(
            "GET", f"{datacenter.url}/rest/api/2/customFields/{field_id[12:]}/options", "eng.emma"
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("flavor", "version"), [("datacenter", "9.2.0"), ("datacenter", "8.20.0"), ("cloud", None)]
)
def test_the_rest_read_is_not_there_before_jira_9_3_nor_on_cloud(flavor, version):
    with SandboxJira(flavor, version=version) as sandbox:
        field_id = _field(sandbox)
        answer = _options(sandbox, field_id)
    assert answer.status_code == 404
