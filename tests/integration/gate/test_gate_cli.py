"""`ecm gate KEY --to STAGE`: readable answers, exit 0 allowed, 1 not, 2 when the question is wrong; from the
database, or from a running service with --url."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from connector.cli import cli
from connector.config import Settings
from connector.web.app import create_app
from tests.integration.evidence.evidence_lifecycle import NOW

GATE_TOKEN = "gate-token-for-the-cli-0123456789"


@pytest.fixture
def ecm(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ECM_DATABASE_URL", database_url)
    monkeypatch.setenv("ECM_DATA_DIR", str(tmp_path / "data"))
    for name in ("ECM_MAPPINGS", "ECM_GATE_TOKEN", "ECM_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def test_a_deployed_change_may_not_close_yet_and_the_missing_items_are_listed(ecm, drive):
    drive.until_deployed()
    result = ecm("gate", "EMG-1", "--to", "closed")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "EMG-1: closed is NOT allowed (the change is deployed)."
    assert (
        "  R8 (ENG-PROC-004 step 5): Closing needs the post-mortem done with its report, the pull "
        in result.stdout
    )
    assert "    missing: Pull Request link" in lines


def test_an_allowed_step_exits_0(ecm, drive):
    drive.until_deployed()
    result = ecm("gate", "EMG-1", "--to", "deployed")
    assert (result.exit_code, result.stdout) == (0, "EMG-1: deployed is allowed (the change is deployed).\n")


def test_json_output_is_the_api_answer(ecm, drive):
    drive.whole_lifecycle()
    result = ecm("gate", "EMG-1", "--to", "closed", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["allowed"] is True


def test_an_unknown_stage_is_a_usage_error_naming_the_choices(ecm):
    result = ecm("gate", "EMG-1", "--to", "production")
    assert result.exit_code == 2
    assert "'production' is not one of 'approved', 'deployed', 'closed'" in result.stderr


def test_an_unknown_change_is_a_usage_error_naming_the_key(ecm, drive):
    drive.register()
    result = ecm("gate", "EMG-404", "--to", "deployed")
    assert result.exit_code == 2
    assert result.stderr == "unknown change: no emergency change 'EMG-404' is recorded\n"


@pytest.fixture
def service(database) -> Iterator[str]:
    settings = Settings(gate_token=GATE_TOKEN, jira_webhook_secret="s")
    app = create_app(SimpleNamespace(settings=settings, database=database, tools={}, clock=lambda: NOW))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_with_url_the_running_service_is_asked_with_the_gate_token(ecm, drive, service, monkeypatch):
    drive.until_deployed()
    monkeypatch.setenv("ECM_GATE_TOKEN", GATE_TOKEN)
    allowed = ecm("gate", "EMG-1", "--to", "deployed", "--url", service)
    refused = ecm("gate", "EMG-1", "--to", "closed", "--url", service)
    unknown = ecm("gate", "EMG-9", "--to", "closed", "--url", service)
    assert (
        allowed.exit_code == 0 and refused.exit_code == 1 and "missing: Pull Request link" in refused.stdout
    )
    assert (
        unknown.exit_code == 2
        and unknown.stderr == "unknown change: no emergency change 'EMG-9' is recorded\n"
    )


def test_with_url_a_wrong_token_or_no_service_cannot_answer(ecm, drive, service, monkeypatch):
    drive.register()
    monkeypatch.setenv("ECM_GATE_TOKEN", "not-the-token")
    refused = ecm("gate", "EMG-1", "--to", "approved", "--url", service)
    assert refused.exit_code == 2 and "the service answered 401" in refused.stderr
    assert "not-the-token" not in refused.stderr + refused.stdout
    gone = ecm("gate", "EMG-1", "--to", "approved", "--url", "http://127.0.0.1:9")
    assert gone.exit_code == 2 and gone.stderr.startswith("cannot ask http://127.0.0.1:9")
    monkeypatch.delenv("ECM_GATE_TOKEN")
    untokened = ecm("gate", "EMG-1", "--to", "approved", "--url", service)
    assert untokened.exit_code == 2 and "set ECM_GATE_TOKEN" in untokened.stderr
