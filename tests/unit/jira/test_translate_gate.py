"""A changelog that shows the gate field written by anyone but the connector becomes RestoreGate; the
connector's own write of it is its echo and is ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connector import commands as c
from connector.inbound.events import FieldChange, IssueUpdated
from connector.jira.translate import JiraTranslator
from connector.mapping import load_mapping
from connector.procedure.model import Stage
from connector.tools import ToolContext
from tests.fakes import StaticDirectory

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
FIELD_IDS = {"gate": "customfield_10090", "pr_url": "customfield_10020"}
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def translator() -> JiraTranslator:
    section = MAPPING.jira
    ctx = ToolContext(
        tool="jira",
        calendar=MAPPING.calendar.build(),
        policy=MAPPING.policy(),
        directory=StaticDirectory(),
        account=lambda: "acc-ecm-bot",
        statuses={Stage(stage): name for stage, name in section.statuses.model_dump().items()},
        group_names={"leads": MAPPING.groups.leads, "security": MAPPING.groups.security},
        recipients_by_kind={},
        gate_field="gate",
    )
    return JiraTranslator(ctx, section, FIELD_IDS, "https://acme.atlassian.net")


def gate_written_by(actor: str) -> IssueUpdated:
    change = FieldChange("customfield_10090", "ECM Gate", "", "approved,deployed")
    return IssueUpdated(
        "jira", "EMG-7", "10070", MAPPING.jira.issue_types.change, actor, NOW, "In Review", changes=(change,)
    )


def test_someone_elses_write_of_the_gate_field_asks_for_it_to_be_set_back():
    commands = translator()(gate_written_by("acc-admin"), "delivery-9")
    (restore,) = [command for command in commands if isinstance(command, c.RestoreGate)]
    assert (restore.key, restore.actor, restore.found) == ("EMG-7", "acc-admin", "approved,deployed")


def test_the_connectors_own_write_of_the_gate_is_its_echo():
    ignored = translator()(gate_written_by("acc-ecm-bot"), "delivery-10")
    assert not isinstance(ignored, list)
