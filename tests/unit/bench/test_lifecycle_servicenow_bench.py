"""The ServiceNow lifecycle benchmark sees Review and the post-mortem task in the notifications it wraps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from connector.mapping import load_mapping
from sandbox.servicenow.notify import Outbound

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.lifecycle_servicenow import NotificationWatch  # noqa: E402

SECTION = load_mapping(ROOT / "mappings" / "servicenow.yaml").servicenow
CHANGE = {"sys_id": "c1", "number": "CHG0030001"}


class Queue:
    def __init__(self) -> None:
        self.sent: list = []

    def execute(self, request: Outbound) -> dict:
        self.sent.append(request)
        return {"status": 0}


def _notify(queue: Queue, table: str, operation: str, before: dict, after: dict) -> None:
    changed = sorted(k for k, v in after.items() if before.get(k) != v and k != "sys_id")
    body = {"table": table, "operation": operation, "change_number": CHANGE["number"], "changed": changed}
    queue.execute(Outbound("POST", "http://ecm", {}, json.dumps(body | {"record": after})))


def test_the_watch_times_review_to_postmortem_task_and_passes_every_notification_on() -> None:
    queue = Queue()
    watch = NotificationWatch(queue, SECTION)
    review = watch.review
    _notify(queue, SECTION.table, "update", {"sys_id": "c1", "state": "-2"}, {"sys_id": "c1", "state": "-1"})
    assert watch.deployed_at == {} and not watch.wait_postmortem("CHG0030001", 0)
    _notify(
        queue, SECTION.table, "update", {"sys_id": "c1", "state": "-1"}, {"sys_id": "c1", "state": review}
    )
    task = {"sys_id": "t1", "short_description": f"{SECTION.postmortem_task.short_description_prefix}: x"}
    _notify(queue, SECTION.postmortem_task.table, "insert", {}, task)
    assert watch.wait_postmortem("CHG0030001", 0)
    assert watch.created_at["CHG0030001"] >= watch.deployed_at["CHG0030001"]
    assert len(queue.sent) == 3
