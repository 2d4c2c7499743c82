"""The deploys' decisions on the in-memory unit of work: a deploy is judged as the ticket's Deploy, once,
and one without an approved change plans one bypass change."""

from __future__ import annotations

from pathlib import Path

from connector import commands as c
from connector import services
from connector.bootstrap import ADAPTERS
from connector.mapping import load_mapping
from connector.procedure.model import Stage
from connector.services import deploys
from connector.tools import ToolRuntime

from .conftest import at
from .test_lifecycle import move, register

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
DEPLOY = c.Deploy(
    "github", "acme/shop#7", "production", at(2), "acme/shop", sha="abc1234", deployer="eng-emma"
)


def report(run, *keys: str) -> str:
    tools = {"jira": ToolRuntime("jira", MAPPING, run.ctx, None, None, None, ADAPTERS["jira"])}
    request = c.ReportDeploy(DEPLOY, tuple(("jira", k) for k in keys), origin=f"g{run.n}")
    with run.uow as uow:
        outcome = deploys.report_deploy(uow, tools, request, services.handle)
        uow.commit()
    return outcome


def test_a_deploy_before_the_approvals_is_refused_and_opens_a_bypass(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)

    outcome = report(run, "EMG-1")

    assert "refused: R" in outcome and "bypass: opening" in outcome
    assert run.facts().deployed_at == at(2) and run.facts().stage is Stage.AWAITING_APPROVAL
    kinds = [action for action, _ in run.outbox()]
    assert kinds.count("open_bypass") == 1 and "revert" not in kinds


def test_the_same_deploy_reported_again_changes_nothing(run):
    report(run)
    before = run.outbox()

    assert report(run).startswith("duplicate:") and report(run, "EMG-1").startswith("duplicate:")
    assert run.outbox() == before and len(run.uow.deploys.rows) == 1
