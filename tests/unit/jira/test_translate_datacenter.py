"""Jira Data Center webhooks, parsed and translated: changelog items name custom fields by display name.

Data Center sends no `fieldId` in changelog items; `field` is the field's name (the captured body
`webhook-server-updated-custom-field.json` changes a custom field called "numfield"). The bodies here are
that captured body with the field renamed to the mapping's and the issue made an Emergency Change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector import commands as c
from connector.inbound.jira import parse_jira
from connector.jira.translate import JiraTranslator
from connector.mapping import load_mapping
from connector.procedure.model import Stage
from connector.tools import ToolContext
from tests.fakes import StaticDirectory

ROOT = Path(__file__).parents[3]
MAPPING = load_mapping(ROOT / "mappings" / "jira-datacenter.yaml")
CAPTURED = ROOT / "tests" / "fixtures" / "jira" / "webhooks" / "webhook-server-updated-custom-field.json"
FIELD_IDS = {"pr_url": "customfield_10020", "docs_url": "customfield_10021", "category": "customfield_10010"}
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def translate():
    section = MAPPING.jira
    ctx = ToolContext(
        tool="jira",
        calendar=MAPPING.calendar.build(),
        policy=MAPPING.policy(),
        directory=StaticDirectory(),
        account=lambda: "ecm-bot",
        statuses={Stage(stage): name for stage, name in section.statuses.model_dump().items()},
        group_names={"leads": MAPPING.groups.leads, "security": MAPPING.groups.security},
        recipients_by_kind={},
    )
    translator = JiraTranslator(ctx, section, FIELD_IDS, "http://jira.test")

    def run(field: str, value: str) -> list:
        body = json.loads(CAPTURED.read_text())
        body["issue"]["fields"]["issuetype"]["name"] = section.issue_types.change
        (item,) = body["changelog"]["items"]
        assert "fieldId" not in item  # as Data Center sends it
        item.update({"field": field, "fromString": None, "toString": value})
        _, event = parse_jira({}, json.dumps(body).encode(), received_at=NOW)
        return translator(event, "delivery-1")

    return run


def links(commands: list) -> list[tuple[str, str]]:
    return [(command.kind, command.url) for command in commands if isinstance(command, c.RecordLink)]


def test_pull_request_typed_into_its_field_on_datacenter_is_recorded(translate):
    url = "https://git.example.com/acme/checkout/pull/4242"
    assert links(translate(MAPPING.jira.fields.pr_url.name, url)) == [("pr", url)]


def test_documentation_link_typed_into_its_field_on_datacenter_is_recorded(translate):
    url = "https://wiki.example.com/changes/checkout"
    assert links(translate(MAPPING.jira.fields.docs_url.name, url)) == [("docs", url)]


def test_another_custom_field_changing_records_no_link(translate):
    assert links(translate("numfield", "https://example.com")) == []
