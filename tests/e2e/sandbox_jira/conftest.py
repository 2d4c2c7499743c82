"""A sandbox Jira per test, every /rest/api request and response checked against the OpenAPI document."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jira
import pytest

from sandbox.jira import SandboxJira
from sandbox.jira.openapi_check import load_spec


@pytest.fixture(scope="session")
def openapi_spec():
    return load_spec()


def _start(flavor: str, openapi_spec) -> Iterator[SandboxJira]:
    sandbox = SandboxJira(flavor, validate_openapi=True, webhook_backoff=0.02)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
    assert sandbox.openapi_errors == [], "\n".join(sandbox.openapi_errors)


@pytest.fixture
def cloud(openapi_spec) -> Iterator[SandboxJira]:
    yield from _start("cloud", openapi_spec)


@pytest.fixture
def datacenter(openapi_spec) -> Iterator[SandboxJira]:
    yield from _start("datacenter", openapi_spec)


@pytest.fixture
def client_for(cloud):
    def make(name: str, sandbox: SandboxJira | None = None) -> jira.JIRA:
        target = sandbox or cloud
        client = jira.JIRA(target.url, basic_auth=(name, name), get_server_info=False, max_retries=0)
        client.deploymentType = "Cloud" if target.state.flavor == "cloud" else "Server"
        return client

    return make


def emergency_workflow_payload(
    leads_group_id: str,
    security_group_id: str,
    field_id: str,
    approval_screen_id: int,
    automation_group_id: str,
) -> dict:
    """Draft -> Awaiting Approval -> Approved (leads only, needs field, asks for it on a screen) -> Deployed;
    Revert for automation."""
    statuses = [
        ("s-draft", "Draft", "TODO"),
        ("s-wait", "Awaiting Approval", "TODO"),
        ("s-ok", "Approved", "IN_PROGRESS"),
        ("s-done", "Deployed", "DONE"),
    ]
    group_rule = {
        "ruleKey": "system:restrict-issue-transition",
        "parameters": {"groupIds": f"{leads_group_id},{security_group_id}"},
    }
    return {
        "scope": {"type": "GLOBAL"},
        "statuses": [{"statusReference": r, "name": n, "statusCategory": c} for r, n, c in statuses],
        "workflows": [
            {
                "name": "Emergency Change Workflow",
                "statuses": [{"statusReference": r, "properties": {}} for r, _, _ in statuses],
                "transitions": [
                    {
                        "id": "1",
                        "name": "Create",
                        "type": "INITIAL",
                        "toStatusReference": "s-draft",
                        "links": [],
                    },
                    {
                        "id": "11",
                        "name": "Request approval",
                        "type": "DIRECTED",
                        "toStatusReference": "s-wait",
                        "links": [{"fromStatusReference": "s-draft"}],
                    },
                    {
                        "id": "21",
                        "name": "Approve",
                        "type": "DIRECTED",
                        "toStatusReference": "s-ok",
                        "links": [{"fromStatusReference": "s-wait"}],
                        "conditions": {"operation": "ALL", "conditions": [group_rule]},
                        "transitionScreen": {
                            "ruleKey": "system:transition-screen",
                            "parameters": {"screenId": str(approval_screen_id)},
                        },
                        "validators": [
                            {
                                "ruleKey": "system:validate-field-value",
                                "parameters": {
                                    "ruleType": "fieldRequired",
                                    "fieldsRequired": field_id,
                                    "errorMessage": "Impact description is required.",
                                },
                            }
                        ],
                    },
                    {
                        "id": "31",
                        "name": "Deploy",
                        "type": "DIRECTED",
                        "toStatusReference": "s-done",
                        "links": [{"fromStatusReference": "s-ok"}],
                    },
                    {
                        "id": "41",
                        "name": "Revert",
                        "type": "GLOBAL",
                        "toStatusReference": "s-draft",
                        "links": [],
                        "conditions": {
                            "operation": "ALL",
                            "conditions": [
                                {
                                    "ruleKey": "system:restrict-issue-transition",
                                    "parameters": {"groupIds": automation_group_id},
                                }
                            ],
                        },
                    },
                ],
            }
        ],
    }


@pytest.fixture
def install_emergency_workflow(cloud, client_for):
    """Create the Emergency Change type (in EMG's issue type scheme), a required field (on an approval
    screen) and the workflow; assign them to EMG."""

    def install(sandbox: SandboxJira | None = None) -> dict[str, str]:
        target = sandbox or cloud
        admin = client_for("admin", target)
        s, url = admin._session, target.url
        field = s.post(
            f"{url}/rest/api/2/field",
            json={
                "name": "Impact description",
                "type": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
                "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:textsearcher",
            },
        ).json()
        issue_type = s.post(
            f"{url}/rest/api/2/issuetype", json={"name": "Emergency Change", "type": "standard"}
        ).json()
        schemes = s.get(f"{url}/rest/api/3/issuetypescheme/project", params={"projectId": "10000"}).json()
        scheme_id = schemes["values"][0]["issueTypeScheme"]["id"]
        added = s.put(
            f"{url}/rest/api/3/issuetypescheme/{scheme_id}/issuetype",
            json={"issueTypeIds": [issue_type["id"]]},
        )
        assert added.status_code == 204, added.text
        screen = s.post(f"{url}/rest/api/3/screens", json={"name": "Approval screen"}).json()
        tab = s.get(f"{url}/rest/api/3/screens/{screen['id']}/tabs").json()[0]
        on_tab = s.post(
            f"{url}/rest/api/3/screens/{screen['id']}/tabs/{tab['id']}/fields", json={"fieldId": field["id"]}
        )
        assert on_tab.status_code == 200, on_tab.text
        groups = {g.name: g.group_id for g in target.state.groups.values()}
        payload = emergency_workflow_payload(
            groups["engineering-leads"],
            groups["security-team"],
            field["id"],
            screen["id"],
            groups["ecm-automation"],
        )
        assert s.post(f"{url}/rest/api/3/workflows/create/validation", json={"payload": payload}).json() == {
            "errors": []
        }
        created = s.post(f"{url}/rest/api/3/workflows/create", json=payload)
        assert created.status_code == 200, created.text
        scheme = s.post(
            f"{url}/rest/api/3/workflowscheme",
            json={
                "name": "Emergency scheme",
                "defaultWorkflow": "jira",
                "issueTypeMappings": {issue_type["id"]: "Emergency Change Workflow"},
            },
        ).json()
        assigned = s.put(
            f"{url}/rest/api/3/workflowscheme/project",
            json={"projectId": "10000", "workflowSchemeId": str(scheme["id"])},
        )
        assert assigned.status_code == 204, assigned.text
        return {"field": field["id"], "issuetype": issue_type["id"], "scheme": str(scheme["id"])}

    return install


class Receiver:
    """A small HTTP server that records what it receives and answers the scripted statuses first."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), raw))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
