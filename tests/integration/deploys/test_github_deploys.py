"""A GitHub deployment_status for production, received as a webhook is: matched to its emergency change by
the key it names, judged like the ticket's Deploy, recorded once; a deploy naming no approved change opens
one bypass change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from connector import commands as c
from connector import services
from connector.bootstrap import ADAPTERS
from connector.inbound.github import parse_github
from connector.mapping import load_mapping
from connector.procedure.model import Stage
from connector.services import deliveries
from connector.store.outbox import decode, deploy_of
from connector.store.tables import AlertRow, DeployRow, OutboxRow, ViolationRow
from connector.store.uow import UnitOfWork
from connector.tools import ToolRuntime
from tests import github_examples as gh
from tests.integration.evidence.evidence_lifecycle import Driver, at

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
DEPLOYED_AT = datetime(2026, 12, 2, 15, tzinfo=UTC)


def tools_for(drive: Driver) -> dict[str, ToolRuntime]:
    return {"jira": ToolRuntime("jira", MAPPING, drive.ctx, None, None, None, ADAPTERS["jira"])}


def deliver(database, tools, event: str, body: bytes, delivery: str) -> str:
    headers = gh.github_headers(event, body, delivery)
    parsed_delivery, parsed = parse_github(headers, body, received_at=DEPLOYED_AT)
    return deliveries.receive(database, tools, parsed_delivery, parsed)


def status(**fields) -> bytes:
    return gh.deployment_status(created_at="2026-12-02T15:00:00Z", **fields)


def rows(database, table, **where):
    with UnitOfWork(database) as uow:
        query = select(table).where(*(getattr(table, k) == v for k, v in where.items()))
        found = list(uow.session.scalars(query.order_by(table.id)))
        uow.session.expunge_all()  # readable after the unit of work
        return found


def actions(database, name):
    return [decode(r.action, r.payload)[1] for r in rows(database, OutboxRow, action=name)]


def reviewed(database) -> Driver:
    drive = Driver(database)
    drive.until_deployed()
    second = Driver(database, key="EMG-2", ctx=drive.ctx)  # EMG-1 was deployed by hand
    second.register()
    second.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    second(c.RecordApproval, "lead.liam", at(1, 12), evidence="comment:1")
    second(c.RecordApproval, "sec.sara", at(1, 12), evidence="comment:2")
    second.move("lead.liam", Stage.APPROVED, at(1, 13))
    second.move("eng.emma", Stage.IN_REVIEW, at(1, 13))
    second(c.RecordReview, "peer.pete", at(1, 14), kind=c.ReviewKind.PEER, evidence="comment:3")
    second(c.RecordReview, "sec.sara", at(1, 14), kind=c.ReviewKind.SECURITY, evidence="comment:4")
    second.move("eng.emma", Stage.REVIEWED, at(1, 15))
    return second


def test_production_deploy_of_an_approved_reviewed_change_records_its_deploy_and_post_mortem(database):
    drive = reviewed(database)
    tools = tools_for(drive)

    assert (
        deliver(database, tools, "deployment_status", status(payload={"change": "EMG-2"}), "g-1") == "handled"
    )

    with UnitOfWork(database) as uow:
        change = uow.changes.get("jira", "EMG-2")
        assert (change.stage, change.deployed_at) == ("deployed", DEPLOYED_AT)
        assert change.postmortem is not None and change.postmortem.due_at > DEPLOYED_AT
    postmortems = [a for a in actions(database, "create_postmortem") if "EMG-2" in a.summary]
    assert len(postmortems) == 1
    [step] = actions(database, "transition")
    assert (step.to_status, step.from_status) == ("Deployed", "Reviewed")
    [deploy] = rows(database, DeployRow)
    assert (deploy.outcome, deploy.bypass, deploy.deployed_at) == ("recorded", False, DEPLOYED_AT)
    assert deploy.url.endswith("/statuses/1") and deploy.sha


def test_duplicates_retries_and_the_deployment_event_change_nothing(database):
    drive = reviewed(database)
    tools = tools_for(drive)
    body = status(payload={"change": "EMG-2"})
    deliver(database, tools, "deployment_status", body, "g-1")
    before = len(rows(database, OutboxRow))

    assert deliver(database, tools, "deployment_status", body, "g-1") == "duplicate"  # redelivered
    assert deliver(database, tools, "deployment_status", body, "g-2") == "handled"  # sent again
    assert (
        deliver(database, tools, "deployment", gh.deployment(payload={"change": "EMG-2"}), "g-3") == "ignored"
    )

    assert len(rows(database, OutboxRow)) == before and len(rows(database, DeployRow)) == 1


def test_production_deploy_of_an_unapproved_change_is_a_violation_and_a_bypass(database):
    drive = Driver(database)
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    tools = tools_for(drive)

    deliver(database, tools, "deployment_status", status(description="hotfix EMG-1"), "g-1")

    with UnitOfWork(database) as uow:
        change = uow.changes.get("jira", "EMG-1")
        assert change.stage == "awaiting_approval" and change.deployed_at == DEPLOYED_AT
    [violation] = rows(database, ViolationRow)
    assert "R6" in violation.rules and violation.reverted is False
    assert [a.kind for a in actions(database, "notify")].count("violation") == 1
    [bypass] = actions(database, "open_bypass")
    assert bypass.named == "EMG-1" and bypass.deploy.at == DEPLOYED_AT


def test_production_deploy_naming_nothing_opens_one_bypass_whatever_arrives_again(database):
    tools = tools_for(Driver(database))

    deliver(database, tools, "deployment_status", status(), "g-1")
    deliver(database, tools, "deployment_status", status(), "g-2")
    deliver(database, tools, "deployment_status", status(environment="staging", deployment_id=9), "g-3")

    [bypass] = actions(database, "open_bypass")
    assert bypass.named is None and "without an approved emergency change" in bypass.summary
    [row] = rows(database, OutboxRow, action="open_bypass")
    assert row.idempotency_key == "jira:bypass:github:Codertocat/Hello-World#145988746"
    [deploy] = rows(database, DeployRow)
    assert (deploy.outcome, deploy.bypass) == ("bypass", True)


def test_bypass_change_created_by_the_tool_is_alerted_with_its_post_mortem_due_from_the_deploy(database):
    drive = Driver(database)
    tools = tools_for(drive)
    deliver(database, tools, "deployment_status", status(), "g-1")
    [bypass] = actions(database, "open_bypass")
    opened = c.RegisterBypass(
        "jira",
        "EMG-9",
        "ecm-bot",
        at(3),
        "outbox:1",
        deploy=bypass.deploy,
        title=bypass.summary,
        engineer="eng.emma",
    )
    for _ in range(2):  # the follow-up, then again (a retry): nothing twice
        with UnitOfWork(database) as uow:
            services.handle(uow, opened, drive.ctx)
            uow.commit()

    with UnitOfWork(database) as uow:
        change = uow.changes.get("jira", "EMG-9")
        assert (change.engineer, change.deployed_at) == ("eng.emma", DEPLOYED_AT)
        expected = drive.ctx.calendar.deadline(DEPLOYED_AT, 3)
        assert change.postmortem.due_at == expected
        [deploy] = uow.deploys.of_change(change.id)
        assert (
            deploy_of({**bypass.deploy.evidence()}) == bypass.deploy and deploy.bypass_change_id == change.id
        )
    kinds = [a.kind for a in rows(database, AlertRow)]
    assert kinds.count("bypass") == 1 and kinds.count("created") == 1
    assert len([a for a in actions(database, "create_postmortem") if "EMG-9" in a.summary]) == 1


def test_generic_deploy_hook_naming_an_approved_change_records_its_deploy_once(database):
    from connector.inbound.deploy_hook import parse_deploy_hook

    drive = reviewed(database)
    tools = tools_for(drive)
    body = (
        b'{"service": "payments-api", "environment": "Production", "sha": "9f1c2ab", "change_key": "EMG-2",'
        b' "deployed_at": "2026-12-02T10:00:00-05:00", "deployer": "eng.emma"}'
    )
    for _ in range(2):
        delivery, event = parse_deploy_hook({}, body, received_at=DEPLOYED_AT)
        deliveries.receive(database, tools, delivery, event)

    with UnitOfWork(database) as uow:
        change = uow.changes.get("jira", "EMG-2")
        assert (change.stage, change.deployed_at) == ("deployed", DEPLOYED_AT)
    [deploy] = rows(database, DeployRow)
    assert (deploy.source, deploy.repository, deploy.outcome) == ("pipeline", "payments-api", "recorded")


def test_approvals_recorded_after_the_deploy_do_not_excuse_it(database):
    drive = reviewed(database)  # EMG-2's approvals and reviews are from 1 Dec
    tools = tools_for(drive)
    early = gh.deployment_status(created_at="2026-11-30T15:00:00Z", payload={"change": "EMG-2"})

    deliver(database, tools, "deployment_status", early, "g-1")  # reported late, deployed before them

    [violation] = [v for v in rows(database, ViolationRow) if v.to_stage == "deployed" and not v.reverted]
    assert "R6" in violation.rules


def test_a_deploy_of_a_rejected_change_is_a_violation_and_a_bypass(database):
    drive = Driver(database)
    drive.register()
    drive.move("eng.emma", Stage.AWAITING_APPROVAL, at(1, 11))
    drive(c.RecordRejection, "lead.liam", at(1, 12), reason="too risky", evidence="comment:1")
    drive.move("lead.liam", Stage.REJECTED, at(1, 13))
    tools = tools_for(drive)

    deliver(database, tools, "deployment_status", status(payload={"change": "EMG-1"}), "g-1")

    [violation] = [v for v in rows(database, ViolationRow) if v.to_stage == "deployed"]
    assert violation.from_stage == "rejected" and not violation.reverted
    assert [a.named for a in actions(database, "open_bypass")] == ["EMG-1"]


def test_a_change_named_only_in_the_deployed_commits_message_is_the_one_deployed(database):
    tools = tools_for(reviewed(database))

    deliver(database, tools, "deployment_status", status(commit_title="Retry card auth (EMG-2)"), "g-1")

    with UnitOfWork(database) as uow:
        assert uow.changes.get("jira", "EMG-2").stage == "deployed"
    assert actions(database, "open_bypass") == []
