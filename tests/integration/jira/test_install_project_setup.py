"""`ecm install` configures the project itself on Jira Cloud: its issue type scheme offers the new types,
its screens carry every mapped field, and a project with issues is switched to the new workflow scheme."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from jira import JIRA

from connector.cli import cli
from connector.config import load_settings
from connector.jira.doctor import doctor
from connector.jira.gateway import JiraGateway
from connector.jira.installer import install, plan
from connector.mapping import load_mapping
from sandbox.jira.server import SandboxJira

pytestmark = pytest.mark.slow

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
ENV = {"ECM_PUBLIC_URL": "https://ecm.example.com", "ECM_JIRA_WEBHOOK_SECRET": "hook-secret"}
SCREEN = "EMG: Kanban Default Issue Screen"
SCHEME = "EMG: Kanban Issue Type Scheme"


@pytest.fixture
def sandbox():
    with SandboxJira("cloud", validate_openapi=True) as jira:
        yield jira
        assert jira.openapi_errors == [], "\n".join(jira.openapi_errors)


@pytest.fixture
def settings(tmp_path):
    return load_settings({**ENV, "ECM_DATA_DIR": str(tmp_path)})


def gateway_for(sandbox: SandboxJira, user: str = "admin") -> JiraGateway:
    return JiraGateway(sandbox.url, flavor="cloud", user=user, token=user)


def person(sandbox: SandboxJira, user: str) -> JIRA:
    return JIRA(server=sandbox.url, basic_auth=(user, user), max_retries=0, get_server_info=False, timeout=10)


def writes(sandbox: SandboxJira) -> dict[str, int]:
    with sandbox.state.lock:
        return {k: v for k, v in sandbox.state.request_counts.items() if not k.startswith("GET ")}


def test_plan_shows_the_scheme_and_screen_steps_and_a_second_install_changes_nothing(sandbox, settings):
    gateway = gateway_for(sandbox)
    steps = {(i.kind, i.name): i for i in plan(MAPPING, gateway, settings=settings).items}
    assert steps[("issue type scheme", SCHEME)].render() == (
        f"update  issue type scheme  {SCHEME} — add Emergency Change, Post-Mortem"
    )
    screen = steps[("screen", SCREEN)]
    assert screen.action == "update"
    assert "Critical Issue Category" in screen.detail and "Post-Mortem Report" in screen.detail

    install(MAPPING, gateway, settings=settings)
    again = plan(MAPPING, gateway, settings=settings)
    assert [i.render() for i in again.changes] == []
    assert ("screens", "EMG") in {(i.kind, i.name) for i in again.items}
    before = writes(sandbox)
    install(MAPPING, gateway, settings=settings)
    assert writes(sandbox) == before  # a second install only reads
    assert not any(key.startswith("DELETE ") for key in before)


def test_people_and_the_connector_can_set_every_mapped_field_after_install(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    ids = {f.name: f.id for f in gateway.fields()}
    spec = MAPPING.jira.fields
    emma = person(sandbox, "eng.emma")
    change = emma.create_issue(
        fields={
            "project": {"key": "EMG"},
            "issuetype": {"name": "Emergency Change"},
            "summary": "DB down",
            ids[spec.category.name]: {"value": "Service outage"},
            ids[spec.impact.name]: "All customers",
        }
    )
    bot = gateway_for(sandbox, "ecm-bot")
    lead = bot.user_ref(sandbox.state.users["lead.liam"].account_id)
    bot.edit_issue(
        change.key,
        {ids[spec.lead_approver.name]: lead, ids[spec.deployed_at.name]: "2026-12-01T10:00:00.000+0000"},
    )
    change.update(fields={ids[spec.pr_url.name]: "https://git.example.com/pr/7"})
    pm_key = bot.create_issue(
        "EMG",
        "Post-Mortem",
        "Post-mortem of " + change.key,
        fields={"duedate": "2026-12-04", "labels": ["pm"]},
    )
    emma.issue(pm_key).update(fields={ids[spec.report_url.name]: "https://wiki.example.com/pm"})
    assert getattr(emma.issue(change.key).fields, ids[spec.lead_approver.name]).displayName == "Liam Lead"


def test_install_switches_a_project_with_change_issues_to_the_new_workflow(sandbox, settings):
    admin = person(sandbox, "admin")
    s, url = admin._session, sandbox.url
    type_id = s.post(f"{url}/rest/api/3/issuetype", json={"name": "Emergency Change"}).json()["id"]
    s.put(f"{url}/rest/api/3/issuetypescheme/10001/issuetype", json={"issueTypeIds": [type_id]})
    emma = person(sandbox, "eng.emma")
    early = emma.create_issue(
        project="EMG", summary="Before the install", issuetype={"name": "Emergency Change"}
    )
    emma.transition_issue(early, "In Progress")

    gateway = gateway_for(sandbox)
    planned = {(i.kind, i.name): i for i in plan(MAPPING, gateway, settings=settings).items}
    assert planned[("project workflow scheme", "EMG")].detail == (
        "switch to ECM EMG Emergency Change scheme; existing Emergency Change issues move to Identified"
    )
    install(MAPPING, gateway, settings=settings)
    assert gateway.get_issue(early.key).status == "Identified"
    assert gateway.project_workflow_scheme("10000").name == "ECM EMG Emergency Change scheme"
    assert plan(MAPPING, gateway, settings=settings).changes == ()


def test_doctor_names_a_type_missing_from_the_scheme_and_a_field_off_the_screen(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    assert [c.render() for c in doctor(MAPPING, gateway, settings=settings) if not c.ok] == []
    deployed_at = next(f.id for f in gateway.fields() if f.name == "Deployed At")
    with sandbox.state.lock:
        config = sandbox.state.config
        post_mortem = next(i for i, t in sandbox.state.issue_types.items() if t["name"] == "Post-Mortem")
        config.issue_type_schemes["10001"].issue_type_ids.remove(post_mortem)
        for tab in config.screens[10000].tabs:
            tab.fields = [f for f in tab.fields if f != deployed_at]

    checks = {c.name: c for c in doctor(MAPPING, gateway, settings=settings)}
    scheme, screens = checks["issue type scheme"], checks["screens"]
    assert not scheme.ok and scheme.detail == f"EMG cannot create Post-Mortem: not in '{SCHEME}'"
    assert scheme.fix.startswith(f"add Post-Mortem to the issue type scheme '{SCHEME}'")
    assert not screens.ok and screens.detail == f"Deployed At not on screen '{SCREEN}'"
    assert screens.fix.startswith(f"add Deployed At to screen '{SCREEN}' (Administration > Issues > Screens")

    env = {**ENV, "ECM_JIRA_URL": sandbox.url, "ECM_JIRA_USER": "admin", "ECM_JIRA_TOKEN": "admin"}
    result = CliRunner().invoke(cli, ["doctor", "--mapping", "mappings/jira-cloud.yaml"], env=env)
    assert result.exit_code == 1, result.output
    assert f"fix: add Post-Mortem to the issue type scheme '{SCHEME}'" in result.output
    assert f"fix: add Deployed At to screen '{SCREEN}'" in result.output


def test_doctor_names_the_project_permissions_the_connector_account_lacks(sandbox, settings):
    install(MAPPING, gateway_for(sandbox), settings=settings)
    bot = gateway_for(sandbox, "ecm-bot")
    assert next(c for c in doctor(MAPPING, bot, settings=settings) if c.name == "permissions").ok
    with sandbox.state.lock:
        sandbox.state.grants["LINK_ISSUES"] = {"jira-administrators"}
    check = next(c for c in doctor(MAPPING, bot, settings=settings) if c.name == "permissions")
    assert not check.ok and check.detail == "missing on EMG: LINK_ISSUES"
    assert "grant the connector's account LINK_ISSUES" in check.fix


def test_doctor_names_browse_users_and_groups_when_the_connector_account_cannot_read_people(
    sandbox, settings
):
    install(MAPPING, gateway_for(sandbox), settings=settings)
    with sandbox.state.lock:
        sandbox.state.grants["USER_PICKER"] = {"jira-administrators"}
    check = next(
        c
        for c in doctor(MAPPING, gateway_for(sandbox, "ecm-bot"), settings=settings)
        if c.name == "permissions"
    )
    assert not check.ok and check.detail == "missing on EMG: USER_PICKER"
    assert check.fix == (
        "give the connector's account the global permission Browse users and groups"
        " (Settings > System > Global permissions)"
    )


def test_doctor_names_a_mapped_status_renamed_in_jira(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    with sandbox.state.lock:
        reviewed = next(s for s in sandbox.state.statuses.values() if s.name == "Reviewed")
        sandbox.state.statuses[reviewed.id] = replace(reviewed, name="Peer Reviewed")
    check = next(c for c in doctor(MAPPING, gateway, settings=settings) if c.name == "statuses")
    assert not check.ok and check.detail == "missing Reviewed" and "ecm install" in check.fix
