"""An installation made before the gate and the self-approval rule gets them from `ecm install`: the
workflow is updated in place through Jira Cloud's `workflows/update` (with the version Jira checks), its
other transitions kept; a second `ecm install` has nothing to do. Against the strict sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from jira import JIRA

from connector.config import load_settings
from connector.jira.doctor import doctor
from connector.jira.gateway import JiraGateway
from connector.jira.installer import install, plan
from connector.mapping import load_mapping
from sandbox.jira.server import SandboxJira

pytestmark = pytest.mark.slow

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
ENV = {"ECM_PUBLIC_URL": "https://ecm.example.com", "ECM_JIRA_WEBHOOK_SECRET": "hook-secret"}
NAME = "ECM EMG Emergency Change"
OLD_FIELDS = ("ECM Gate", "ECM Engineer")  # what an installation before the gate did not have


@pytest.fixture
def sandbox():
    jira = SandboxJira("cloud")
    jira.start()
    yield jira
    jira.stop()


@pytest.fixture
def settings(tmp_path):
    return load_settings({**ENV, "ECM_DATA_DIR": str(tmp_path)})


def admin(sandbox: SandboxJira) -> requests.Session:
    session = requests.Session()
    session.auth = ("admin", "admin")
    return session


def read_workflow(sandbox: SandboxJira) -> dict:
    answer = admin(sandbox).get(
        f"{sandbox.url}/rest/api/3/workflows/search",
        params={"queryString": NAME, "expand": "values.transitions"},
        timeout=5,
    )
    return answer.json()["values"][0]


def update_body(sandbox: SandboxJira, workflow: dict, transitions: list[dict]) -> dict:
    refs = [s["statusReference"] for s in workflow["statuses"]]
    statuses = sandbox.state.statuses
    return {
        "statuses": [
            {"id": r, "statusReference": r, "name": statuses[r].name, "statusCategory": statuses[r].category}
            for r in refs
        ],
        "workflows": [
            {
                "id": workflow["id"],
                "version": workflow["version"],
                "statuses": [{"statusReference": r, "properties": {}} for r in refs],
                "transitions": transitions,
            }
        ],
    }


def strip(transition: dict) -> dict:
    """The transition as the installer wrote it before the gate: no gate check, no engineer denial."""
    conditions = transition.get("conditions") or {}
    kept = [
        c
        for c in conditions.get("conditions") or []
        if c["ruleKey"] != "system:check-field-value" and "denyUserCustomFields" not in c["parameters"]
    ]
    return {**transition, "conditions": {**conditions, "conditions": kept}} if conditions else transition


def installed_before_the_gate(sandbox: SandboxJira, settings) -> None:
    """A fresh install, then made what an older connector left: no gate loops, no gate or engineer rules,
    no gate screen and fields; with a transition of the admin's own."""
    install(MAPPING, gateway_for(sandbox), settings=settings)
    workflow = read_workflow(sandbox)
    transitions = [strip(t) for t in workflow["transitions"] if not t["name"].startswith("ECM gate: ")]
    identified = next(t for t in transitions if t["name"] == "Create")["toStatusReference"]
    transitions.append(
        {
            "id": "991",
            "name": "Park",
            "type": "DIRECTED",
            "toStatusReference": identified,
            "links": [{"fromStatusReference": identified, "fromPort": 0, "toPort": 1}],
        }
    )
    answer = admin(sandbox).post(
        f"{sandbox.url}/rest/api/3/workflows/update",
        json=update_body(sandbox, workflow, transitions),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    with sandbox.state.lock:
        config = sandbox.state.config
        gate_screen = next(i for i, s in config.screens.items() if s.name == "ECM EMG gate")
        del config.screens[gate_screen]
        for field_id in [f.id for f in sandbox.state.custom_fields.values() if f.name in OLD_FIELDS]:
            del sandbox.state.custom_fields[field_id]


def gateway_for(sandbox: SandboxJira, user: str = "admin") -> JiraGateway:
    return JiraGateway(sandbox.url, flavor="cloud", user=user, token=user)


def test_an_installation_from_before_the_gate_is_updated_in_place_and_a_second_install_does_nothing(
    sandbox, settings
):
    installed_before_the_gate(sandbox, settings)
    gateway = gateway_for(sandbox)
    assert not next(c for c in doctor(MAPPING, gateway, settings=settings) if c.name == "workflow").ok
    before = plan(MAPPING, gateway, settings=settings)
    changes = {(i.kind, i.name, i.action) for i in before.changes}
    assert ("workflow", NAME, "update") in changes
    assert {("field", "ECM Gate", "create"), ("screen", "ECM EMG gate", "create")} <= changes
    assert not any(i.action == "manual" for i in before.items)
    detail = next(i.detail for i in before.items if i.kind == "workflow")
    assert "'Deploy' is not gated" in detail and "'Approve' is offered to the change's own engineer" in detail

    install(MAPPING, gateway, settings=settings)
    assert plan(MAPPING, gateway, settings=settings).changes == ()
    assert all(c.ok for c in doctor(MAPPING, gateway, settings=settings))
    workflow = read_workflow(sandbox)
    assert workflow["version"]["versionNumber"] == 3  # created, made old, updated once
    names = [t["name"] for t in workflow["transitions"]]
    assert "Park" in names and "ECM gate: Identified" in names  # the admin's transition is kept
    install(MAPPING, gateway, settings=settings)
    assert read_workflow(sandbox)["version"]["versionNumber"] == 3  # the second install wrote nothing


def test_after_the_update_jira_refuses_what_the_new_rules_refuse(sandbox, settings):
    installed_before_the_gate(sandbox, settings)
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    ids = {f.name: f.id for f in gateway.fields()}
    liam = JIRA(
        server=sandbox.url, basic_auth=("lead.liam", "lead.liam"), max_retries=0, get_server_info=False
    )
    issue = liam.create_issue(
        project="EMG",
        issuetype={"name": "Emergency Change"},
        summary="Queue stuck",
        **{ids["Critical Issue Category"]: {"value": "Service outage"}, ids["Impact Description"]: "All"},
    )
    liam.transition_issue(issue.key, "Request Approval")
    bot = gateway_for(sandbox, "ecm-bot")  # the connector writes its fields through its own loop
    loop = next(t for t in bot.transitions(issue.key) if t.name.startswith("ECM gate: "))
    bot.transition(issue.key, loop.id, fields={ids["ECM Engineer"]: bot.user_ref(liam.myself()["accountId"])})
    assert "Approve" not in {t["name"] for t in liam.transitions(issue.key)}
    dana = JIRA(
        server=sandbox.url, basic_auth=("dual.dana", "dual.dana"), max_retries=0, get_server_info=False
    )
    assert "Approve" in {t["name"] for t in dana.transitions(issue.key)}


def test_an_update_from_a_stale_read_is_refused_and_changes_nothing(sandbox, settings):
    install(MAPPING, gateway_for(sandbox), settings=settings)
    workflow = read_workflow(sandbox)
    body = update_body(sandbox, workflow, workflow["transitions"])
    assert admin(sandbox).post(f"{sandbox.url}/rest/api/3/workflows/update", json=body, timeout=5).ok
    stale = admin(sandbox).post(f"{sandbox.url}/rest/api/3/workflows/update", json=body, timeout=5)
    assert stale.status_code == 400
    assert "is at version 2, not 1" in stale.text
    validation = admin(sandbox).post(
        f"{sandbox.url}/rest/api/3/workflows/update/validation", json={"payload": body}, timeout=5
    )
    assert [e["code"] for e in validation.json()["errors"]] == ["VERSION_CONFLICT"]
    assert read_workflow(sandbox)["version"]["versionNumber"] == 2


def test_a_gate_condition_removed_in_jira_is_drift_and_install_puts_it_back(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    workflow = read_workflow(sandbox)
    transitions = [
        {**t, "conditions": {"operation": "ALL", "conditions": [], "conditionGroups": []}}
        if t["name"] == "Deploy"
        else t
        for t in workflow["transitions"]
    ]
    body = update_body(sandbox, workflow, transitions)
    assert admin(sandbox).post(f"{sandbox.url}/rest/api/3/workflows/update", json=body, timeout=5).ok
    check = next(c for c in doctor(MAPPING, gateway, settings=settings) if c.name == "workflow")
    assert not check.ok
    assert check.detail == "'Deploy' is not gated by the connector's gate field"
    assert "ecm install" in check.fix
    install(MAPPING, gateway, settings=settings)
    assert all(c.ok for c in doctor(MAPPING, gateway, settings=settings))
