"""A mapping's policy carries its calendar's zone, in which the rules' words show times."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector.mapping import load_mapping

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


@pytest.mark.parametrize("name", ["jira-cloud.yaml", "jira-datacenter.yaml", "servicenow.yaml"])
def test_the_policy_takes_the_zone_of_the_mappings_calendar(name):
    mapping = load_mapping(MAPPINGS / name)
    assert mapping.policy().zone == ZoneInfo(mapping.calendar.timezone)
