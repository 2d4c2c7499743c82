"""The outbox dispatcher as a tight loop: poll every 100 ms, go straight on while there is work."""

from __future__ import annotations

import threading
from typing import Any

from connector.dispatch import Dispatcher, DispatchReport
from jobs.runs import instrumented

BATCH = 50


class OutboxLoop:
    def __init__(self, connector: Any, metrics: Any, poll_seconds: float = 0.1, batch: int = BATCH) -> None:
        self.dispatcher = Dispatcher(connector, clock=connector.clock)
        self.metrics, self.poll_seconds, self.batch = metrics, poll_seconds, batch

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            summary = instrumented("outbox", self.once, self.metrics, quiet_idle=True)
            if not summary:  # idle or failed: wait for the next poll
                stop.wait(self.poll_seconds)

    def once(self) -> str:
        return describe(self.dispatcher.run(self.batch))


def describe(report: DispatchReport) -> str:
    if not report.total:
        return ""
    return f"done={report.done} retried={report.retried} dead={report.dead}"
