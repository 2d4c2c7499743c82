"""`ecm install` for Jira Data Center against the sandbox: what REST allows, then the written steps followed
in the administration pages (statuses, Import from XML, workflow scheme), as an admin would."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import load_settings
from connector.demo.datacenter import edit_options_step
from connector.jira.doctor import doctor
from connector.jira.gateway import JiraGateway
from connector.jira.installer import install, plan
from connector.jira.workflow import ALL_STAGES, CATEGORY, workflow_name
from connector.mapping import load_mapping
from sandbox.jira.server import SandboxJira

pytestmark = pytest.mark.slow

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-datacenter.yaml")
ENV = {"ECM_PUBLIC_URL": "http://127.0.0.1:9", "ECM_JIRA_WEBHOOK_TOKEN": "url-token-1234"}
STEPS, XML = "ecm-EMG-install-steps.txt", "ecm-EMG-workflow.xml"


@pytest.fixture
def sandbox():
    with SandboxJira("datacenter") as jira:
        yield jira


@pytest.fixture
def settings(tmp_path):
    return load_settings({**ENV, "ECM_DATA_DIR": str(tmp_path), "ECM_JIRA_FLAVOR": "datacenter"})


def gateway_for(sandbox: SandboxJira, user: str = "admin") -> JiraGateway:
    return JiraGateway(sandbox.url, flavor="datacenter", user=None, token=f"pat-{user}")


def add_statuses(sandbox: SandboxJira) -> None:
    """Step 1 of the first steps file: Administration > Issues > Statuses > Add status."""
    for stage in ALL_STAGES:
        name = MAPPING.jira.statuses.status_of(stage)
        added = sandbox.admin_page("POST", "statuses", {"name": name, "category": CATEGORY[stage]})
        assert added.status_code == 201, added.text


def import_and_switch(sandbox: SandboxJira, xml: str) -> dict:
    """The steps once the XML is written: import it, put it in a scheme, switch the project to it."""
    name = workflow_name(MAPPING)
    imported = sandbox.admin_page("POST", "workflows/import", {"name": name, "xml": xml})
    assert imported.status_code == 201, imported.text
    scheme = {"name": f"{name} scheme", "issueTypeMappings": {MAPPING.jira.issue_types.change: name}}
    assert sandbox.admin_page("POST", "workflowschemes", scheme).status_code == 201
    assert (
        sandbox.admin_page("PUT", "projects/EMG/workflowscheme", {"scheme": scheme["name"]}).status_code
        == 204
    )
    return imported.json()


def edit_options(sandbox: SandboxJira, steps: str) -> None:
    """Step 4 of the steps once the XML is written: Custom field > Configure > Edit options."""
    field, options = edit_options_step(steps)
    added = sandbox.admin_page("POST", f"fields/{field}/options", {"options": options})
    assert added.status_code == 201, added.text


def test_statuses_come_first_with_exact_steps_and_no_workflow_xml_names_a_missing_status(
    sandbox, settings, tmp_path
):
    gateway = gateway_for(sandbox)
    items = {(i.kind, i.name): i for i in plan(MAPPING, gateway, settings=settings).items}
    assert items[("status", "Awaiting Approval")].action == "manual"
    assert "Add status" in items[("status", "Awaiting Approval")].detail
    install(MAPPING, gateway, settings=settings, out_dir=tmp_path)
    steps = (tmp_path / STEPS).read_text()
    assert "Administration > Issues > Statuses > Add status" in steps
    assert "Awaiting Approval (In Progress)" in steps and "Closed (Done)" in steps
    assert "ecm install" in steps and "Map statuses" not in steps
    assert not (tmp_path / XML).exists()


def test_the_written_xml_names_every_status_by_id_and_creates_fire_issue_created(sandbox, settings, tmp_path):
    gateway = gateway_for(sandbox)
    install(MAPPING, gateway, settings=settings, out_dir=tmp_path)
    add_statuses(sandbox)
    install(MAPPING, gateway, settings=settings, out_dir=tmp_path)
    steps = (tmp_path / STEPS).read_text()
    assert "Import from XML" in steps and "Map statuses" not in steps and "Add status" not in steps
    imported = import_and_switch(sandbox, (tmp_path / XML).read_text())
    assert imported["unknownStatusIds"] == []
    assert edit_options_step(steps) == ("Critical Issue Category", list(MAPPING.jira.fields.category.options))
    edit_options(sandbox, steps)

    fields = {f.name: f.id for f in gateway.fields()}
    key = gateway_for(sandbox, "eng.emma").create_issue(
        "EMG",
        MAPPING.jira.issue_types.change,
        "DB down",
        "",
        fields={
            fields["Critical Issue Category"]: {"value": "Service outage"},
            fields["Impact Description"]: "All",
        },
    )
    assert gateway.get_issue(key).status == "Identified"
    sandbox.deliver_pending()
    with sandbox.state.lock:
        sent = [
            (d["body"]["webhookEvent"], d["body"]["issue_event_type_name"]) for d in sandbox.state.deliveries
        ]
    assert sent == [("jira:issue_created", "issue_created")]


def test_approval_is_for_the_two_groups_and_the_revert_for_the_connector_only(sandbox, settings, tmp_path):
    gateway = gateway_for(sandbox)
    add_statuses(sandbox)
    install(MAPPING, gateway, settings=settings, out_dir=tmp_path)
    import_and_switch(sandbox, (tmp_path / XML).read_text())
    emma, liam, bot = (gateway_for(sandbox, u) for u in ("eng.emma", "lead.liam", "ecm-bot"))
    key = emma.create_issue("EMG", MAPPING.jira.issue_types.change, "DB down", "")
    emma.transition(key, next(t.id for t in emma.transitions(key) if t.name == "Request Approval"))
    assert "Approve" not in {t.name for t in emma.transitions(key)}
    assert not any(t.name.startswith("ECM revert") for t in liam.transitions(key))
    liam.transition(key, next(t.id for t in liam.transitions(key) if t.name == "Approve"))
    assert gateway.get_issue(key).status == "Approved"
    revert = next(t for t in bot.transitions(key) if t.name == "ECM revert to Awaiting Approval")
    bot.transition(key, revert.id)
    assert gateway.get_issue(key).status == "Awaiting Approval"


TOKEN = ENV["ECM_JIRA_WEBHOOK_TOKEN"]


def registered_urls(sandbox: SandboxJira) -> list[str]:
    with sandbox.state.lock:
        return [hook.url for hook in sandbox.state.webhooks.values()]


@pytest.mark.parametrize("version", ["9.12.0", "10.3.0"])
def test_the_webhook_is_registered_with_the_url_token_which_no_output_shows(tmp_path, version):
    settings = load_settings({**ENV, "ECM_DATA_DIR": str(tmp_path), "ECM_JIRA_WEBHOOK_SECRET": "s3cret"})
    with SandboxJira("datacenter", version=version) as sandbox:
        lines: list[str] = []
        install(
            MAPPING,
            gateway_for(sandbox),
            settings=settings,
            out_dir=tmp_path,
            progress=lambda i: lines.append(i.render()),
        )
        assert registered_urls(sandbox) == [f"{ENV['ECM_PUBLIC_URL']}/webhooks/jira?token={TOKEN}"]
        webhook_lines = [line for line in lines if " webhook " in line]
        assert webhook_lines == [
            f"create  webhook  ECM Connector — {ENV['ECM_PUBLIC_URL']}/webhooks/jira?token=(secret)"
        ]
        assert not any(TOKEN in line for line in lines)
        again = plan(MAPPING, gateway_for(sandbox), settings=settings)
        assert [i.action for i in again.items if i.kind == "webhook"] == ["unchanged"]


def test_without_a_token_data_center_9_gets_no_webhook_but_the_exact_fix(sandbox, tmp_path):
    settings = load_settings(
        {
            "ECM_PUBLIC_URL": ENV["ECM_PUBLIC_URL"],
            "ECM_DATA_DIR": str(tmp_path),
            "ECM_JIRA_WEBHOOK_SECRET": "s3cret",
        }
    )
    (item,) = [i for i in plan(MAPPING, gateway_for(sandbox), settings=settings).items if i.kind == "webhook"]
    assert item.action == "manual" and "ECM_JIRA_WEBHOOK_TOKEN" in item.detail
    install(MAPPING, gateway_for(sandbox), settings=settings, out_dir=tmp_path)
    assert registered_urls(sandbox) == []
    check = next(c for c in doctor(MAPPING, gateway_for(sandbox), settings=settings) if c.name == "webhook")
    assert not check.ok and "ECM_JIRA_WEBHOOK_TOKEN" in check.render()


def test_doctor_names_a_webhook_that_lost_its_token_and_exits_1(sandbox, settings, tmp_path):
    from click.testing import CliRunner

    from connector.cli import cli

    install(MAPPING, gateway_for(sandbox), settings=settings, out_dir=tmp_path)
    check = next(c for c in doctor(MAPPING, gateway_for(sandbox), settings=settings) if c.name == "webhook")
    assert check.ok, check.render()
    with sandbox.state.lock:
        for hook in sandbox.state.webhooks.values():
            hook.url = f"{ENV['ECM_PUBLIC_URL']}/webhooks/jira"
    check = next(c for c in doctor(MAPPING, gateway_for(sandbox), settings=settings) if c.name == "webhook")
    assert not check.ok and "without the connector's token" in check.detail
    assert "ecm install" in check.fix and TOKEN not in check.render()
    with sandbox.state.lock:
        for hook in sandbox.state.webhooks.values():
            hook.url = f"https://elsewhere.example/hook?token={TOKEN}"
    check = next(c for c in doctor(MAPPING, gateway_for(sandbox), settings=settings) if c.name == "webhook")
    assert check.detail == (
        f"points at https://elsewhere.example/hook?token=(secret), not {ENV['ECM_PUBLIC_URL']}/webhooks/jira"
        "?token=(secret)"
    )
    assert f"{ENV['ECM_PUBLIC_URL']}/webhooks/jira?token=(secret)" in check.fix
    with sandbox.state.lock:
        hook.url = f"{ENV['ECM_PUBLIC_URL']}/webhooks/jira"  # the token lost again, for the CLI below

    env = {
        **ENV,
        "ECM_JIRA_URL": sandbox.url,
        "ECM_JIRA_FLAVOR": "datacenter",
        "ECM_JIRA_TOKEN": "pat-admin",
        "ECM_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(cli, ["doctor", "--mapping", "mappings/jira-datacenter.yaml"], env=env)
    assert result.exit_code == 1, result.output
    assert "without the connector's token" in result.output and TOKEN not in result.output


def _installed(sandbox: SandboxJira, settings, tmp_path: Path) -> str:
    """Everything the steps ask done but the options: the steps file that lists them."""
    add_statuses(sandbox)
    install(MAPPING, gateway_for(sandbox), settings=settings, out_dir=tmp_path)
    import_and_switch(sandbox, (tmp_path / XML).read_text())
    return (tmp_path / STEPS).read_text()


def _options_check(sandbox: SandboxJira, settings):
    found = [c for c in doctor(MAPPING, gateway_for(sandbox), settings=settings) if c.name == "field options"]
    return found[0] if found else None


def test_doctor_names_the_category_missing_from_the_fields_options_with_the_exact_fix(
    sandbox, settings, tmp_path
):
    field, listed = edit_options_step(_installed(sandbox, settings, tmp_path))
    assert MAPPING.deploys.bypass.category == "Service outage"
    sandbox.admin_page("POST", f"fields/{field}/options", {"options": listed[1:]})

    check = _options_check(sandbox, settings)

    assert not check.ok
    assert check.detail == (
        "'Critical Issue Category' in EMG lacks the option(s) Service outage (deploys.bypass.category: bypass"
        " changes are opened with it)"
    )
    assert check.fix.startswith(
        "Custom field 'Critical Issue Category' > Configure > Edit options: add Service outage"
    )
    sandbox.admin_page("POST", f"fields/{field}/options", {"options": listed[:1]})
    assert _options_check(sandbox, settings).ok


def test_before_jira_9_3_doctor_cannot_read_the_options_and_leaves_them_to_the_admin(settings, tmp_path):
    with SandboxJira("datacenter", version="9.2.0") as sandbox:
        _installed(sandbox, settings, tmp_path)
        assert _options_check(sandbox, settings) is None
        assert any(
            c.name == "statuses" and c.ok for c in doctor(MAPPING, gateway_for(sandbox), settings=settings)
        )
