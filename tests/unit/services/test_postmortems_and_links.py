"""Step 5 on the in-memory unit of work: the post-mortem task the tool created, its report and its
closing, the retroactive links, and rejections."""

from __future__ import annotations

from connector import commands as c
from connector.procedure.model import ReviewKind, Stage

from .conftest import at
from .test_lifecycle import move, register


def deployed(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    run(c.RecordApproval, "lead.liam", at(1, 12), role=None, evidence="comment:1")
    run(c.RecordApproval, "sec.sara", at(1, 12), role=None, evidence="comment:2")
    move(run, "lead.liam", Stage.APPROVED, hour=13)
    move(run, "eng.emma", Stage.IN_REVIEW, hour=13)
    run(c.RecordReview, "peer.pete", at(1, 14), kind=ReviewKind.PEER, evidence="comment:3")
    run(c.RecordReview, "sec.sara", at(1, 14), kind=ReviewKind.SECURITY, evidence="comment:4")
    move(run, "eng.emma", Stage.REVIEWED, hour=15)
    assert move(run, "eng.emma", Stage.DEPLOYED, day=2, hour=15) == "handled"
    assert move(run, "eng.emma", Stage.POSTMORTEM, day=2, hour=16) == "handled"
    created = run(c.RecordPostMortemCreated, "ecm-bot", at(2, 17), postmortem_key="EMG-2")
    assert created == "handled"


def test_the_post_mortem_task_created_in_the_tool_is_recorded_once_with_its_key(run):
    deployed(run)
    assert run.facts().postmortem.key == "EMG-2"
    again = run(c.RecordPostMortemCreated, "ecm-bot", at(2, 18), postmortem_key="EMG-2")
    assert again == "ignored: nothing new"


def test_a_post_mortem_is_done_only_with_its_report_link(run):
    deployed(run)
    refused = run(c.UpdatePostMortem, "eng.emma", at(3), key="EMG-2", done=True)
    assert refused.startswith("refused: ")
    assert [a for a, _ in run.outbox()][-1] == "comment"
    assert run.facts().postmortem.done_at is None
    report = "https://wiki.example.com/pm/EMG-1"
    assert run(c.UpdatePostMortem, "eng.emma", at(4), key="EMG-2", report_url=report, done=True) == "handled"
    postmortem = run.facts().postmortem
    assert (postmortem.report_url, postmortem.done_at, postmortem.done) == (report, at(4), True)


def test_an_update_of_a_task_the_connector_did_not_create_is_ignored(run):
    deployed(run)
    outcome = run(c.UpdatePostMortem, "eng.emma", at(3), key="EMG-77", done=True)
    assert outcome == "ignored: not a post-mortem the connector created"


def test_closing_needs_the_retroactive_links_and_takes_them_from_comments(run):
    deployed(run)
    run(
        c.UpdatePostMortem,
        "eng.emma",
        at(3),
        key="EMG-2",
        report_url="https://wiki.example.com/pm",
        done=True,
    )
    assert move(run, "eng.emma", Stage.CLOSED, day=3, hour=12).startswith("refused: R8")
    assert (
        run(c.RecordLink, "eng.emma", at(3, 13), kind="pr", url="https://git.example.com/pr/7") == "handled"
    )
    assert run(c.RecordLink, "eng.emma", at(3, 13), kind="pr", url="https://git.example.com/pr/7") == (
        "ignored: nothing new"
    )
    run(c.RecordLink, "eng.emma", at(3, 13), kind="docs", url="https://wiki.example.com/changes/1")
    assert move(run, "eng.emma", Stage.CLOSED, day=3, hour=14) == "handled"
    assert run.facts().stage is Stage.CLOSED
    assert "record_evidence" in [a for a, _ in run.outbox()]


def test_a_rejection_by_security_is_recorded_and_the_engineer_cannot_reject(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    own = run(c.RecordRejection, "eng.emma", at(1, 12), reason="changed my mind", evidence="comment:8")
    assert own.startswith("refused: R2")
    assert run(c.RecordRejection, "sec.sara", at(1, 13), reason="no rollback plan", evidence="comment:9") == (
        "handled"
    )
    assert run.facts().rejection.reason == "no rollback plan"
    assert move(run, "sec.sara", Stage.REJECTED, hour=14) == "handled"
