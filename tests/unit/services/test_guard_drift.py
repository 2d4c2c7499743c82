"""Jira Data Center: Deploy and Close are the connector's group's alone, and no token can read a workflow's
conditions there; a person who takes one shows the restriction is gone, which is alerted as drift once."""

from __future__ import annotations

import dataclasses

from connector import commands as c
from connector.procedure.model import ReviewKind, Stage

from .conftest import at
from .test_lifecycle import move, register


def drift_alerts(run) -> list[dict]:
    return [p for a, p in run.outbox() if a == "notify" and p.get("kind") == "drift"]


def test_a_person_taking_deploy_on_data_center_is_drift_alerted_once(ctx, run):
    run.ctx = dataclasses.replace(ctx, performs_on_request=True, recipients_by_kind={"drift": ("leads",)})
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    move(run, "eng.emma", Stage.DEPLOYED, hour=12)
    move(run, "eng.emma", Stage.DEPLOYED, hour=13)
    (alert,) = drift_alerts(run)
    assert "eng.emma" in alert["body"].lower() or "Emma" in alert["body"]
    assert "Only the connector's group may take Deploy" in alert["body"]


def test_on_jira_cloud_a_deploy_by_a_person_is_no_drift(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    move(run, "eng.emma", Stage.DEPLOYED, hour=12)
    assert drift_alerts(run) == []


def test_a_deploy_the_connector_took_on_request_is_no_drift(ctx, run):
    run.ctx = dataclasses.replace(
        ctx,
        performs_on_request=True,
        command_words={"deploy": "/deploy"},
        recipients_by_kind={"drift": ("leads",)},
    )
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    run(c.RecordApproval, "lead.liam", at(1, 12), evidence="comment:1")
    run(c.RecordApproval, "sec.sara", at(1, 13), evidence="comment:2")
    move(run, "lead.liam", Stage.APPROVED, hour=14)
    move(run, "eng.emma", Stage.IN_REVIEW, hour=15)
    run(c.RecordReview, "peer.pete", at(1, 16), kind=ReviewKind.PEER, evidence="comment:3")
    run(c.RecordReview, "sec.sara", at(1, 17), kind=ReviewKind.SECURITY, evidence="comment:4")
    move(run, "eng.emma", Stage.REVIEWED, hour=18)
    assert run(c.RequestStep, "eng.emma", at(1, 19), to_stage=Stage.DEPLOYED) == "handled"
    assert run.facts().stage is Stage.DEPLOYED
    assert drift_alerts(run) == []


def test_a_pipelines_deploy_the_connector_takes_on_data_center_is_no_drift(ctx, run):
    from .test_deploys import report

    run.ctx = dataclasses.replace(ctx, performs_on_request=True, recipients_by_kind={"drift": ("leads",)})
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    run(c.RecordApproval, "lead.liam", at(1, 12), evidence="comment:1")
    run(c.RecordApproval, "sec.sara", at(1, 13), evidence="comment:2")
    move(run, "lead.liam", Stage.APPROVED, hour=14)
    move(run, "eng.emma", Stage.IN_REVIEW, hour=15)
    run(c.RecordReview, "peer.pete", at(1, 16), kind=ReviewKind.PEER, evidence="comment:3")
    run(c.RecordReview, "sec.sara", at(1, 17), kind=ReviewKind.SECURITY, evidence="comment:4")
    move(run, "eng.emma", Stage.REVIEWED, hour=18)
    report(run, "EMG-1")
    assert run.facts().stage is Stage.DEPLOYED
    assert drift_alerts(run) == []
