"""Each tool is reached through one adapter object: the composition root builds every mapped tool's
runtime through it, the runtime names it, and the command line starts without the client libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from connector import jira, servicenow
from connector.bootstrap import ADAPTERS, bootstrap
from connector.config import load_settings
from connector.procedure.model import Stage
from connector.tools import ToolAdapter

MAPPINGS = Path(__file__).parents[2] / "mappings"


@pytest.fixture
def connector(tmp_path: Path, database):
    settings = load_settings(
        {
            "ECM_DATA_DIR": str(tmp_path),
            "ECM_MAPPINGS": f"{MAPPINGS / 'jira-cloud.yaml'},{MAPPINGS / 'servicenow.yaml'}",
            "ECM_JIRA_URL": "https://example.atlassian.net",
        }
    )
    offline = SimpleNamespace(url="https://instance.service-now.com", user="ecm-bot")
    return bootstrap(settings, database=database, gateways={"jira": offline, "servicenow": offline})


def test_each_mapped_tool_is_built_by_its_own_adapter_which_its_runtime_names(connector):
    assert ADAPTERS == {"jira": jira.ADAPTER, "servicenow": servicenow.ADAPTER}
    assert {name: tool.adapter for name, tool in connector.tools.items()} == ADAPTERS
    for adapter in ADAPTERS.values():
        assert isinstance(adapter, ToolAdapter)


def test_servicenow_asks_the_approver_groups_itself_and_jira_leaves_it_to_its_approve_transition(connector):
    assert connector.tools["servicenow"].ctx.requests_approvals is True
    assert connector.tools["jira"].ctx.requests_approvals is False


def test_what_each_tool_refuses_by_itself_is_declared_by_its_adapter():
    assert jira.ADAPTER.blocks_natively == {Stage.AWAITING_APPROVAL, Stage.APPROVED, Stage.REJECTED}
    assert servicenow.ADAPTER.blocks_natively == {Stage.APPROVED, Stage.DEPLOYED, Stage.CLOSED}


def test_the_command_line_and_the_adapters_load_without_the_client_libraries():
    code = (
        "import sys, connector.cli, connector.bootstrap\n"
        "print(sorted(m for m in ('jira', 'pysnow', 'requests') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
