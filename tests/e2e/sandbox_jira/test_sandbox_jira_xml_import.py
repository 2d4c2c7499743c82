"""Data Center's Import from XML: statuses by numeric id ("?" when unknown), conditions, validators, and the
event the create action fires deciding the webhook Jira sends."""

from __future__ import annotations

import jira
import pytest
import requests

from sandbox.jira import SandboxJira

pytestmark = pytest.mark.slow
FN = "com.atlassian.jira.workflow.function."
IN_GROUP = "com.atlassian.jira.workflow.condition.UserInGroupCondition"


def _functions(event: str, create: bool = False) -> str:
    first = "issue.IssueCreateFunction" if create else "issue.UpdateIssueStatusFunction"
    names = [first, "issue.IssueReindexFunction"]
    calls = "".join(f'<function type="class"><arg name="class.name">{FN}{n}</arg></function>' for n in names)
    fire = (
        f'<arg name="class.name">{FN}event.FireIssueEventFunction</arg><arg name="eventTypeId">{event}</arg>'
    )
    return f'<post-functions>{calls}<function type="class">{fire}</function></post-functions>'


def workflow_xml(open_id: str, done_id: str, create_event: str = "1", validator: str = "") -> str:
    """Open -> (Approve, engineering-leads only) -> Done, in the shape Jira exports."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE workflow PUBLIC "-//OpenSymphony Group//DTD OSWorkflow 2.8//EN"
  "http://www.opensymphony.com/osworkflow/workflow_2_8.dtd">
<workflow>
  <meta name="jira.description">Two steps</meta>
  <initial-actions>
    <action id="1" name="Create">
      <results><unconditional-result old-status="null" status="open" step="1">
        {_functions(create_event, create=True)}
      </unconditional-result></results>
    </action>
  </initial-actions>
  <common-actions>
    <action id="21" name="Approve">
      <restrict-to><conditions type="OR"><condition type="class">
        <arg name="class.name">{IN_GROUP}</arg><arg name="group">engineering-leads</arg>
      </condition></conditions></restrict-to>
      <validators>{validator}</validators>
      <results><unconditional-result old-status="Not Done" status="Done" step="2">
        {_functions("13")}
      </unconditional-result></results>
    </action>
  </common-actions>
  <steps>
    <step id="1" name="Open"><meta name="jira.status.id">{open_id}</meta>
      <actions><common-action id="21"/></actions></step>
    <step id="2" name="Done"><meta name="jira.status.id">{done_id}</meta></step>
  </steps>
</workflow>
"""


def admin_post(sandbox: SandboxJira, path: str, body: dict, user: str = "admin") -> requests.Response:
    return sandbox.admin_page("POST", path, body, user=user)


def use_workflow(sandbox: SandboxJira, name: str, xml: str) -> dict:
    imported = admin_post(sandbox, "workflows/import", {"name": name, "xml": xml})
    assert imported.status_code == 201, imported.text
    scheme = admin_post(
        sandbox, "workflowschemes", {"name": f"{name} scheme", "issueTypeMappings": {"Task": name}}
    )
    assert scheme.status_code == 201, scheme.text
    switched = sandbox.admin_page("PUT", "projects/EMG/workflowscheme", {"scheme": f"{name} scheme"})
    assert switched.status_code == 204, switched.text
    return imported.json()


def person(sandbox: SandboxJira, name: str) -> jira.JIRA:
    return jira.JIRA(sandbox.url, token_auth=f"pat-{name}", get_server_info=False, max_retries=0)


def new_task(sandbox: SandboxJira, who: str = "eng.emma"):
    return person(sandbox, who).create_issue(project="EMG", summary="Outage", issuetype={"name": "Task"})


def test_steps_name_statuses_by_id_and_only_the_group_may_take_the_restricted_transition(datacenter):
    imported = use_workflow(datacenter, "Two steps", workflow_xml("10000", "10001"))
    assert imported["statuses"] == ["To Do", "Done"] and imported["unknownStatusIds"] == []
    issue = new_task(datacenter)
    assert issue.fields.status.name == "To Do"
    assert person(datacenter, "eng.emma").transitions(issue.key) == []
    person(datacenter, "lead.liam").transition_issue(issue.key, "21")
    assert person(datacenter, "admin").issue(issue.key).fields.status.name == "Done"


def test_a_step_naming_its_status_by_name_imports_as_question_mark_and_its_transitions_fail(datacenter):
    imported = use_workflow(datacenter, "By name", workflow_xml("10000", "Done"))
    assert imported["unknownStatusIds"] == ["Done"]
    issue = new_task(datacenter)
    lead = person(datacenter, "lead.liam")
    assert [t["to"]["name"] for t in lead.transitions(issue.key)] == ["?"]
    with pytest.raises(jira.JIRAError) as refused:
        lead.transition_issue(issue.key, "21")
    assert refused.value.status_code == 400 and "not valid for the current state" in refused.value.text
    assert person(datacenter, "admin").issue(issue.key).fields.status.name == "To Do"


def test_a_create_step_with_an_unknown_status_refuses_new_issues(datacenter):
    use_workflow(datacenter, "Nowhere", workflow_xml("Identified", "10001"))
    with pytest.raises(jira.JIRAError) as refused:
        new_task(datacenter)
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("event", "webhook", "type_name"),
    [("1", "jira:issue_created", "issue_created"), ("13", "jira:issue_updated", "issue_generic")],
)
def test_the_event_the_create_action_fires_decides_the_webhook(
    datacenter, receiver, event, webhook, type_name
):
    use_workflow(datacenter, f"Create fires {event}", workflow_xml("10000", "10001", create_event=event))
    datacenter.register_webhook(receiver.url, events=["jira:issue_created", "jira:issue_updated"])
    new_task(datacenter)
    assert datacenter.deliver_pending()
    assert [(b["webhookEvent"], b["issue_event_type_name"]) for b in receiver.bodies()] == [
        (webhook, type_name)
    ]


def test_a_required_fields_validator_in_the_xml_is_enforced(datacenter):
    validator = (
        '<validator name="" type="class"><arg name="hidFieldsList">assignee@@</arg><arg name="class.name">'
        "com.googlecode.jsu.workflow.validator.FieldsRequiredValidator</arg></validator>"
    )
    use_workflow(datacenter, "Needs assignee", workflow_xml("10000", "10001", validator=validator))
    issue = new_task(datacenter)
    lead = person(datacenter, "lead.liam")
    with pytest.raises(jira.JIRAError) as refused:
        lead.transition_issue(issue.key, "21")
    assert "Assignee is required" in refused.value.text
    lead.transition_issue(issue.key, "21", fields={"assignee": {"name": "lead.liam"}})


def test_only_an_administrator_imports_and_names_are_unique(datacenter):
    xml = workflow_xml("10000", "10001")
    assert (
        admin_post(datacenter, "workflows/import", {"name": "W", "xml": xml}, user="eng.emma").status_code
        == 403
    )
    assert admin_post(datacenter, "workflows/import", {"name": "W", "xml": xml}).status_code == 201
    again = admin_post(datacenter, "workflows/import", {"name": "W", "xml": xml})
    assert again.status_code == 400 and "already exists" in again.text
    broken = admin_post(datacenter, "workflows/import", {"name": "X", "xml": "<workflow><steps>"})
    assert broken.status_code == 400


def test_an_administrator_adds_a_status_the_rest_api_lists_with_its_id(datacenter):
    added = admin_post(datacenter, "statuses", {"name": "Awaiting Approval", "category": "IN_PROGRESS"})
    assert added.status_code == 201, added.text
    listed = person(datacenter, "admin")._session.get(f"{datacenter.url}/rest/api/2/status").json()
    assert {"id": added.json()["id"], "name": "Awaiting Approval"} in [
        {"id": s["id"], "name": s["name"]} for s in listed
    ]
    assert admin_post(datacenter, "statuses", {"name": "awaiting approval"}).status_code == 400
