"""Facts in doubt: the deliveries that wait for a catch-up from the tool before they are judged.

A delivery is judged against the change's stored facts, which a lost or late webhook leaves behind the
tool's. Three cases are not judged at once (`connector.services.deliveries.process` asks here):
- an update of a post-mortem the connector has not recorded yet (`postmortem_not_known_yet`): replayed
  by reconciliation once it is;
- a change first heard of in a comment (`first_heard_of_in_a_comment`): its history is read first
  (`queue_first_read`);
- a comment that would be refused while the facts are in doubt (`in_doubt`): decided after a catch-up
  (`queue_catch_up`), which replays the change's history in order, this comment included; so is a
  replayed step that would be recorded as a violation found late while a step before it waits to be
  judged again (the comments before it may be waiting too).
"""

from __future__ import annotations

from typing import Any

from connector import commands as c
from connector.inbound.events import CommentAdded, Delivery, Event, IssueUpdated
from connector.outbox import CatchUp, Revert, Target
from connector.services.common import FOUND_LATE
from connector.services.ports import UnitOfWork
from connector.tools import ToolRuntime

REPLAY = "reconcile:"  # the delivery ids of events rebuilt from the tool (reconciliation, a catch-up)


def postmortem_not_known_yet(uow: UnitOfWork, event: Event, commands: list[Any]) -> bool:
    """An update of a post-mortem the connector has not recorded: its create's answer was lost (Jira
    made it after the connector gave up) or is not committed yet, and the engineer already wrote the
    report or moved it to Done. The update is not marked as processed, so reconciliation replays it
    once the post-mortem is recorded (a Post-Mortem issue the connector never made stays ignored)."""
    return (
        bool(commands)
        and all(isinstance(command, c.UpdatePostMortem) for command in commands)
        and uow.changes.postmortem(event.tool, event.key) is None
    )


def first_heard_of_in_a_comment(uow: UnitOfWork, event: Event, commands: list[Any]) -> bool:
    """A change the connector first hears of from a comment that does not carry its fields (Jira's
    comment_created): the webhooks of its creation and its moves are late or lost. Registered in the
    status the comment shows, it would stand in a stage it was never seen entering, its earlier moves
    would be history (stale) and the approvals made before them judged against that stage: refused,
    every later step then reverted. Its history is read from the tool first."""
    return (
        isinstance(event, CommentAdded)
        and bool(commands)
        and isinstance(commands[0], c.RegisterChange)
        and not commands[0].complete
        and uow.changes.get(event.tool, event.key) is None
    )


def queue_first_read(uow: UnitOfWork, delivery: Delivery, event: Event) -> None:
    """Queue the catch-up that replays the change's history in order, its creation first and this
    comment in its place; nothing of the comment is recorded before (its subject is not marked)."""
    uow.outbox.add(
        tool=event.tool,
        target=Target(event.key, event.remote_id or None),
        action=CatchUp(),
        idempotency_key=f"{event.tool}:{event.key}:{CatchUp.ACTION}:first-heard:{delivery.delivery_id}",
        change_id=None,
        now=delivery.received_at,
    )


def in_doubt(uow: UnitOfWork, tool: ToolRuntime, delivery: Delivery, event: Event) -> tuple[str, str] | None:
    """Whether a comment is judged on facts in doubt, as (the catch-up's tag, why): a comment is judged
    against the change's stored stage, which may not be the one it was made in:
    - a step taken before the comment waits to be judged again (its revert is pending: after a lost
      approval, the lead's Approve was judged early, and is withdrawn once the catch-up finds the
      approval);
    - a webhook's comment: a webhook before it may have been lost or be late (the webhook shows the issue
      in another stage than the stored one, or shows no stage at all).
    A comment that would be refused so (a review "before approval" on a change approved in the tool) is
    left to a catch-up from the tool queued after the revert, which replays the change's history in
    order, this comment included. A comment processed before is no one's to wait for (a duplicate)."""
    replayed_step = _replayed_step(delivery, event)
    if not isinstance(event, CommentAdded) and not replayed_step:
        return None
    if event.subject_id and uow.markers.seen("subject", f"{event.tool}:{event.subject_id}"):
        return None
    change = uow.changes.get(event.tool, event.key)
    if change is None:
        return None
    steps = [
        row
        for row, revert in uow.outbox.pending_of(change.id, Revert.ACTION)
        if not isinstance(revert, Revert) or revert.at is None or revert.at <= event.at
    ]
    if steps:  # one catch-up after the newest of them, for every comment waiting on them
        return (
            f"after-revert:{steps[-1].id}",
            f"a step before it is judged again first (revert {steps[-1].id})",
        )
    if delivery.delivery_id.startswith(REPLAY):
        return None  # replayed in the tool's order: judged as it comes
    stage = tool.ctx.stage_of(event.status) if event.status else None
    if stage is not None and change.stage != stage.value:
        return (
            f"behind:{delivery.delivery_id}",
            f"the change is {change.stage} here and {event.status} in {event.tool}",
        )
    # A webhook before it may be lost or late where this one does not show it (Jira's comment_created
    # carries no status): a refusal is decided on the tool's history, replayed in order.
    return f"behind:{delivery.delivery_id}", "a refusal is decided after a catch-up from the tool"


def _replayed_step(delivery: Delivery, event: Event) -> bool:
    """A step of the tool's history replayed (it names the status it left): judged as it was taken when
    the change has moved on past it (`services.late`), so it waits, as the comments before it do, for a
    step judged again first."""
    if not delivery.delivery_id.startswith(REPLAY) or not isinstance(event, IssueUpdated):
        return False
    status = event.status_change()
    return status is not None and bool(status.old)


def waits(event: Event, outcome: str) -> bool:
    """Whether an outcome of a delivery in doubt leaves it to the catch-up: a comment's refusal, or a
    replayed step recorded as a violation found late; a replayed step judged otherwise is left as it is."""
    if isinstance(event, CommentAdded):
        return outcome.startswith("refused")
    return outcome.startswith("refused") and outcome.endswith(FOUND_LATE)


def queue_catch_up(uow: UnitOfWork, delivery: Delivery, event: Event, tag: str) -> None:
    """Queue the catch-up the comment in doubt waits for (`in_doubt`'s tag): one per tag."""
    change = uow.changes.get(event.tool, event.key)
    assert change is not None  # seen by `in_doubt` in this transaction
    uow.outbox.enqueue(change.tool, change, CatchUp(), tag, now=delivery.received_at)
