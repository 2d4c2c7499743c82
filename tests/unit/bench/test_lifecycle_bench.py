"""The lifecycle benchmark's pure helpers: percentiles, who called, and the report it prints."""

from __future__ import annotations

import base64
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "lifecycle.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_lifecycle", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{user}".encode()).decode()


def test_percentiles_use_the_nearest_rank(bench):
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile([7.0, 1.0, 3.0], 99) == 7.0
    assert bench.percentile([5.0], 50) == 5.0


def test_percentile_of_no_values_is_none(bench):
    assert bench.percentile([], 50) is None


@pytest.mark.parametrize(
    ("header", "user"),
    [
        (basic("ecm-bot@example.com"), "ecm-bot"),
        (basic("eng.emma"), "eng.emma"),
        ("Bearer pat-ecm-bot", "ecm-bot"),
        ("", "anonymous"),
        ("Basic !!!not-base64", "?"),
    ],
)
def test_the_caller_is_read_from_the_credential(bench, header, user):
    assert bench.caller(header) == user


def test_call_counter_separates_the_connector_from_the_people(bench):
    from flask import Flask

    app = Flask("probe")
    app.add_url_rule("/rest/api/<any('2','3'):version>/issue/<key>", "issue", lambda version, key: "ok")
    counter = bench.CallCounter(app.wsgi_app, app.url_map)
    app.wsgi_app = counter
    client = app.test_client()
    client.get("/rest/api/2/issue/EMG-1", headers={"Authorization": basic("ecm-bot@example.com")})
    client.get("/rest/api/2/issue/EMG-2", headers={"Authorization": basic("ecm-bot@example.com")})
    client.get("/rest/api/3/issue/EMG-1", headers={"Authorization": basic("eng.emma")})
    connector, people = counter.split()
    assert connector == Counter({"GET /rest/api/2/issue/<key>": 2})
    assert people == Counter({"GET /rest/api/3/issue/<key>": 1})


def test_report_lists_latencies_and_the_connector_calls_per_lifecycle(bench):
    result = bench.RunResult("loaded 20/s ×4", started=4, completed=3, violations=1, seconds=0.2)
    result.deliveries = 140
    result.to_created_ms = [100.0, 120.0, 140.0, 400.0]
    result.to_linked_ms = [110.0, 130.0, 150.0, 410.0]
    result.connector_calls = Counter({"POST /rest/api/2/issue": 4, "PUT /rest/api/2/issue/<key>": 28})
    result.people_calls = Counter({"POST /rest/api/2/issue/<key>/comment": 24})
    result.errors = ["TimeoutError: EMG-4: no post-mortem recorded before the deadline"]
    report = bench.format_report([result])
    row = "| loaded 20/s ×4 | 4 | 3 | 1 | 20.0 | 120 / 400 / 400 | 130 / 410 | 8.0 | 6.0 | 35.0 | 0 |"
    assert row in report
    assert "| `PUT /rest/api/2/issue/<key>` | 7.00 |" in report
    assert "| `POST /rest/api/2/issue` | 1.00 |" in report
    assert "TimeoutError: EMG-4" in report


def test_report_of_a_run_without_post_mortems_shows_dashes(bench):
    report = bench.format_report([bench.RunResult("serial ×0")])
    assert "| serial ×0 | 0 | 0 | 0 | 0.0 | - / - / - | - / - |" in report
