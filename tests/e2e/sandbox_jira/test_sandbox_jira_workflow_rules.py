"""Workflow rules mean what the OpenAPI document's rule list says, and `workflows/create` refuses rule keys,
parameters and combinations it does not document."""

from __future__ import annotations

import json

import jira
import pytest
import requests

pytestmark = pytest.mark.slow


def _workflow(name: str, revert_rules: list[dict]) -> dict:
    return {
        "scope": {"type": "GLOBAL"},
        "statuses": [{"statusReference": "todo", "name": "To Do", "statusCategory": "TODO"}],
        "workflows": [
            {
                "name": name,
                "statuses": [{"statusReference": "todo", "properties": {}}],
                "transitions": [
                    {
                        "id": "1",
                        "name": "Create",
                        "type": "INITIAL",
                        "toStatusReference": "todo",
                        "links": [],
                    },
                    {
                        "id": "41",
                        "name": "Revert",
                        "type": "GLOBAL",
                        "toStatusReference": "todo",
                        "links": [],
                        "conditions": {"operation": "ALL", "conditions": revert_rules},
                    },
                ],
            }
        ],
    }


def _validate(sandbox, payload: dict) -> list[str]:
    answer = requests.post(
        f"{sandbox.url}/rest/api/3/workflows/create/validation",
        json={"payload": payload},
        auth=("admin", "admin"),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return [e["message"] for e in answer.json()["errors"]]


def _install(sandbox, revert_rules: list[dict]) -> str:
    """Create the workflow, use it for Task in EMG, and return a new Task's key."""
    admin = requests.Session()
    admin.auth = ("admin", "admin")
    url = sandbox.url
    created = admin.post(
        f"{url}/rest/api/3/workflows/create", json=_workflow("Rules", revert_rules), timeout=5
    )
    assert created.status_code == 200, created.text
    scheme = admin.post(
        f"{url}/rest/api/3/workflowscheme",
        json={"name": "S", "defaultWorkflow": "jira", "issueTypeMappings": {"10001": "Rules"}},
        timeout=5,
    ).json()
    admin.put(
        f"{url}/rest/api/3/workflowscheme/project",
        json={"projectId": "10000", "workflowSchemeId": str(scheme["id"])},
        timeout=5,
    )
    fields = {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "S"}
    return admin.post(f"{url}/rest/api/2/issue", json={"fields": fields}, timeout=5).json()["key"]


def _offered(sandbox, user: str, key: str) -> set[str]:
    answer = requests.get(f"{sandbox.url}/rest/api/2/issue/{key}/transitions", auth=(user, user), timeout=5)
    return {t["name"] for t in answer.json()["transitions"]}


def test_restrict_from_all_users_in_mode_users_does_not_stop_rest_callers(cloud):
    key = _install(
        cloud, [{"ruleKey": "system:restrict-from-all-users", "parameters": {"restrictMode": "users"}}]
    )
    assert "Revert" in _offered(cloud, "eng.emma", key)  # hidden in Jira's screens only


def test_restrict_from_all_users_including_the_api_stops_everyone(cloud):
    rule = {"ruleKey": "system:restrict-from-all-users", "parameters": {"restrictMode": "usersAndAPI"}}
    key = _install(cloud, [rule])
    assert "Revert" not in _offered(cloud, "ecm-bot", key)


def test_a_group_restriction_lets_only_the_groups_members_through(cloud):
    automation = cloud.state.groups["ecm-automation"].group_id
    key = _install(
        cloud, [{"ruleKey": "system:restrict-issue-transition", "parameters": {"groupIds": automation}}]
    )
    assert "Revert" in _offered(cloud, "ecm-bot", key)
    assert "Revert" not in _offered(cloud, "admin", key)


def test_validation_refuses_what_the_rule_list_does_not_document(cloud):
    bot = cloud.state.users["ecm-bot"].account_id
    rules = [
        {"ruleKey": "system:restrict-issue-transition", "parameters": {"accountIds": bot}},
        {"ruleKey": "system:restrict-issue-transition", "parameters": {"groupIds": "ecm-automation"}},
        {"ruleKey": "system:restrict-from-all-users", "parameters": {"restrictMode": "people"}},
        {"ruleKey": "system:restrict-from-all-users", "parameters": {"restrictMode": "users", "except": "x"}},
        {"ruleKey": "system:only-the-connector", "parameters": {}},
    ]
    problems = _validate(cloud, _workflow("Undocumented", rules))
    assert len(problems) == 5
    assert "only supported in team-managed projects" in problems[0]
    assert "no group with the id 'ecm-automation'" in problems[1]
    refused = requests.post(
        f"{cloud.url}/rest/api/3/workflows/create",
        json=_workflow("Undocumented", rules),
        auth=("admin", "admin"),
        timeout=5,
    )
    assert refused.status_code == 400


def _field_check(*values: str, comparator: str = "=") -> dict:
    parameters = {
        "fieldId": "summary",
        "fieldValue": json.dumps(list(values)),
        "comparator": comparator,
        "comparisonType": "STRING",
    }
    return {"ruleKey": "system:check-field-value", "parameters": parameters}


def test_a_field_check_hides_the_transition_until_the_field_holds_a_listed_value(cloud, client_for):
    key = _install(cloud, [_field_check("deployed", "approved,deployed")])
    emma = client_for("eng.emma")
    assert "Revert" not in {t["name"] for t in emma.transitions(key)}
    emma.issue(key).update(summary="approved,deployed")
    assert "Revert" in {t["name"] for t in emma.transitions(key)}
    emma.issue(key).update(summary="approved,deployed,closed")  # not listed: a value, not a substring
    assert "Revert" not in {t["name"] for t in emma.transitions(key)}


def test_performing_a_transition_whose_field_check_fails_is_refused_as_jira_refuses_it(cloud, client_for):
    key = _install(cloud, [_field_check("deployed")])
    emma = client_for("eng.emma")
    with pytest.raises(jira.JIRAError) as refused:
        emma.transition_issue(key, "41")
    assert refused.value.status_code == 400
    assert "Transition id '41' is not valid for this issue." in refused.value.text
    assert emma.issue(key).fields.status.name == "To Do"


def test_a_not_equal_field_check_holds_for_any_other_value(cloud):
    key = _install(cloud, [_field_check("S", "x", comparator="!=")])
    assert "Revert" not in _offered(cloud, "eng.emma", key)  # the summary is "S"


def test_validation_refuses_a_field_check_without_a_list_of_values_or_a_known_comparator(cloud):
    bad = [
        {
            "ruleKey": "system:check-field-value",
            "parameters": {
                "fieldId": "summary",
                "fieldValue": "deployed",
                "comparator": "=",
                "comparisonType": "STRING",
            },
        },
        {
            "ruleKey": "system:check-field-value",
            "parameters": {
                "fieldId": "summary",
                "fieldValue": '["a"]',
                "comparator": "~",
                "comparisonType": "STRING",
            },
        },
    ]
    problems = _validate(cloud, _workflow("Checks", bad))
    assert any("fieldValue must be a JSON list of values" in p for p in problems)
    assert any("comparator must be one of" in p for p in problems)


def _user_field(sandbox) -> str:
    created = requests.post(
        f"{sandbox.url}/rest/api/3/field",
        json={
            "name": "Denied Person",
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:userpicker",
            "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:userpickergroupsearcher",
        },
        auth=("admin", "admin"),
        timeout=5,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_a_user_field_denial_refuses_only_the_person_it_names_even_in_an_allowed_group(cloud, client_for):
    field_id = _user_field(cloud)
    leads = cloud.state.groups["engineering-leads"].group_id
    key = _install(
        cloud,
        [
            {"ruleKey": "system:restrict-issue-transition", "parameters": {"groupIds": leads}},
            {"ruleKey": "system:restrict-issue-transition", "parameters": {"denyUserCustomFields": field_id}},
        ],
    )
    with cloud.state.lock:  # as the field's own screen would have set it
        cloud.state.issue(key).fields[field_id] = "lead.liam"
    assert "Revert" not in _offered(cloud, "lead.liam", key)
    assert "Revert" in _offered(cloud, "dual.dana", key)
    assert "Revert" not in _offered(cloud, "eng.emma", key)  # not in the group: the other rule
    with pytest.raises(jira.JIRAError) as refused:
        client_for("lead.liam").transition_issue(key, "41")
    assert refused.value.status_code == 400
    assert "Transition id '41' is not valid for this issue." in refused.value.text


def test_validation_refuses_a_user_field_denial_naming_no_user_field(cloud):
    rule = {"ruleKey": "system:restrict-issue-transition", "parameters": {"denyUserCustomFields": "summary"}}
    assert _validate(cloud, _workflow("Deny", [rule])) == [
        "Transition 'Revert': system:restrict-issue-transition: 'summary' is not a user custom field."
    ]
