"""The project's schemes decide what people can create and set, as in a company-managed Jira Cloud project."""

from __future__ import annotations

import jira
import pytest
import requests

pytestmark = pytest.mark.slow
NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


def _raw(method: str, url: str, **kwargs) -> requests.Response:
    """A call whose refusal the test reads (the `jira` library's session raises on 4xx)."""
    return requests.request(method, url, auth=("admin", "admin"), timeout=5, **kwargs)


def _project_scheme_id(s, url: str) -> str:
    found = s.get(f"{url}/rest/api/3/issuetypescheme/project", params={"projectId": "10000"}).json()
    return found["values"][0]["issueTypeScheme"]["id"]


def _default_screen(s, url: str) -> tuple[int, int]:
    """(screen id, first tab id) of the screen EMG uses for a Task."""
    scheme = s.get(f"{url}/rest/api/3/issuetypescreenscheme/project", params={"projectId": "10000"}).json()
    itss = scheme["values"][0]["issueTypeScreenScheme"]["id"]
    items = s.get(f"{url}/rest/api/3/issuetypescreenscheme/mapping", params={"issueTypeScreenSchemeId": itss})
    default = next(i["screenSchemeId"] for i in items.json()["values"] if i["issueTypeId"] == "default")
    screens = s.get(f"{url}/rest/api/3/screenscheme", params={"id": default}).json()["values"][0]["screens"]
    tab = s.get(f"{url}/rest/api/3/screens/{screens['default']}/tabs").json()[0]
    return screens["default"], tab["id"]


def test_a_new_issue_type_needs_adding_to_the_project_scheme_before_anyone_can_use_it(cloud, client_for):
    admin, emma = client_for("admin"), client_for("eng.emma")
    s, url = admin._session, cloud.url
    type_id = s.post(f"{url}/rest/api/3/issuetype", json={"name": "Emergency Change"}).json()["id"]
    fields = {"project": {"key": "EMG"}, "summary": "DB down", "issuetype": {"id": type_id}}
    with pytest.raises(jira.JIRAError) as refused:
        emma.create_issue(fields=fields)
    assert refused.value.status_code == 400
    assert refused.value.response.json() == {
        "errorMessages": [],
        "errors": {"issuetype": "Specify a valid issue type"},
    }
    assert "Emergency Change" not in {t.name for t in emma.project("EMG").issueTypes}
    scheme_id = _project_scheme_id(s, url)
    mapping = s.get(f"{url}/rest/api/3/issuetypescheme/mapping", params={"issueTypeSchemeId": "10000"}).json()
    assert type_id in {m["issueTypeId"] for m in mapping["values"]}  # the default scheme has every type

    assert s.put(
        f"{url}/rest/api/3/issuetypescheme/{scheme_id}/issuetype", json={"issueTypeIds": [type_id]}
    ).ok
    assert emma.create_issue(fields=fields).fields.issuetype.name == "Emergency Change"
    again = _raw(
        "PUT", f"{url}/rest/api/3/issuetypescheme/{scheme_id}/issuetype", json={"issueTypeIds": [type_id]}
    )
    assert again.status_code == 400 and type_id in again.json()["errorMessages"][0]


def test_a_field_off_the_screen_cannot_be_set_on_create_or_edit_through_v2_and_v3(cloud, client_for):
    admin, emma = client_for("admin"), client_for("eng.emma")
    s, url = admin._session, cloud.url
    field = s.post(
        f"{url}/rest/api/3/field",
        json={"name": "Pull Request", "type": "com.atlassian.jira.plugin.system.customfieldtypes:url"},
    ).json()["id"]
    base = {"project": {"key": "EMG"}, "summary": "Fix", "issuetype": {"name": "Task"}}
    with pytest.raises(jira.JIRAError) as refused:
        emma.create_issue(fields={**base, field: "https://git.example.com/pr/1"})
    assert refused.value.response.json()["errors"] == {field: NOT_ON_SCREEN.format(field)}
    issue = emma.create_issue(fields=base)
    with pytest.raises(jira.JIRAError) as refused:
        issue.update(fields={field: "https://git.example.com/pr/1"})
    assert refused.value.response.json()["errors"] == {field: NOT_ON_SCREEN.format(field)}
    v3 = requests.put(
        f"{url}/rest/api/3/issue/{issue.key}",
        json={"fields": {field: "https://git.example.com/pr/1"}},
        auth=("eng.emma", "eng.emma"),
        timeout=5,
    )
    assert v3.status_code == 400 and v3.json()["errors"] == {field: NOT_ON_SCREEN.format(field)}

    screen, tab = _default_screen(s, url)
    added = s.post(f"{url}/rest/api/3/screens/{screen}/tabs/{tab}/fields", json={"fieldId": field})
    assert added.json() == {"id": field, "name": "Pull Request"}
    issue.update(fields={field: "https://git.example.com/pr/1"})
    assert getattr(emma.issue(issue.key).fields, field) == "https://git.example.com/pr/1"
    assert emma.create_issue(fields={**base, field: "https://git.example.com/pr/2"}).key
    twice = _raw("POST", f"{url}/rest/api/3/screens/{screen}/tabs/{tab}/fields", json={"fieldId": field})
    assert twice.status_code == 400


def test_a_transition_without_a_screen_sets_no_fields_but_takes_a_comment(cloud, client_for):
    emma = client_for("eng.emma")
    issue = emma.create_issue(project="EMG", summary="Fix", issuetype={"name": "Task"})
    assert not next(t for t in emma.transitions(issue) if t["id"] == "21")["hasScreen"]
    with pytest.raises(jira.JIRAError) as refused:
        emma.transition_issue(issue, "21", fields={"summary": "Renamed"})
    assert refused.value.response.json()["errors"] == {"summary": NOT_ON_SCREEN.format("summary")}
    emma.transition_issue(issue, "21", comment="Starting now")
    assert emma.issue(issue.key).fields.status.name == "In Progress"


def test_a_project_with_issues_switches_workflow_scheme_through_a_task_that_needs_status_mappings(
    cloud, install_emergency_workflow, client_for
):
    ids = install_emergency_workflow()
    admin = client_for("admin")
    s, url = admin._session, cloud.url
    task = admin.create_issue(project="EMG", summary="Existing work", issuetype={"name": "Task"})
    mapped = {"10001": "Emergency Change Workflow", ids["issuetype"]: "Emergency Change Workflow"}
    other = s.post(
        f"{url}/rest/api/3/workflowscheme", json={"name": "All emergency", "issueTypeMappings": mapped}
    )
    target = str(other.json()["id"])
    assign = {"projectId": "10000", "workflowSchemeId": target}
    put = _raw("PUT", f"{url}/rest/api/3/workflowscheme/project", json=assign)
    assert put.status_code == 400 and "has issues" in put.json()["errorMessages"][0]

    switch = {"projectId": "10000", "targetSchemeId": target}
    started = s.post(f"{url}/rest/api/3/workflowscheme/project/switch", json=switch, allow_redirects=False)
    assert started.status_code == 303
    location = started.headers["Location"]
    assert location.endswith(f"/rest/api/3/task/{started.json()['id']}")
    polled = [s.get(location).json()["status"] for _ in range(3)]
    assert polled[0] == "RUNNING" and polled[-1] == "FAILED"
    assert "No status mapping for status 'To Do' of issue type 'Task'" in s.get(location).json()["message"]
    assert admin.issue(task.key).fields.status.name == "To Do"

    draft = next(st["id"] for st in s.get(f"{url}/rest/api/3/status").json() if st["name"] == "Draft")
    old = ("10000", "3", "10001")  # To Do, In Progress, Done of the default workflow
    switch["mappingsByIssueTypeOverride"] = [
        {"issueTypeId": "10001", "statusMappings": [{"oldStatusId": o, "newStatusId": draft} for o in old]}
    ]
    followed = s.post(f"{url}/rest/api/3/workflowscheme/project/switch", json=switch)  # follows the 303
    assert followed.status_code == 200 and followed.json()["status"] in ("ENQUEUED", "RUNNING")
    finished = s.get(f"{url}/rest/api/3/task/{followed.json()['id']}").json()
    assert finished["status"] == "COMPLETE" and finished["progress"] == 100
    assert admin.issue(task.key).fields.status.name == "Draft"


def test_statuses_and_permissions_are_listed_as_jira_lists_them(cloud, client_for):
    emma = client_for("eng.emma")
    s, url = emma._session, cloud.url
    assert {"To Do", "In Progress", "Done"} <= {st["name"] for st in s.get(f"{url}/rest/api/3/status").json()}
    missing = _raw("GET", f"{url}/rest/api/3/mypermissions")
    assert missing.status_code == 400
    keys = "BROWSE_PROJECTS,ADMINISTER_PROJECTS,TRANSITION_ISSUES"
    held = s.get(f"{url}/rest/api/2/mypermissions", params={"permissions": keys, "projectKey": "EMG"}).json()
    assert {k: v["havePermission"] for k, v in held["permissions"].items()} == {
        "BROWSE_PROJECTS": True,
        "ADMINISTER_PROJECTS": False,
        "TRANSITION_ISSUES": True,
    }
    bad = _raw("GET", f"{url}/rest/api/3/mypermissions", params={"permissions": "FLY"})
    assert bad.status_code == 400
