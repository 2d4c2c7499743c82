"""A broken mapping is refused with one line per problem: `file:path.to.key: what is wrong`."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping import load_mapping, load_mapping_text

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"
JIRA = (MAPPINGS / "jira-cloud.yaml").read_text()
SERVICENOW = (MAPPINGS / "servicenow.yaml").read_text()


def problems(text: str, name: str = "mappings/x.yaml") -> list[str]:
    with pytest.raises(MappingError) as caught:
        load_mapping_text(text, name)
    return str(caught.value).splitlines()


def edited(text: str, old: str, new: str) -> str:
    assert old in text, f"the shipped mapping no longer contains {old!r}"
    return text.replace(old, new, 1)


def test_unknown_time_zone_names_file_key_and_zone():
    assert problems(edited(JIRA, "America/New_York", "Mars/Base")) == [
        "mappings/x.yaml:calendar.timezone: unknown time zone 'Mars/Base'"
    ]


def test_unknown_key_is_refused_where_it_stands():
    text = edited(JIRA, "  project: EMG", "  project: EMG\n  projct: EMG")

    assert problems(text) == ["mappings/x.yaml:jira.projct: unknown key"]


def test_missing_key_is_named():
    assert problems(edited(JIRA, "  security: security-team", "")) == [
        "mappings/x.yaml:groups.security: required key missing"
    ]


def test_unknown_holiday_country_is_refused():
    assert problems(edited(JIRA, "country: US", "country: XX"))[0].startswith(
        "mappings/x.yaml:calendar.country: unknown holiday country 'XX'"
    )


def test_subdivision_must_belong_to_the_country():
    [line] = problems(edited(JIRA, "# subdivision: NY", "subdivision: BY"))

    assert line.startswith(
        "mappings/x.yaml:calendar.subdivision: unknown subdivision 'BY' of US (known: AK, AL"
    )


def test_known_subdivision_is_accepted():
    mapping = load_mapping_text(edited(JIRA, "# subdivision: NY", "subdivision: NY"), "x.yaml")

    assert mapping.calendar.subdivision == "NY"


def test_country_norway_is_not_read_as_false():
    assert load_mapping_text(edited(JIRA, "country: US", "country: NO"), "x.yaml").calendar.country == "NO"


def test_every_stage_needs_a_jira_status():
    assert problems(edited(JIRA, "    in_review: In Review\n", "")) == [
        "mappings/x.yaml:jira.statuses.in_review: required key missing"
    ]


def test_two_stages_cannot_share_a_jira_status():
    assert problems(edited(JIRA, "reviewed: Reviewed", "reviewed: in review")) == [
        "mappings/x.yaml:jira.statuses.reviewed: status 'in review' is already used for in_review"
    ]


def test_only_version_1_exists():
    assert problems(edited(JIRA, "version: 1 ", "version: 2 ")) == [
        "mappings/x.yaml:version: must be 1 (got 2)"
    ]


def test_yaml_syntax_error_points_at_the_line():
    [line] = problems(edited(JIRA, "  project: EMG", "  project: [EMG"))

    assert line.startswith("mappings/x.yaml:12: YAML syntax error:")


def test_a_key_given_twice_is_refused_with_its_line():
    assert problems(edited(JIRA, "version: 1", "version: 1\nversion: 1")) == [
        "mappings/x.yaml:8: YAML syntax error: key 'version' appears twice"
    ]


def test_a_file_that_is_not_a_mapping_of_keys_is_refused():
    assert problems("- jira\n") == [
        "mappings/x.yaml: must be a mapping of keys (version, target, ...), not list"
    ]


def test_section_of_another_target_is_refused():
    assert problems(edited(JIRA, "target: jira-cloud", "target: servicenow")) == [
        "mappings/x.yaml:jira: not used by target servicenow (it takes a servicenow: section)",
        "mappings/x.yaml:servicenow: required key missing for target servicenow",
    ]


def test_unknown_target_lists_the_known_ones():
    assert problems(edited(JIRA, "target: jira-cloud", "target: gitlab")) == [
        "mappings/x.yaml:target: must be 'jira-cloud', 'jira-datacenter' or 'servicenow' (got 'gitlab')"
    ]


def test_jira_cloud_cannot_use_a_personal_access_token():
    assert problems(edited(JIRA, "auth: basic", "auth: pat")) == [
        "mappings/x.yaml:jira.auth: Jira Cloud takes basic (account e-mail and API token)"
    ]


def test_jira_datacenter_takes_a_personal_access_token_not_a_password():
    datacenter = (MAPPINGS / "jira-datacenter.yaml").read_text()
    assert problems(edited(datacenter, "auth: pat", "auth: basic")) == [
        "mappings/x.yaml:jira.auth: Jira Data Center takes pat"
        " (a personal access token of the connector's account)"
    ]


def test_every_problem_is_reported_at_once():
    text = edited(edited(JIRA, "America/New_York", "Mars/Base"), "pr: /pr", "pr: /docs")

    assert problems(text) == [
        "mappings/x.yaml:commands.docs: /docs is already the word for pr",
        "mappings/x.yaml:calendar.timezone: unknown time zone 'Mars/Base'",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("approve: /approve\n", "approve: approve\n", "commands.approve: must be one word starting with '/'"),
        ("created: [leads, security]", "created: [leads]", "recipients.created: must include security"),
        (
            "breach: [assignee, leads, security]",
            "breach: [bosses]",
            "recipients.breach.0: must be 'assignee'",
        ),
        (
            "    - hours: 4",
            "    - hours: 4\n      business_days: 2",
            "reminders.before.1: give exactly one of",
        ),
        ("    - hours: 4", "    - hours: 0", "reminders.before.1.hours: input should be greater than 0"),
        ("closures: []", "closures: [2025-02-30]", "calendar.closures.0: must be a date like 2025-12-26"),
        ("business_days: 3 ", "business_days: 0 ", "calendar.business_days: input should be greater than"),
        ("      type: textarea", "      type: text", "jira.fields.impact.type: must be textarea for impact"),
        ("      on: postmortem", "      on: change", "jira.fields.report_url.on: must be postmortem"),
        ("      type: select", "      type: selekt", "jira.fields.category.type: must be 'select', 'text'"),
        (
            "Critical Issue Category",
            "Impact Description",
            "jira.fields.impact: field name 'Impact Description'",
        ),
        ("project: EMG", "project: emg", "jira.project: must be a Jira project key"),
        (
            "create_postmortem_on: deployed",
            "create_postmortem_on: shipped",
            "jira.create_postmortem_on: must be",
        ),
        (
            "url: ${ECM_PUBLIC_URL}/webhooks/jira",
            "url: ftp://ecm",
            "jira.webhook.url: must be an http(s) URL",
        ),
    ],
)
def test_jira_mapping_problem_is_reported_at_its_key(old, new, expected):
    assert any(line.startswith(f"mappings/x.yaml:{expected}") for line in problems(edited(JIRA, old, new)))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"-1": deployed', '"-1": shipped', "servicenow.states.-1: must be 'identified'"),
        ('"3": closed', "closed: closed", "servicenow.states.closed: state values are whole numbers"),
        ('"3": closed', '"3": cancelled', "servicenow.states: no state maps to closed"),
        ("enabled: false", "enabled: true\n    schedule_name: ''", "servicenow.sla.schedule_name: required"),
        ("drift: ecm.drift", "drift: Drift Alert", "servicenow.events.drift: must be a dotted lower-case"),
    ],
)
def test_servicenow_mapping_problem_is_reported_at_its_key(old, new, expected):
    text = edited(SERVICENOW, old, new).replace("    schedule_name: 8-5", "    # 8-5")

    assert any(line.startswith(f"mappings/x.yaml:{expected}") for line in problems(text))


def test_unreadable_file_is_a_mapping_error_naming_it(tmp_path):
    missing = tmp_path / "nope.yaml"

    with pytest.raises(MappingError, match=r"nope\.yaml: cannot read the file"):
        load_mapping(missing)


def test_errors_name_the_file_as_given(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(edited(JIRA, "America/New_York", "Mars/Base"))

    with pytest.raises(MappingError) as caught:
        load_mapping(str(path))

    assert str(caught.value) == f"{path}:calendar.timezone: unknown time zone 'Mars/Base'"


def test_deploy_key_pattern_must_be_a_regular_expression():
    text = edited(JIRA, "  # change_key: '\\b(EMG-\\d+)\\b'", "  change_key: '(EMG-'")

    [line] = problems(text)
    assert line.startswith("mappings/x.yaml:deploys.change_key: is not a regular expression: ")


def test_bypass_alert_must_reach_leads_and_security():
    text = edited(JIRA, "  alert: [leads, security]", "  alert: [leads]")

    assert problems(text) == [
        "mappings/x.yaml:deploys.alert: must include security (ENG-PROC-004 R9: bypasses are violations)"
    ]


def test_bypass_project_must_be_a_jira_project_key():
    text = edited(JIRA, "    project: EMG             # Jira", "    project: emg             # Jira")

    assert problems(text) == [
        "mappings/x.yaml:deploys.bypass.project: must be a Jira project key like EMG (got 'emg')"
    ]


def test_bypass_project_must_be_the_project_the_connector_watches():
    text = edited(JIRA, "    project: EMG             # Jira", "    project: OPS             # Jira")

    assert problems(text) == [
        "mappings/x.yaml:deploys.bypass.project: 'OPS' is not jira.project (EMG): the connector installs"
        " its fields and screens, hears webhooks and reconciles in that project only; leave it unset or"
        " set EMG"
    ]


def test_bypass_category_must_be_one_of_the_category_fields_options():
    text = edited(JIRA, "    category: Service outage #", "    category: Outage #")

    assert problems(text) == [
        "mappings/x.yaml:deploys.bypass.category: 'Outage' is not one of the change categories"
        " (jira.fields.category.options): Service outage, Data corruption, Security vulnerability,"
        " Customer impact"
    ]


def test_bypass_category_follows_the_options_the_admin_gave_the_field():
    text = edited(JIRA, "[Service outage, Data corruption,", "[Outage, Data corruption,")

    assert "'Service outage' is not one of the change categories" in problems(text)[0]
    renamed = edited(text, "    category: Service outage #", "    category: Outage #")
    assert load_mapping_text(renamed, "x.yaml").deploys.bypass.category == "Outage"


def test_servicenow_bypass_category_must_be_a_critical_issue_category():
    text = edited(SERVICENOW, "    category: Service outage #", "    category: Software #")

    assert problems(text) == [
        "mappings/x.yaml:deploys.bypass.category: 'Software' is not one of the change categories"
        " (the procedure's categories): Service outage, Data corruption, Security vulnerability,"
        " Customer impact"
    ]


def test_unknown_place_to_look_for_the_key_is_refused():
    text = edited(JIRA, "look_in: [change_key, payload,", "look_in: [change_key, commit,")

    [line] = problems(text)
    assert line.startswith("mappings/x.yaml:deploys.look_in.1: must be ")


def test_shipped_mappings_name_production_and_open_bypasses():
    for name in ("jira-cloud.yaml", "jira-datacenter.yaml", "servicenow.yaml"):
        deploys = load_mapping(MAPPINGS / name).deploys

        assert deploys is not None and deploys.production == ("production",)
        assert deploys.bypass is not None and deploys.is_production("Production")
        assert deploys.bypass.category == "Service outage"
