"""The schema file editors point at and the README stay in step with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from connector.mapping import JiraStatuses, mapping_json_schema
from connector.procedure.model import Stage

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


def schema_keys(node: object) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        keys |= set(node.get("properties", {}))
        for value in node.values():
            keys |= schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= schema_keys(value)
    return keys


def test_schema_json_is_the_generated_schema():
    shipped = json.loads((MAPPINGS / "schema.json").read_text())

    assert shipped == mapping_json_schema(), "regenerate it: ecm mappings schema > mappings/schema.json"


def test_readme_documents_every_key_of_the_schema():
    documented = set(re.findall(r"`([a-z_]+)`", (MAPPINGS / "README.md").read_text()))

    assert schema_keys(mapping_json_schema()) - documented == set()


def test_jira_statuses_cover_exactly_the_canonical_stages():
    assert set(JiraStatuses.model_fields) == {stage.value for stage in Stage}
