"""The ticket always says what the next guarded step still needs: worded after each command, queued only
when the wording changed (so a fact that changes nothing writes nothing)."""

from __future__ import annotations

import dataclasses

from connector import commands as c
from connector.procedure.model import ReviewKind, Stage

from .conftest import at
from .test_lifecycle import move, register


def shown(run) -> list[str]:
    return [p["text"] for a, p in run.outbox() if a == "show_missing"]


def test_each_change_of_what_is_missing_is_shown_once_and_a_repeat_shows_nothing(run):
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    assert "Approval (step 2) still needs:" in shown(run)[-1]
    run(c.RecordApproval, "lead.liam", at(1, 12), evidence="comment:1")
    assert "Engineering Leads" not in shown(run)[-1] and "Security Team" in shown(run)[-1]
    count = len(shown(run))
    run(c.RecordApproval, "lead.liam", at(1, 13), evidence="comment:1")  # said twice: nothing new
    assert len(shown(run)) == count
    run(c.RecordApproval, "sec.sara", at(1, 14), evidence="comment:2")
    assert shown(run)[-1].endswith("Approval (step 2): nothing is missing; available.")


def test_where_the_connector_takes_the_step_the_text_says_how_to_ask_for_it(ctx, run):
    run.ctx = dataclasses.replace(ctx, performs_on_request=True, command_words={"deploy": "/deploy"})
    register(run)
    move(run, "eng.emma", Stage.AWAITING_APPROVAL)
    run(c.RecordApproval, "lead.liam", at(1, 12), evidence="comment:1")
    run(c.RecordApproval, "sec.sara", at(1, 13), evidence="comment:2")
    move(run, "lead.liam", Stage.APPROVED, hour=14)
    move(run, "eng.emma", Stage.IN_REVIEW, hour=15)
    run(c.RecordReview, "peer.pete", at(1, 16), kind=ReviewKind.PEER, evidence="comment:3")
    run(c.RecordReview, "sec.sara", at(1, 17), kind=ReviewKind.SECURITY, evidence="comment:4")
    assert shown(run)[-1].endswith(
        "Deploy (step 4): nothing is missing; comment /deploy and the connector takes it."
    )
