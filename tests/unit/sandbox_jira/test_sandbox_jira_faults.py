"""Fault configuration: scripted rules count down, rates follow the seed, bad configs are refused."""

from __future__ import annotations

import pytest

from sandbox.jira.faults import Faults


def test_scripted_rule_applies_to_the_next_n_matching_requests_only():
    faults = Faults.from_dict(
        {
            "rules": [
                {"path": "/rest/api/*/issue", "method": "POST", "kind": "status", "status": 503, "count": 2}
            ]
        }
    )
    hits = [faults.for_request("POST", "/rest/api/2/issue") for _ in range(3)]
    assert [h.status if h else None for h in hits] == [503, 503, None]
    assert faults.for_request("GET", "/rest/api/2/issue") is None


def test_rate_rules_are_reproducible_with_the_same_seed():
    config = {"seed": 3, "rules": [{"path": "*", "kind": "latency", "seconds": 0.01, "rate": 0.5}]}
    runs = []
    for _ in range(2):
        faults = Faults.from_dict(config)
        runs.append([faults.for_request("GET", "/x") is not None for _ in range(20)])
    assert runs[0] == runs[1] and 0 < sum(runs[0]) < 20


def test_webhook_script_comes_before_rates():
    faults = Faults.from_dict({"webhooks": {"script": ["drop"], "duplicate": 1.0}})
    assert [faults.for_delivery(), faults.for_delivery()] == ["drop", "duplicate"]


def test_a_script_for_one_persons_actions_passes_the_others_webhooks_by():
    faults = Faults.from_dict({"webhooks": {"script": ["drop"], "script_actor": "eng.emma"}})
    assert faults.for_delivery("ecm-bot") == "deliver"  # the connector's own write, meanwhile
    assert faults.for_delivery("eng.emma") == "drop"
    assert faults.for_delivery("eng.emma") == "deliver"


@pytest.mark.parametrize(
    "config", [{"rules": [{"path": "*", "kind": "explode"}]}, {"webhooks": {"script": ["vanish"]}}]
)
def test_unknown_fault_kinds_are_refused_with_a_clear_message(config):
    with pytest.raises(ValueError, match="faults"):
        Faults.from_dict(config)
