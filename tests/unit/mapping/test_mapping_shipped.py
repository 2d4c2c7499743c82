"""The three shipped mappings load and say what the procedure needs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping import AlertKind, Recipient, Target, default_policy, load_mapping, load_mapping_text
from connector.procedure.model import Stage

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"
SHIPPED = sorted(MAPPINGS.glob("*.yaml"))


@pytest.fixture
def jira_cloud_text() -> str:
    return (MAPPINGS / "jira-cloud.yaml").read_text()


@pytest.fixture
def servicenow_text() -> str:
    return (MAPPINGS / "servicenow.yaml").read_text()


def test_every_target_has_a_shipped_mapping():
    assert sorted(path.stem for path in SHIPPED) == sorted(target.value for target in Target)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_mapping_loads_with_the_organisation_defaults(path):
    mapping = load_mapping(path)

    assert mapping.target.value == path.stem
    assert mapping.version == 1
    assert (mapping.calendar.timezone, mapping.calendar.country, mapping.calendar.business_days) == (
        "America/New_York",
        "US",
        3,
    )
    assert mapping.verbal_confirmation.business_days == 1
    assert [(p.business_days, p.hours) for p in mapping.reminders.before] == [(1, None), (None, 4)]
    assert set(mapping.recipients.for_kind(AlertKind.BREACH)) == {
        Recipient.ASSIGNEE,
        Recipient.LEADS,
        Recipient.SECURITY,
    }


@pytest.mark.parametrize("name", ["jira-cloud.yaml", "jira-datacenter.yaml"])
def test_jira_mappings_name_a_status_for_every_stage_and_find_the_stage_back(name):
    jira = load_mapping(MAPPINGS / name).jira

    assert jira.project == "EMG"
    for stage in Stage:
        assert jira.statuses.stage_of(jira.statuses.status_of(stage).upper()) is stage
    assert jira.statuses.stage_of("Backlog") is None
    assert jira.fields.report_url.on == "postmortem"
    assert jira.fields.category.name == "Critical Issue Category"
    assert jira.create_postmortem_on is Stage.DEPLOYED


def test_jira_mappings_use_the_jira_group_names_and_their_own_auth():
    cloud, datacenter = (load_mapping(MAPPINGS / f"jira-{kind}.yaml") for kind in ("cloud", "datacenter"))

    assert (cloud.groups.leads, cloud.groups.security, cloud.groups.automation) == (
        "engineering-leads",
        "security-team",
        "ecm-automation",
    )
    assert (cloud.jira.auth, datacenter.jira.auth) == ("basic", "pat")


def test_servicenow_mapping_reads_emergency_states_as_stages():
    mapping = load_mapping(MAPPINGS / "servicenow.yaml")
    servicenow = mapping.servicenow

    assert (mapping.groups.leads, mapping.groups.security) == ("Engineering Leads", "Security Team")
    assert servicenow.stage_of(-1) is Stage.DEPLOYED
    assert servicenow.stage_of("-3") is Stage.AWAITING_APPROVAL
    assert servicenow.stage_of(99) is None
    assert servicenow.state_of(Stage.CLOSED) == "3"
    assert servicenow.events.for_kind(AlertKind.UNCONFIRMED_VERBAL) == "ecm.approval.unconfirmed"
    assert servicenow.create_postmortem_on is Stage.POSTMORTEM


def test_state_values_written_as_bare_numbers_are_read_as_text(servicenow_text):
    mapping = load_mapping_text(servicenow_text.replace('"-5": identified', "-5: identified"), "sn.yaml")

    assert mapping.servicenow.stage_of("-5") is Stage.IDENTIFIED


def test_comment_words_can_be_renamed_and_are_looked_up_case_insensitively(jira_cloud_text):
    text = jira_cloud_text.replace("approve: /approve\n", "approve: /lgtm\n")
    commands = load_mapping_text(text, "x.yaml").commands

    assert commands.command_for("/LGTM") == "approve"
    assert commands.command_for("/approve-verbal") == "approve_verbal"
    assert commands.command_for("/approve") is None


def test_omitted_common_sections_take_the_documented_defaults(jira_cloud_text):
    head, _, _ = jira_cloud_text.partition("commands:")
    start, end = jira_cloud_text.index("calendar:"), jira_cloud_text.index("verbal_confirmation:")
    calendar = jira_cloud_text[start:end]
    mapping = load_mapping_text(head + calendar, "x.yaml")

    assert mapping.commands.words()["security_reviewed"] == "/security-reviewed"
    assert mapping.reminders.escalate_every_business_day is True
    assert mapping.recipients.created == (Recipient.LEADS, Recipient.SECURITY)
    assert mapping.recipients.unconfirmed_verbal == (Recipient.APPROVER, Recipient.ENGINEER, Recipient.LEADS)


def test_policy_carries_the_business_days_and_categories_of_the_mapping(jira_cloud_text):
    text = jira_cloud_text.replace("business_days: 3 ", "business_days: 5 ").replace(
        "Customer impact]", "Customer impact, Regulatory deadline]"
    )
    policy = load_mapping_text(text, "x.yaml").policy()

    assert policy.postmortem_business_days == 5
    assert policy.verbal_confirmation_business_days == 1
    assert policy.category("regulatory deadline") == "Regulatory deadline"


def test_only_the_servicenow_policy_takes_a_close_code_as_the_change_documentation():
    policies = {path.stem: load_mapping(path).policy() for path in SHIPPED}
    assert {name: p.close_code_documents_change for name, p in policies.items()} == {
        "jira-cloud": False,
        "jira-datacenter": False,
        "servicenow": True,
    }
    assert default_policy("servicenow").close_code_documents_change
    assert not default_policy("jira").close_code_documents_change


def test_webhook_url_placeholder_is_filled_from_the_environment():
    webhook = load_mapping(MAPPINGS / "jira-cloud.yaml").jira.webhook

    assert webhook.resolved_url({"ECM_PUBLIC_URL": "https://ecm.example.com/"}) == (
        "https://ecm.example.com/webhooks/jira"
    )


def test_calendar_builds_the_business_calendar_with_holidays_and_closures(jira_cloud_text):
    text = jira_cloud_text.replace("closures: []", "closures: [2025-07-07]")
    calendar = load_mapping_text(text, "x.yaml").calendar
    business = calendar.build()

    deployed = datetime(2025, 7, 2, 15, 0, tzinfo=UTC)  # Wednesday; Friday 4 July is Independence Day
    deadline = business.deadline(deployed, calendar.business_days)

    assert deadline.isoformat() == "2025-07-09T23:59:59-04:00"


def test_webhook_url_with_an_unset_variable_cannot_be_resolved():
    webhook = load_mapping(MAPPINGS / "jira-cloud.yaml").jira.webhook

    with pytest.raises(MappingError, match="ECM_PUBLIC_URL is not set"):
        webhook.resolved_url({})
