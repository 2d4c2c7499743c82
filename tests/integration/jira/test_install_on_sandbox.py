"""`ecm plan` / `install` / `doctor` for Jira Cloud against the sandbox, through the real `jira` library."""

from __future__ import annotations

from pathlib import Path

import pytest
from jira import JIRA, JIRAError

from connector.config import load_settings
from connector.jira.doctor import doctor
from connector.jira.gateway import JiraGateway
from connector.jira.installer import install, plan
from connector.jira.workflow import revert_transition_name
from connector.mapping import load_mapping
from sandbox.jira.server import SandboxJira

pytestmark = pytest.mark.slow

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
ENV = {"ECM_PUBLIC_URL": "https://ecm.example.com", "ECM_JIRA_WEBHOOK_SECRET": "hook-secret"}


@pytest.fixture
def sandbox(tmp_path):
    jira = SandboxJira("cloud")
    jira.start()
    yield jira
    jira.stop()


@pytest.fixture
def settings(tmp_path):
    return load_settings({**ENV, "ECM_DATA_DIR": str(tmp_path)})


def gateway_for(sandbox: SandboxJira, user: str = "admin") -> JiraGateway:
    return JiraGateway(sandbox.url, flavor="cloud", user=user, token=user)


def person(sandbox: SandboxJira, user: str) -> JIRA:
    return JIRA(server=sandbox.url, basic_auth=(user, user), max_retries=0, get_server_info=False, timeout=10)


def test_fresh_jira_plans_creates_then_install_leaves_everything_unchanged(sandbox, settings):
    gateway = gateway_for(sandbox)
    first = plan(MAPPING, gateway, settings=settings)
    created = {(i.kind, i.name) for i in first.items if i.action == "create"}
    assert ("status", "Awaiting Approval") in created
    assert ("issue type", "Emergency Change") in created
    assert ("webhook", "ECM Connector") in created
    assert ("workflow", "ECM EMG Emergency Change") in created

    lines: list[str] = []
    install(MAPPING, gateway, settings=settings, progress=lambda item: lines.append(item.render()))
    assert any(line.startswith("create  status  Awaiting Approval") for line in lines)

    again = plan(MAPPING, gateway, settings=settings)
    assert [i.render() for i in again.items if i.action != "unchanged"] == []
    assert again.changes == ()


def test_install_works_on_a_project_that_already_has_issues(sandbox, settings):
    person(sandbox, "eng.emma").create_issue(
        fields={"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "existing work"}
    )
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    assert plan(MAPPING, gateway, settings=settings).changes == ()
    assert gateway.search("project = EMG").issues[0].summary == "existing work"


def new_change(sandbox: SandboxJira, field_ids: dict[str, str]) -> str:
    fields = {
        "project": {"key": "EMG"},
        "issuetype": {"name": "Emergency Change"},
        "summary": "DB down",
        field_ids["category"]: {"value": "Service outage"},
        field_ids["impact"]: "All customers",
    }
    return person(sandbox, "eng.emma").create_issue(fields=fields).key


def test_people_see_the_next_step_and_only_approvers_can_approve(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    field_ids = {f.name: f.id for f in gateway.fields()}
    key = new_change(
        sandbox, {"category": field_ids["Critical Issue Category"], "impact": field_ids["Impact Description"]}
    )
    emma = person(sandbox, "eng.emma")
    offered = {t["name"] for t in emma.transitions(key)}
    assert {"Request Approval", "Cancel"} <= offered
    assert not any(name.startswith("ECM revert") for name in offered)
    emma.transition_issue(key, "Request Approval")

    assert "Approve" not in {t["name"] for t in emma.transitions(key)}
    approve_id = next(t.id for t in gateway_for(sandbox, "lead.liam").transitions(key) if t.name == "Approve")
    with pytest.raises(JIRAError):
        emma.transition_issue(key, approve_id)
    person(sandbox, "lead.liam").transition_issue(key, approve_id)
    assert gateway.get_issue(key).status == "Approved"

    bot = gateway_for(sandbox, "ecm-bot")
    revert = next(t for t in bot.transitions(key) if t.name == revert_transition_name("Awaiting Approval"))
    bot.transition(key, revert.id)
    assert gateway.get_issue(key).status == "Awaiting Approval"


def test_doctor_passes_after_install_and_names_the_fix_when_the_webhook_is_disabled(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    checks = {c.name: c for c in doctor(MAPPING, gateway, settings=settings)}
    installed = (
        "connectivity and account",
        "permissions",
        "group engineering-leads",
        "group security-team",
        "group ecm-automation",
        "webhook",
        "statuses",
        "issue type scheme",
        "screens",
        "workflow",
    )
    assert set(checks) == set(installed)
    assert [checks[name].render() for name in installed if not checks[name].ok] == []

    with sandbox.state.lock:
        for hook in sandbox.state.webhooks.values():
            hook.enabled = False
    webhook = next(c for c in doctor(MAPPING, gateway, settings=settings) if c.name == "webhook")
    assert not webhook.ok and "disabled" in webhook.detail and "ecm install" in webhook.fix


def test_doctor_reports_a_workflow_rule_removed_by_hand(sandbox, settings):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings)
    with sandbox.state.lock:
        workflow = sandbox.state.workflows["ECM EMG Emergency Change"]
        next(t for t in workflow.transitions if t.name == "Approve").conditions = None
    check = next(c for c in doctor(MAPPING, gateway, settings=settings) if c.name == "workflow")
    assert not check.ok
    assert "'Approve' is not restricted to the approver groups" in check.detail
    assert check.fix


def test_ecm_plan_prints_one_line_per_item(sandbox, monkeypatch):
    from click.testing import CliRunner

    from connector.cli import cli

    env = {**ENV, "ECM_JIRA_URL": sandbox.url, "ECM_JIRA_USER": "admin", "ECM_JIRA_TOKEN": "admin"}
    result = CliRunner().invoke(cli, ["plan", "--mapping", "mappings/jira-cloud.yaml"], env=env)
    assert result.exit_code == 0, result.output
    assert "create  status  Awaiting Approval" in result.output
