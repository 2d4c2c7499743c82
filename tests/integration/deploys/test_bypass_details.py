"""A bypass change's details: the key is found where the mapping says, the deployer is its assignee where
the tool knows them, and the change is recorded once whether the tool's webhook or the follow-up is first."""

from __future__ import annotations

from connector import commands as c
from connector import services
from connector.inbound.deploy_hook import parse_deploy_hook
from connector.services import deliveries
from connector.services.deploys import named_keys
from connector.store.outbox import decode
from connector.store.tables import AlertRow
from connector.store.uow import UnitOfWork
from tests.integration.deploys.test_github_deploys import DEPLOYED_AT, actions, rows, tools_for
from tests.integration.evidence.evidence_lifecycle import Driver, at


def test_keys_are_found_in_the_order_the_mapping_looks_and_only_of_the_project(database):
    tools = tools_for(Driver(database))
    texts = (("ref", "EMG-3-hotfix"), ("payload", '{"change": "EMG-2"}'), ("description", "OPS-9 and EMG-2"))

    assert named_keys(tools, texts) == [("jira", "EMG-2"), ("jira", "EMG-3")]  # payload before ref


def test_the_deployer_the_tool_knows_is_the_bypass_changes_assignee(database):
    tools = tools_for(Driver(database))
    body = (
        b'{"service": "billing", "environment": "production", "version": "7.1.0",'
        b' "deployed_at": "2026-12-02T10:00:00-05:00", "deployer": "Emma Engineer"}'
    )
    delivery, event = parse_deploy_hook({}, body, received_at=DEPLOYED_AT)
    deliveries.receive(database, tools, delivery, event)

    [bypass] = actions(database, "open_bypass")
    assert bypass.assignee == "eng.emma" and bypass.deploy.version == "7.1.0"


def test_the_tools_webhook_arriving_first_leaves_one_change_with_its_alerts(database):
    drive = Driver(database)
    tools = tools_for(drive)
    body = (
        b'{"service": "billing", "environment": "production", "sha": "abcdef1",'
        b' "deployed_at": "2026-12-02T10:00:00-05:00", "deployer": "eng.emma"}'
    )
    delivery, event = parse_deploy_hook({}, body, received_at=DEPLOYED_AT)
    deliveries.receive(database, tools, delivery, event)
    [bypass] = actions(database, "open_bypass")
    drive(c.RegisterChange, "ecm-bot", at(3), key="EMG-9", engineer="ecm-bot", title=bypass.summary)
    opened = c.RegisterBypass(
        "jira", "EMG-9", "ecm-bot", at(3), "outbox:1", deploy=bypass.deploy, engineer="eng.emma"
    )
    with UnitOfWork(database) as uow:
        services.handle(uow, opened, drive.ctx)
        uow.commit()

    with UnitOfWork(database) as uow:
        change = uow.changes.get("jira", "EMG-9")
        assert (change.engineer, change.deployed_at) == ("eng.emma", DEPLOYED_AT)
        assert change.postmortem.assignee == "eng.emma"
    kinds = [a.kind for a in rows(database, AlertRow)]
    assert kinds.count("created") == 1 and kinds.count("bypass") == 1


def test_the_bypass_change_is_opened_and_recorded_with_the_mappings_category(database):
    drive = Driver(database)
    tools = tools_for(drive)
    body = (
        b'{"service": "billing", "environment": "production", "version": "7.2.0",'
        b' "deployed_at": "2026-12-02T10:00:00-05:00"}'
    )
    delivery, event = parse_deploy_hook({}, body, received_at=DEPLOYED_AT)
    deliveries.receive(database, tools, delivery, event)

    [bypass] = actions(database, "open_bypass")
    assert bypass.category == "Service outage"  # deploys.bypass.category of jira-cloud.yaml
    opened = c.RegisterBypass(
        "jira", "EMG-9", "ecm-bot", at(3), "outbox:1", deploy=bypass.deploy, category=bypass.category
    )
    with UnitOfWork(database) as uow:
        services.handle(uow, opened, drive.ctx)
        uow.commit()
    with UnitOfWork(database) as uow:
        assert uow.changes.get("jira", "EMG-9").category == "Service outage"


def test_a_bypass_queued_before_categories_were_configured_opens_without_one():
    payload = {"key": None, "summary": "Bypass", "description": "d", "deploy": _evidence(), "named": None}

    assert decode("open_bypass", payload)[1].category is None


def _evidence() -> dict:
    return {
        "source": "deploy-hook",
        "deploy_id": "billing@1",
        "environment": "production",
        "deployed_at": DEPLOYED_AT.isoformat(),
        "repository": "billing",
    }
