"""The recorder sees what the connector's gateway really sent, tells it from other clients, and a
non-conforming request fails the test that made it with a report naming request, operation and error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from connector.errors import ApiError
from connector.jira.gateway import JiraGateway
from sandbox.jira.faults import Faults
from sandbox.jira.server import SandboxJira
from tests.conformance.judge import judge
from tests.conformance.recorder import Recorder, RequestLog

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def recorded():
    """A sandbox whose requests go to a log of this test's own (not the session's, which would fail it)."""
    log = RequestLog()
    sandbox = SandboxJira("cloud")
    inner = getattr(sandbox.app.wsgi_app, "app", sandbox.app.wsgi_app)  # below the session's recorder
    sandbox.app.wsgi_app = Recorder(inner, log, "cloud")
    sandbox.start()
    yield sandbox, log
    sandbox.stop()


def test_every_sandbox_jira_a_test_starts_records_into_the_sessions_log(request, jira_requests_recorded):
    before = len(jira_requests_recorded)
    with SandboxJira("datacenter") as sandbox:
        requests.get(f"{sandbox.url}/rest/api/2/serverInfo", timeout=5)
    (exchange,) = jira_requests_recorded.since(before)
    assert (exchange.flavor, exchange.path, exchange.by_connector) == (
        "datacenter",
        "/rest/api/2/serverInfo",
        False,
    )
    assert exchange.test == request.node.nodeid


def test_the_gateways_requests_are_told_from_other_clients_and_judged(recorded):
    sandbox, log = recorded
    gateway = JiraGateway(sandbox.url, user="ecm-bot@example.com", token="ecm-bot")
    key = gateway.create_issue("EMG", "Task", "Outage", "Checkout is down")
    with pytest.raises(ApiError):  # the sandbox refuses it too; the judge says why
        gateway._call("POST", "/rest/api/2/issueLink", "link", json={"type": {"name": "Blocks"}})
    requests.get(f"{sandbox.url}/rest/api/3/issue/{key}", auth=("admin", "admin"), timeout=5)

    created, link, other = log.since(0)
    assert (created.method, created.path, created.account, created.by_connector) == (
        "POST",
        "/rest/api/2/issue",
        "ecm-bot@example.com",
        True,
    )
    assert b'"summary": "Outage"' in created.body and created.status == 201
    assert judge(created) == []
    assert link.status >= 400
    assert [m.operation for m in judge(link)] == ["linkIssues"]
    assert (other.account, other.by_connector) == ("admin", False)


def test_a_request_answered_with_an_injected_fault_is_still_recorded(recorded):
    sandbox, log = recorded
    sandbox.faults.replace(
        Faults.from_dict({"rules": [{"path": "/rest/api/*/myself", "kind": "status", "status": 503}]})
    )
    gateway = JiraGateway(sandbox.url, user="ecm-bot@example.com", token="ecm-bot")
    with pytest.raises(ApiError):
        gateway.myself()
    (exchange,) = log.since(0)
    assert (exchange.path, exchange.status, exchange.by_connector) == ("/rest/api/3/myself", 503, True)


def test_a_non_conforming_connector_request_fails_its_test_or_the_run_with_a_readable_report(tmp_path):
    (tmp_path / "test_wrong.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from connector.jira.gateway import JiraGateway
            from sandbox.jira.server import SandboxJira

            @pytest.fixture(scope="module")
            def gateway():
                with SandboxJira("cloud") as sandbox:
                    gateway = JiraGateway(sandbox.url, user="ecm-bot@example.com", token="ecm-bot")
                    yield gateway
                    gateway._call("GET", "/rest/api/2/serverInfo", "read", params={"colour": "blue"})

            def test_sends_an_unknown_parameter(gateway):
                gateway._call("GET", "/rest/api/2/myself", "read", params={"colour": "red"})
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "tests.conformance.plugin",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run(
        [*command, "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 passed, 1 error" in out
    # The test that sent it fails at teardown, naming the request, the operation and the error ...
    assert "ERROR at teardown of test_sends_an_unknown_parameter" in out
    assert "GET /rest/api/2/myself?colour=red (cloud, connector gateway as ecm-bot@example.com" in out
    assert "operation: getCurrentUser" in out
    assert "error: query parameter 'colour' is not a parameter of /rest/api/3/myself" in out
    # ... and one sent outside any test (a module fixture's teardown) fails the run at its end.
    summary = out[out.index("Jira request conformance") :]
    assert "GET /rest/api/2/serverInfo?colour=blue" in summary and "operation: getServerInfo" in summary
