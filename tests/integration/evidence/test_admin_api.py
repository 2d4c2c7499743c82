"""The admin API: bearer token in constant time, filters and pages, evidence and population endpoints."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import pytest

from connector.config import Settings
from connector.procedure.model import Stage
from connector.web.app import create_app

from .evidence_lifecycle import Driver, at


def test_api_answers_401_without_or_with_a_wrong_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/changes", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_answers_503_when_no_admin_token_is_configured(database):
    connector = SimpleNamespace(settings=Settings(), database=database, tools={})
    client = create_app(connector, config={"TESTING": True}).test_client()
    response = client.get("/api/changes", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 503
    assert response.get_json()["error"] == "admin token not configured"


def test_changes_are_filtered_by_stage_tool_and_overdue(client, auth, database, drive):
    drive.until_deployed()  # post-mortem due 5 Dec, now is 20 Dec: overdue
    Driver(database, key="EMG-2").register()

    def keys(**query):
        return [c["key"] for c in client.get("/api/changes", query_string=query, headers=auth).json["items"]]

    assert keys() == ["EMG-2", "EMG-1"]
    assert keys(stage="deployed") == ["EMG-1"]
    assert keys(stage="identified") == ["EMG-2"]
    assert keys(overdue="true") == ["EMG-1"]
    assert keys(tool="servicenow") == []
    assert keys(status="open") == ["EMG-2", "EMG-1"]


def test_changes_are_paged_by_offset_and_by_cursor(client, auth, database):
    for n in range(5):
        Driver(database, key=f"EMG-{n}").register()
    first = client.get("/api/changes?limit=2", headers=auth).json
    assert [c["key"] for c in first["items"]] == ["EMG-4", "EMG-3"]
    second = client.get(f"/api/changes?limit=2&cursor={first['next_cursor']}", headers=auth).json
    assert [c["key"] for c in second["items"]] == ["EMG-2", "EMG-1"]
    by_offset = client.get("/api/changes?limit=2&offset=4", headers=auth).json
    assert [c["key"] for c in by_offset["items"]] == ["EMG-0"] and by_offset["next_cursor"] is None


@pytest.mark.parametrize("query", ["stage=nowhere", "limit=0", "limit=many", "status=maybe", "offset=-1"])
def test_bad_filters_are_answered_400_naming_the_parameter(client, auth, query):
    response = client.get(f"/api/changes?{query}", headers=auth)
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_json()["detail"]


def test_change_and_its_evidence_in_json_and_html(client, auth, drive):
    drive.whole_lifecycle()
    change = client.get("/api/changes/EMG-1", headers=auth).json
    assert change["stage"] == Stage.CLOSED.value and len(change["rules"]) == 10
    packet = client.get("/api/changes/EMG-1/evidence", headers=auth).json
    assert packet["audit"]["chain"]["ok"]
    page = client.get("/api/changes/EMG-1/evidence?format=html", headers=auth)
    assert page.mimetype == "text/html" and b"Evidence packet: emergency change EMG-1" in page.data


def test_unknown_change_is_404(client, auth):
    response = client.get("/api/changes/NOPE-1/evidence", headers=auth)
    assert response.status_code == 404 and "NOPE-1" in response.get_json()["detail"]


def test_population_export_streams_csv_with_compliance_and_reasons(client, auth, database, drive):
    drive.whole_lifecycle()
    Driver(database, key="EMG-2").until_deployed()  # post-mortem overdue on 20 Dec
    Driver(database, key="EMG-3").register()
    response = client.get("/api/evidence/population?from=2026-12-01&to=2026-12-31&format=csv", headers=auth)
    assert response.is_streamed and response.mimetype == "text/csv"
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert rows["EMG-1"]["compliance"] == "compliant"
    assert rows["EMG-2"]["compliance"] == "non-compliant" and "R10" in rows["EMG-2"]["reasons"]
    assert rows["EMG-3"]["compliance"] == "open"
    outside = client.get("/api/evidence/population?from=2027-01-01&to=2027-01-31&format=csv", headers=auth)
    assert outside.get_data(as_text=True).count("\n") == 1  # the header alone


def test_population_json_carries_the_summary_figures(client, auth, database, drive):
    drive.whole_lifecycle()
    Driver(database, key="EMG-2").until_deployed()
    body = json.loads(client.get("/api/evidence/population?from=2026-12-01&to=2026-12-31", headers=auth).data)
    assert body["count"] == 2 and {c["key"] for c in body["changes"]} == {"EMG-1", "EMG-2"}
    figures = body["summary"]
    assert figures["count"] == 2
    assert figures["share_on_time"] == 0.5 and figures["breaches"] == 1
    assert figures["median_approval_hours"] == 3.0
    assert figures["violations_by_rule"]["R6"] == 2
    assert {"approver": "lead.liam", "approvals": 2} in figures["repeat_approvers"]
    assert figures["changes_per_project"] == {"SHOP": 2}


def test_summary_endpoint_uses_the_period_asked_for(client, auth, drive):
    drive.register()
    assert client.get("/api/metrics/summary?from=2026-12-01&to=2026-12-01", headers=auth).json["count"] == 1
    assert client.get("/api/metrics/summary?from=2026-12-02&to=2026-12-31", headers=auth).json["count"] == 0
    assert client.get("/api/metrics/summary?from=2026-12-31&to=2026-12-01", headers=auth).status_code == 400


def test_population_csv_neutralises_cells_a_spreadsheet_would_run(client, auth, database):
    Driver(database, key="EMG-7").register(title='=HYPERLINK("http://evil")')
    text = client.get("/api/evidence/population?from=2026-12-01&to=2026-12-31&format=csv", headers=auth).data
    assert "'=HYPERLINK" in text.decode()


def test_approvals_on_the_day_count_in_the_period(client, auth, drive):
    drive.until_deployed()
    figures = client.get("/api/metrics/summary?from=2026-12-01&to=2026-12-01", headers=auth).json
    assert figures["median_verbal_confirmation_lag_hours"] == 3.0
    assert at(1).isoformat().startswith(figures["period"]["from"][:10])


def test_population_is_the_same_whatever_the_batch_size(database, drive):
    from connector.evidence.population import population
    from connector.evidence.rulebook import RuleBook

    from .evidence_lifecycle import NOW

    drive.whole_lifecycle()
    for n in range(2, 7):
        Driver(database, key=f"EMG-{n}").register()
    book = RuleBook(clock=lambda: NOW)
    with database.session() as session:
        one_go = list(population(session, at(1, 0), at(31, 0), book, batch=500))
    with database.session() as session:
        in_twos = list(population(session, at(1, 0), at(31, 0), book, batch=2))
    assert in_twos == one_go and len(one_go) == 6
    assert one_go[0].approvals == "lead.liam (lead, verbal); sec.sara (security, written)"
