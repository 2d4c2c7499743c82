"""The Jira workflow the installer builds: Cloud's `workflows/create` body and Data Center's XML file."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

from connector.jira.workflow import ALL_STAGES, RuleIds, missing_rules, workflow_payload
from connector.jira.workflow_xml import write_datacenter_files
from connector.mapping import load_mapping
from connector.procedure.model import Stage

MAPPINGS = Path(__file__).parents[3] / "mappings"
CLOUD = load_mapping(MAPPINGS / "jira-cloud.yaml")
IDS = RuleIds(
    {stage: str(100 + i) for i, stage in enumerate(Stage)},
    {"category": "cf_1", "impact": "cf_2", "gate": "cf_9", "engineer": "cf_8"},
    ("g-leads", "g-sec"),
    "g-bot",
    "s-gate",
)


def transitions_by_name() -> dict[str, dict]:
    (workflow,) = workflow_payload(CLOUD, IDS)["workflows"]
    return {t["name"]: t for t in workflow["transitions"]}


def test_approval_is_restricted_to_the_two_approver_groups():
    condition = transitions_by_name()["Approve"]["conditions"]["conditions"][0]
    assert condition["ruleKey"] == "system:restrict-issue-transition"
    assert condition["parameters"] == {"groupIds": "g-leads,g-sec"}


def test_approve_and_reject_are_denied_to_the_person_the_engineer_field_names():
    for name in ("Approve", "Reject"):
        group = transitions_by_name()[name]["conditions"]
        assert group["operation"] == "ALL"
        assert group["conditions"][1] == {
            "ruleKey": "system:restrict-issue-transition",
            "parameters": {"denyUserCustomFields": "cf_8"},
        }


def test_an_approve_offered_to_the_engineer_is_reported():
    (workflow,) = workflow_payload(CLOUD, IDS)["workflows"]
    approve = next(t for t in workflow["transitions"] if t["name"] == "Approve")
    approve["conditions"]["conditions"] = approve["conditions"]["conditions"][:1]
    assert missing_rules(CLOUD, workflow) == ["'Approve' is offered to the change's own engineer"]


def test_leaving_identified_requires_category_and_impact():
    validators = transitions_by_name()["Request Approval"]["validators"]
    assert [v["parameters"]["fieldsRequired"] for v in validators] == ["cf_1", "cf_2"]


def test_cancel_is_offered_from_every_stage_before_deploy():
    sources = {link["fromStatusReference"] for link in transitions_by_name()["Cancel"]["links"]}
    assert sources == {
        IDS.status_ids[s]
        for s in (Stage.IDENTIFIED, Stage.AWAITING_APPROVAL, Stage.APPROVED, Stage.IN_REVIEW, Stage.REVIEWED)
    }


def test_revert_transitions_are_hidden_from_people_and_open_to_the_connector_only():
    revert = transitions_by_name()["ECM revert to Awaiting Approval"]
    rules = [(c["ruleKey"], c["parameters"]) for c in revert["conditions"]["conditions"]]
    assert revert["type"] == "GLOBAL"
    assert rules == [("system:restrict-issue-transition", {"groupIds": IDS.automation_group_id})]


def test_a_freshly_built_workflow_lacks_nothing_and_a_stripped_one_is_reported():
    (workflow,) = workflow_payload(CLOUD, IDS)["workflows"]
    assert missing_rules(CLOUD, workflow) == []
    workflow["transitions"] = [t for t in workflow["transitions"] if t["name"] != "ECM revert to Closed"]
    assert missing_rules(CLOUD, workflow) == ["transition 'ECM revert to Closed' is missing"]
    deploy = next(t for t in workflow["transitions"] if t["name"] == "Deploy")
    deploy["conditions"] = {"operation": "ALL", "conditions": [], "conditionGroups": []}
    assert "'Deploy' is not gated by the connector's gate field" in missing_rules(CLOUD, workflow)


def test_deploy_and_close_are_offered_only_while_the_gate_lists_them():
    by_name = transitions_by_name()
    for name, entry in (("Deploy", "deployed"), ("Close", "closed")):
        (rule,) = by_name[name]["conditions"]["conditions"]
        assert rule["ruleKey"] == "system:check-field-value"
        assert (rule["parameters"]["fieldId"], rule["parameters"]["comparator"]) == ("cf_9", "=")
        values = json.loads(rule["parameters"]["fieldValue"])
        assert entry in values and f"approved,{entry}" in values and len(values) == 4
        assert all(entry in v.split(",") for v in values)


def test_the_connector_writes_the_gate_through_its_own_loop_on_every_status():
    by_name = transitions_by_name()
    loops = {name: t for name, t in by_name.items() if name.startswith("ECM gate: ")}
    assert len(loops) == len(ALL_STAGES)
    for loop in loops.values():
        assert [link["fromStatusReference"] for link in loop["links"]] == [loop["toStatusReference"]]
        assert loop["transitionScreen"] == {
            "ruleKey": "system:transition-screen",
            "parameters": {"screenId": "s-gate"},
        }
        assert loop["conditions"]["conditions"] == [
            {"ruleKey": "system:restrict-issue-transition", "parameters": {"groupIds": "g-bot"}}
        ]


DATACENTER = load_mapping(MAPPINGS / "jira-datacenter.yaml")
DC_IDS = {stage: str(10100 + i) for i, stage in enumerate(ALL_STAGES)}


def _args(element) -> dict[str, str]:
    return {a.getAttribute("name"): a.firstChild.data for a in element.getElementsByTagName("arg")}


def test_datacenter_workflow_is_importable_xml_with_steps(tmp_path):
    xml_path, steps_path = write_datacenter_files(DATACENTER, tmp_path, DC_IDS)
    document = xml.dom.minidom.parse(str(xml_path))  # noqa: S318 - the file this test just wrote
    names = {a.getAttribute("name") for a in document.getElementsByTagName("action")}
    assert {"Create", "Request Approval", "Approve", "ECM revert to Identified"} <= names
    assert len(document.getElementsByTagName("step")) == 10
    assert "Import from XML" in steps_path.read_text()


def test_datacenter_steps_name_their_statuses_by_the_ids_jira_gave_them(tmp_path):
    xml_path, _ = write_datacenter_files(DATACENTER, tmp_path, DC_IDS)
    document = xml.dom.minidom.parse(str(xml_path))  # noqa: S318 - the file this test just wrote
    by_step = {
        step.getAttribute("name"): step.getElementsByTagName("meta")[0].firstChild.data
        for step in document.getElementsByTagName("step")
    }
    assert by_step == {DATACENTER.jira.statuses.status_of(s): DC_IDS[s] for s in ALL_STAGES}


def test_datacenter_create_action_fires_issue_created_with_jiras_standard_post_functions(tmp_path):
    xml_path, _ = write_datacenter_files(DATACENTER, tmp_path, DC_IDS)
    document = xml.dom.minidom.parse(str(xml_path))  # noqa: S318 - the file this test just wrote
    (create,) = document.getElementsByTagName("initial-actions")[0].getElementsByTagName("action")
    functions = [_args(f) for f in create.getElementsByTagName("function")]
    prefix = "com.atlassian.jira.workflow.function."
    assert [f["class.name"].removeprefix(prefix) for f in functions] == [
        "issue.IssueCreateFunction",
        "issue.IssueReindexFunction",
        "event.FireIssueEventFunction",
    ]
    assert functions[-1]["eventTypeId"] == "1"


def test_datacenter_files_ask_for_missing_statuses_before_writing_any_xml(tmp_path):
    ids = {s: i for s, i in DC_IDS.items() if s is not Stage.POSTMORTEM}
    xml_path, steps_path = write_datacenter_files(DATACENTER, tmp_path, ids)
    steps = steps_path.read_text()
    assert xml_path is None and not list(tmp_path.glob("*.xml"))
    assert "Statuses > Add status" in steps and "Post-Mortem (In Progress)" in steps
    assert "Identified (" not in steps and "`ecm install --mapping" in steps


def test_datacenter_steps_name_the_issue_type_scheme_and_the_fields_each_screen_needs(tmp_path):
    _, steps_path = write_datacenter_files(DATACENTER, tmp_path, DC_IDS)
    steps = steps_path.read_text()
    assert "Issue type schemes: add 'Emergency Change' and 'Post-Mortem'" in steps
    screens = next(line for line in steps.splitlines() if "Screens" in line)
    assert "Lead Approver" in screens and "Deployed At" in screens
    assert screens.index("Post-Mortem Report") > screens.index("on those of 'Post-Mortem'")


def test_on_data_center_deploy_and_close_are_the_connectors_alone(tmp_path):
    xml_path, _ = write_datacenter_files(DATACENTER, tmp_path, DC_IDS)
    document = xml.dom.minidom.parse(str(xml_path))  # noqa: S318 - the file this test just wrote
    actions = {a.getAttribute("name"): a for a in document.getElementsByTagName("action")}
    for name in ("Deploy", "Close"):
        groups = [_args(c).get("group") for c in actions[name].getElementsByTagName("condition")]
        assert groups == [DATACENTER.groups.automation], name
    approve = [_args(c).get("group") for c in actions["Approve"].getElementsByTagName("condition")]
    assert approve == [DATACENTER.groups.leads, DATACENTER.groups.security]
