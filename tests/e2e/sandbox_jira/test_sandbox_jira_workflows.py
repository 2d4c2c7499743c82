"""An installed workflow decides which transitions exist and who may use them, as Jira's rules say."""

from __future__ import annotations

import jira
import pytest
import requests

pytestmark = pytest.mark.slow


def _change(client: jira.JIRA, issuetype: str = "Emergency Change") -> jira.Issue:
    return client.create_issue(project="EMG", summary="Hotfix", issuetype={"name": issuetype})


def _names(client: jira.JIRA, issue: jira.Issue) -> set[str]:
    return {t["name"] for t in client.transitions(issue)}


def test_installed_workflow_starts_issues_in_its_initial_status(install_emergency_workflow, client_for):
    install_emergency_workflow()
    emma = client_for("eng.emma")
    issue = _change(emma)
    assert issue.fields.status.name == "Draft"
    assert _names(emma, issue) == {"Request approval"}


def test_group_condition_hides_and_refuses_approval_for_outsiders(install_emergency_workflow, client_for):
    ids = install_emergency_workflow()
    emma, liam = client_for("eng.emma"), client_for("lead.liam")
    issue = _change(emma)
    emma.transition_issue(issue, "11")
    assert "Approve" not in _names(emma, issue)
    with pytest.raises(jira.JIRAError) as refused:
        emma.transition_issue(issue, "21", fields={ids["field"]: "Checkout is down"})
    assert refused.value.status_code == 400 and "is not valid for this issue" in refused.value.text
    assert "Approve" in _names(liam, issue)


def test_required_field_validator_refuses_an_empty_impact_description(install_emergency_workflow, client_for):
    ids = install_emergency_workflow()
    emma, liam = client_for("eng.emma"), client_for("lead.liam")
    issue = _change(emma)
    emma.transition_issue(issue, "11")
    with pytest.raises(jira.JIRAError) as refused:
        liam.transition_issue(issue, "21")
    assert refused.value.status_code == 400
    assert refused.value.response.json()["errors"] == {ids["field"]: "Impact description is required."}
    assert liam.issue(issue.key).fields.status.name == "Awaiting Approval"
    liam.transition_issue(issue, "21", fields={ids["field"]: "Checkout is down"})
    assert liam.issue(issue.key).fields.status.name == "Approved"


def test_revert_is_refused_to_people_and_allowed_to_the_connector_account(
    install_emergency_workflow, client_for
):
    install_emergency_workflow()
    admin, bot = client_for("admin"), client_for("ecm-bot")
    issue = _change(client_for("eng.emma"))
    client_for("eng.emma").transition_issue(issue, "11")
    assert "Revert" not in _names(admin, issue)
    with pytest.raises(jira.JIRAError):
        admin.transition_issue(issue, "41")
    bot.transition_issue(issue, "41")
    assert bot.issue(issue.key).fields.status.name == "Draft"


def test_workflow_validation_reports_unknown_status_references(cloud, client_for):
    admin = client_for("admin")
    payload = {
        "statuses": [],
        "workflows": [
            {
                "name": "Broken",
                "statuses": [],
                "transitions": [
                    {"name": "Go", "type": "INITIAL", "toStatusReference": "nowhere", "links": []}
                ],
            }
        ],
    }
    errors = admin._session.post(
        f"{cloud.url}/rest/api/3/workflows/create/validation", json={"payload": payload}
    ).json()["errors"]
    assert [e["code"] for e in errors] == ["INVALID_STATUS_REFERENCE"]
    refused = requests.post(
        f"{cloud.url}/rest/api/3/workflows/create", json=payload, auth=("admin", "admin"), timeout=5
    )
    assert refused.status_code == 400 and "unknown status" in refused.json()["errorMessages"][0]


def test_installed_objects_are_listed_back(cloud, install_emergency_workflow, client_for):
    ids = install_emergency_workflow()
    s = client_for("admin")._session
    assert any(f["id"] == ids["field"] for f in s.get(f"{cloud.url}/rest/api/2/field").json())
    statuses = s.get(f"{cloud.url}/rest/api/3/statuses/search", params={"searchString": "Approv"}).json()
    assert {v["name"] for v in statuses["values"]} == {"Awaiting Approval", "Approved"}
    found = s.get(f"{cloud.url}/rest/api/3/workflows/search", params={"queryString": "Emergency"}).json()
    assert [w["name"] for w in found["values"]] == ["Emergency Change Workflow"]


def test_select_field_options_are_created_in_the_default_context(cloud, client_for):
    s = client_for("admin")._session
    field = s.post(
        f"{cloud.url}/rest/api/2/field",
        json={
            "name": "Critical issue category",
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:select",
        },
    ).json()
    context = s.get(f"{cloud.url}/rest/api/3/field/{field['id']}/context").json()["values"][0]
    url = f"{cloud.url}/rest/api/3/field/{field['id']}/context/{context['id']}/option"
    s.post(url, json={"options": [{"value": "Service outage"}, {"value": "Data corruption"}]})
    assert [o["value"] for o in s.get(url).json()["values"]] == ["Service outage", "Data corruption"]


def test_people_cannot_change_configuration(cloud, client_for):
    response = requests.post(
        f"{cloud.url}/rest/api/2/issuetype", json={"name": "Sneaky"}, auth=("eng.emma", "eng.emma"), timeout=5
    )
    assert response.status_code == 403 and response.json()["errorMessages"]
