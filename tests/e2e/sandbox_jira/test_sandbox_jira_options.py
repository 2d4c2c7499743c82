"""A select field takes one of the options of the context that applies to the issue, as Jira Cloud checks it:
an option that is not offered there is refused with the field's error, on create and on edit."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.sandbox_jira.test_sandbox_jira_schemes import _default_screen

pytestmark = pytest.mark.slow
SELECT = "com.atlassian.jira.plugin.system.customfieldtypes:select"


def _raw(method: str, url: str, **kwargs) -> requests.Response:
    return requests.request(method, url, auth=("admin", "admin"), timeout=5, **kwargs)


@pytest.fixture
def category(cloud, client_for) -> str:
    """A select field on EMG's screen whose EMG context offers two options (the global one offers none)."""
    s, url = client_for("admin")._session, cloud.url
    field = s.post(f"{url}/rest/api/2/field", json={"name": "Critical issue category", "type": SELECT}).json()
    context = s.post(
        f"{url}/rest/api/3/field/{field['id']}/context", json={"name": "EMG", "projectIds": ["10000"]}
    ).json()
    s.post(
        f"{url}/rest/api/3/field/{field['id']}/context/{context['id']}/option",
        json={"options": [{"value": "Service outage"}, {"value": "Data corruption"}]},
    )
    screen, tab = _default_screen(s, url)
    s.post(f"{url}/rest/api/3/screens/{screen}/tabs/{tab}/fields", json={"fieldId": field["id"]})
    return field["id"]


def _create(url: str, fields: dict) -> requests.Response:
    base = {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "Deploy"}
    return _raw("POST", f"{url}/rest/api/2/issue", json={"fields": base | fields})


def test_an_option_of_the_projects_context_is_set_and_read_back_with_its_id(cloud, category):
    created = _create(cloud.url, {category: {"value": "Data corruption"}})

    assert created.status_code == 201, created.text
    issue = _raw("GET", f"{cloud.url}/rest/api/2/issue/{created.json()['key']}").json()
    assert issue["fields"][category]["value"] == "Data corruption" and issue["fields"][category]["id"]


def test_a_value_that_is_not_an_option_is_refused_naming_the_field(cloud, category):
    refused = _create(cloud.url, {category: {"value": "Outage"}})

    assert refused.status_code == 400
    assert refused.json()["errors"] == {category: "Option value 'Outage' is not valid"}
    assert cloud.state.issues == {}


def test_an_option_named_by_an_unknown_id_or_given_as_plain_text_is_refused(cloud, category):
    by_id = _create(cloud.url, {category: {"id": "99999"}})
    as_text = _create(cloud.url, {category: "Service outage"})

    assert by_id.json()["errors"] == {category: "Option id '99999' is not valid"}
    assert as_text.json()["errors"] == {
        category: "Could not find valid 'id' or 'value' in the Parent Option object."
    }


def test_an_edit_to_a_value_that_is_not_an_option_leaves_the_issue_as_it_was(cloud, category):
    key = _create(cloud.url, {category: {"value": "Service outage"}}).json()["key"]

    refused = _raw(
        "PUT", f"{cloud.url}/rest/api/2/issue/{key}", json={"fields": {category: {"value": "Other"}}}
    )

    assert refused.status_code == 400
    assert refused.json()["errors"] == {category: "Option value 'Other' is not valid"}
    issue = _raw("GET", f"{cloud.url}/rest/api/2/issue/{key}").json()
    assert issue["fields"][category]["value"] == "Service outage"
