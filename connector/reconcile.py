"""Reconciliation: what webhooks may have missed, read back from the tools as the same typed events.

Per tool, the tool's adapter reads what changed since the stored watermark (minus a small overlap) as
the events its webhooks would have carried (`connector/jira/history.py`,
`connector/servicenow/history.py`). Every event carries a stable subject id ("changelog:10234",
"comment:10042") and goes through `deliveries.receive` under the delivery id "reconcile:<subject id>",
so the overlap, a second run and a webhook that did arrive are all processed once, by the same code as
webhooks. The watermark moves to the run's start only when no event lost a race with a webhook.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from connector.inbound.events import Delivery, Event, Ignored
from connector.services import deliveries
from connector.store.db import Database
from connector.store.uow import CONFLICTS, UnitOfWork

if TYPE_CHECKING:
    from connector.bootstrap import Connector

log = logging.getLogger("connector.reconcile")

Replayed = tuple[Delivery, Event | Ignored]

OVERLAP = timedelta(minutes=2)  # clock skew between the tools and us, and JQL's minute precision
FIRST_LOOKBACK = timedelta(days=7)  # how far back the first run looks


@dataclass
class ReconcileReport:
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def seen(self) -> int:
        return sum(self.outcomes.values())


def reconcile(connector: Connector, tool: str) -> ReconcileReport:
    """Replay what `tool` changed since the watermark; move the watermark to this run's start."""
    started = connector.clock()
    since = read_watermark(connector.database, tool, default=started - FIRST_LOOKBACK) - OVERLAP
    report = ReconcileReport()
    runtime = connector.tools[tool]
    history = runtime.adapter.history(runtime, since, started)
    for delivery, event in _unseen(connector.database, history, report):
        try:
            report.count(deliveries.receive(connector.database, connector.tools, delivery, event))
        except CONFLICTS as error:  # a webhook about the same change won the race
            log.warning(
                "reconcile-event-conflict",
                extra={
                    "delivery_id": delivery.delivery_id,
                    "issue_key": delivery.issue_key,
                    "error": str(error)[:200],
                },
            )
            report.count("conflict")
    if not report.outcomes.get("conflict"):  # else the next run looks at the same window again
        write_watermark(connector.database, tool, started)
    return report


def catch_up(connector: Connector, tool: str, key: str) -> ReconcileReport:
    """Bring one change's facts up to date from the tool before it is judged again (a queued revert, a
    change first seen from a comment): its whole history replayed through `deliveries.receive`, what
    was processed before is a duplicate. The tool's errors propagate (ApiError): the caller retries."""
    report = ReconcileReport()
    runtime = connector.tools[tool]
    history = runtime.adapter.change_history(runtime, key, connector.clock())
    for delivery, event in _unseen(connector.database, history, report):
        report.count(_receive_racing(connector, delivery, event))
    return report


SEEN_BATCH = 200  # replayed events looked up at once


def _unseen(database: Database, replayed: Iterable[Replayed], report: ReconcileReport) -> Iterator[Replayed]:
    """The replayed events not processed before, in their order; the others are counted as duplicates
    here, from one query of the deliveries and one of the markers per batch, without the transaction and
    the audit chain's lock `deliveries.receive` takes for each (a run's window replays every change
    updated in it, most of which the webhooks delivered). Seen stays seen: a delivery id recorded or a
    subject marked is never taken back, so an event skipped here would have been a duplicate there."""
    events = iter(replayed)
    while batch := list(itertools.islice(events, SEEN_BATCH)):
        with UnitOfWork(database) as uow:
            recorded: set[tuple[str, str]] = set()
            for source in {delivery.source for delivery, _ in batch}:
                ids = [delivery.delivery_id for delivery, _ in batch if delivery.source == source]
                recorded |= {(source, seen) for seen in uow.deliveries.recorded(source, ids)}
            marked = uow.markers.seen_of("subject", [key for key in map(_subject, batch) if key])
        for delivery, event in batch:
            if (delivery.source, delivery.delivery_id) in recorded or _subject((delivery, event)) in marked:
                report.count("duplicate")
            else:
                yield delivery, event


def _subject(replayed: Replayed) -> str | None:
    """The marker key a processed event's subject leaves (`deliveries._first_sight`)."""
    _, event = replayed
    subject = getattr(event, "subject_id", None)
    return f"{event.tool}:{subject}" if subject and not isinstance(event, Ignored) else None


CONFLICT_ATTEMPTS = 3


def _receive_racing(connector: Connector, delivery: Delivery, event: Event | Ignored) -> str:
    """One replayed event of a catch-up, received again when a webhook of the same change won the race
    for its rows (that webhook has committed by then: the event is then a duplicate, or judged after
    it). A catch-up must not stop half-way: the revert after it would be judged on half the facts. The
    conflict of the last attempt propagates; the dispatcher retries the row later."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return deliveries.receive(connector.database, connector.tools, delivery, event)
        except CONFLICTS as error:
            log.warning(
                "catch-up-event-conflict",
                extra={
                    "delivery_id": delivery.delivery_id,
                    "issue_key": delivery.issue_key,
                    "attempt": attempt,
                    "error": str(error)[:200],
                },
            )
            if attempt == CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


# --- the watermark -------------------------------------------------------------------------------------


def read_watermark(database: Database, tool: str, *, default: datetime) -> datetime:
    with UnitOfWork(database) as uow:
        return uow.watermarks.get(f"reconcile:{tool}") or default


def write_watermark(database: Database, tool: str, moment: datetime) -> None:
    with UnitOfWork(database) as uow:
        uow.watermarks.advance(f"reconcile:{tool}", moment)
        uow.commit()
