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


PARENT_OPTION = "Could not find valid 'id' or 'value' in the Parent Option object."


@pytest.fixture
def category(datacenter) -> str:
    """A select field whose Edit options page was given two options."""
    field_id = _field(datacenter)
    datacenter.admin_page(
        "POST", f"fields/{field_id}/options", {"options": ["Service outage", "Data corruption"]}
    )
    return field_id


def _create(url: str, fields: dict) -> requests.Response:
    base = {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "Deploy"}
    return _raw("POST", f"{url}/rest/api/2/issue", "eng.emma", json={"fields": base | fields})


def _category_of(url: str, key: str, field_id: str):
    return _raw("GET", f"{url}/rest/api/2/issue/{key}").json()["fields"][field_id]


def test_create_refuses_a_value_that_is_not_an_option_and_a_value_that_is_no_option_object(
    datacenter, category
):
    unknown = _create(datacenter.url, {category: {"value": "Outage"}})
    other_case = _create(datacenter.url, {category: {"value": "service outage"}})
    by_id = _create(datacenter.url, {category: {"id": "99999"}})
    as_text = _create(datacenter.url, {category: "Service outage"})

    assert {r.status_code for r in (unknown, other_case, by_id, as_text)} == {400}
    assert unknown.json() == {"errorMessages": [], "errors": {category: "Option value 'Outage' is not valid"}}
    assert other_case.json()["errors"] == {category: "Option value 'service outage' is not valid"}
    assert by_id.json()["errors"] == {category: "Option id '99999' is not valid"}
    assert as_text.json()["errors"] == {category: PARENT_OPTION}
    assert datacenter.state.issues == {}


def test_a_value_is_refused_until_the_admin_adds_it_as_an_option_then_it_is_kept_with_its_id(
    datacenter, category
):
    assert _create(datacenter.url, {category: {"value": "Customer impact"}}).status_code == 400

    datacenter.admin_page("POST", f"fields/{category}/options", {"options": ["Customer impact"]})
    created = _create(datacenter.url, {category: {"value": "Customer impact"}})

    assert created.status_code == 201, created.text
    stored = _category_of(datacenter.url, created.json()["key"], category)
    listed = _options(datacenter, category, query="Customer").json()["options"]
    assert stored == {"value": "Customer impact", "id": str(listed[0]["id"])}


def test_an_edit_to_a_value_that_is_not_an_option_leaves_the_issue_as_it_was(datacenter, category):
    key = _create(datacenter.url, {category: {"value": "Service outage"}}).json()["key"]

    unknown = _raw(
        "PUT", f"{datacenter.url}/rest/api/2/issue/{key}", json={"fields": {category: {"value": "Other"}}}
    )
    as_text = _raw(
        "PUT", f"{datacenter.url}/rest/api/2/issue/{key}", json={"fields": {category: "Data corruption"}}
    )
    as_update = _raw(
        "PUT",
        f"{datacenter.url}/rest/api/2/issue/{key}",
        json={"update": {category: [{"set": {"value": "Other"}}]}},
    )

    assert unknown.status_code == as_text.status_code == as_update.status_code == 400
    assert (
        unknown.json()["errors"]
        == as_update.json()["errors"]
        == {category: "Option value 'Other' is not valid"}
    )
    assert as_text.json()["errors"] == {category: PARENT_OPTION}
    assert _category_of(datacenter.url, key, category)["value"] == "Service outage"
    edited = _raw(
        "PUT",
        f"{datacenter.url}/rest/api/2/issue/{key}",
        json={"fields": {category: {"value": "Data corruption"}}},
    )
    assert (
        edited.status_code == 204
        and _category_of(datacenter.url, key, category)["value"] == "Data corruption"
    )


def test_a_transition_with_a_value_that_is_not_an_option_is_refused_and_the_issue_stays(datacenter, category):
    key = _create(datacenter.url, {category: {"value": "Service outage"}}).json()["key"]
    url = f"{datacenter.url}/rest/api/2/issue/{key}/transitions"
    start = next(t["id"] for t in _raw("GET", url).json()["transitions"] if t["name"] == "In Progress")

    unknown = _raw("POST", url, json={"transition": {"id": start}, "fields": {category: {"value": "Other"}}})
    as_text = _raw("POST", url, json={"transition": {"id": start}, "fields": {category: "Other"}})

    assert unknown.status_code == as_text.status_code == 400
    assert unknown.json()["errors"] == {category: "Option value 'Other' is not valid"}
    assert as_text.json()["errors"] == {category: PARENT_OPTION}
    issue = _raw("GET", f"{datacenter.url}/rest/api/2/issue/{key}").json()["fields"]
    assert issue["status"]["name"] == "To Do" and issue[category]["value"] == "Service outage"
    moved = _raw(
        "POST", url, json={"transition": {"id": start}, "fields": {category: {"value": "Data corruption"}}}
    )
    assert moved.status_code == 204
    assert _category_of(datacenter.url, key, category)["value"] == "Data corruption"
