"""Sandbox responses have the keys and shapes of the sample responses in the ServiceNow documentation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REFERENCE = Path("/work/shared/reference/servicenow")
if not REFERENCE.exists():
    REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference" / "servicenow"


def json_samples(name: str) -> list[dict]:
    path = REFERENCE / name
    if not path.exists():
        pytest.fail(f"reference document missing: {path}")
    samples = []
    for block in re.findall(r"```\n(.*?)```", path.read_text(), re.S):
        try:
            samples.append(json.loads(block))
        except ValueError:
            continue
    return samples


def full_change_sample() -> dict:
    return next(
        s["result"]
        for s in json_samples("change-management-api.md")
        if isinstance(s.get("result"), dict) and "implementation_plan" in s["result"]
    )


def test_change_request_has_every_field_of_the_documented_change(emma):
    sample = full_change_sample()
    record = emma(
        "POST",
        "/api/now/table/change_request?sysparm_display_value=all",
        json={"short_description": "x", "type": "emergency"},
    ).json["result"]
    assert set(sample) <= set(record)
    for name, value in sample.items():
        assert set(value) - {"display_value_internal"} <= set(record[name]), name
    assert record["type"] == {"display_value": "Emergency", "value": "emergency"}
    assert record["state"] == {"display_value": "New", "value": "-5"}


def table_api_samples() -> list[dict]:
    return [s for s in json_samples("c_TableAPI.md") if "result" in s]


def test_table_api_list_sample_shape_matches_list_response(emma):
    sample = next(s for s in table_api_samples() if isinstance(s["result"], list))["result"][0]
    emma("POST", "/api/now/table/change_request", json={"short_description": "x", "requested_by": "eng.emma"})
    [record] = emma("GET", "/api/now/table/change_request?sysparm_limit=1").json["result"]
    shared = set(sample) & set(record)
    assert {
        "sys_id",
        "number",
        "state",
        "sys_created_on",
        "sys_updated_by",
        "sys_mod_count",
        "approval",
        "assigned_to",
        "comments",
        "close_notes",
        "sys_domain",
    } <= shared
    for name in shared:
        assert type(record[name]) is type(sample[name]) or record[name] == "" or sample[name] == "", name
        if isinstance(sample[name], dict) and record[name] != "":
            assert set(record[name]) == set(sample[name]) == {"link", "value"}
    assert record["sys_domain"]["value"] == sample["sys_domain"]["value"] == "global"
    for stamp in ("sys_created_on", "sys_updated_on"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record[stamp])


def test_single_record_samples_have_the_shape_of_a_get_by_sys_id(emma):
    singles = [s for s in table_api_samples() if isinstance(s["result"], dict)]
    assert singles, "the Table API document has single-record samples"
    created = emma("POST", "/api/now/table/change_request", json={"short_description": "x"}).json["result"]
    fetched = emma("GET", f"/api/now/table/change_request/{created['sys_id']}").json
    assert set(fetched) == set(singles[0]) == {"result"}
    assert fetched["result"]["sys_id"] == created["sys_id"]
