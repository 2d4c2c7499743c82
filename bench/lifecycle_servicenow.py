"""The lifecycle benchmark's ServiceNow target (`bench/lifecycle.py --target servicenow`): many emergency
changes at once through the ServiceNow sandbox, each a full lifecycle without violations, as the seeded
people through `ServiceNowGateway`, against one `ServiceNowStack`.

Latency: from the moment the sandbox queued the notification that the change entered Review (the stage
whose entry creates the post-mortem) to the moment it queued the one for the post-mortem change_task's
insert, both seen by wrapping the sandbox's notifier in-process (no HTTP polling). Calls: the Table API
requests authenticated as ecm-bot, by method and table.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import select

from bench.lifecycle import Bench, CallCounter

CONNECTOR_USER = "ecm-bot"


class NotificationWatch:
    """Wraps the sandbox's outbound sender (`execute`, what the installed deliver rule's RESTMessageV2
    calls): when each change entered Review and when its post-mortem task was inserted (by change
    number). Waiters wake on the insert."""

    def __init__(self, notifier: Any, section: Any) -> None:
        self.section = section
        self.review = next(v for v, stage in section.states.items() if stage.value == "postmortem")
        self.deployed_at: dict[str, float] = {}  # entered Review, named as the Jira watch's for the report
        self.created_at: dict[str, float] = {}
        self.linked_at: dict[str, float] = {}
        self.ready = threading.Condition(threading.Lock())
        self._send = notifier.execute
        notifier.execute = self._on_notification

    def _on_notification(self, notification: Any) -> Any:
        now = time.perf_counter()
        body = json.loads(notification.body)
        change, record = body.get("change_number", ""), body.get("record", {})
        task = self.section.postmortem_task
        if body["table"] == self.section.table and "state" in body["changed"]:
            if record.get("state") == self.review:
                self.deployed_at.setdefault(change, now)
        elif (body["table"], body["operation"]) == (task.table, "insert") and record.get(
            "short_description", ""
        ).startswith(task.short_description_prefix):
            with self.ready:
                self.created_at.setdefault(change, now)
                self.ready.notify_all()
        return self._send(notification)

    def wait_postmortem(self, change: str, timeout: float) -> bool:
        with self.ready:
            return self.ready.wait_for(lambda: change in self.created_at, timeout)


class ServiceNowLifecycle:
    """One emergency change from raise to close as the seeded people, with no violation. Notifications
    of one change are delivered in order; the people wait for the instance's approval requests, the
    post-mortem task and the connector's record of it being done."""

    def __init__(self, stack: Any, watch: NotificationWatch) -> None:
        self.stack, self.watch = stack, watch
        self.section = stack.connector.tools["servicenow"].mapping.servicenow
        self.state = {stage.value: value for value, stage in self.section.states.items()}
        self.local = threading.local()

    def person(self, name: str) -> Any:
        from connector.servicenow.gateway import ServiceNowGateway

        people = self.local.__dict__.setdefault("people", {})
        if name not in people:
            people[name] = ServiceNowGateway(self.stack.sandbox.base_url, user=name, password=name)
        return people[name]

    def move(self, who: str, sys_id: str, stage: str, **fields: str) -> None:
        self.person(who).update_change(sys_id, {"state": self.state[stage], **fields})

    def run(self, number: int, deadline: float) -> str:
        emma = self.person("eng.emma")
        created = emma.create(
            self.section.table,
            {
                "type": self.section.type,
                "short_description": f"Bench change {number}: checkout API returns 500",
                "description": "Connection pool exhausted after the release.",
                "category": "Service outage",
                "justification": "Checkout fails in the EU.",
                "requested_by": emma.user_sys_id("eng.emma"),
            },
        )
        sys_id, key = created.sys_id, created.get("number")
        self.move("eng.emma", sys_id, "awaiting_approval")
        for approver in ("lead.liam", "sec.sara"):
            approval = self._until(lambda a=approver: self._requested(sys_id, a), deadline)
            self.person(approver).update("sysapproval_approver", approval, {"state": "approved"})
        self.move("eng.emma", sys_id, "approved")
        self.person("peer.pete").add_comment(sys_id, "/peer-reviewed")
        self.person("sec.sara").add_comment(sys_id, "/security-reviewed")
        self.move("eng.emma", sys_id, "deployed")
        self.move("eng.emma", sys_id, "postmortem")
        if not self.watch.wait_postmortem(key, max(0.0, deadline - time.perf_counter())):
            raise TimeoutError(f"{key}: no post-mortem task before the deadline")
        task = self._until(lambda: self._recorded_task(sys_id, key), deadline)
        emma.add_comment(sys_id, f"/pr https://git.example.com/acme/checkout/pull/{number}")
        emma.update(
            self.section.postmortem_task.table,
            task,
            {"state": "3", "close_notes": f"Report: https://wiki.example.com/pm/{number}"},
        )
        self._until(lambda: self._postmortem(key, "done_at"), deadline)
        self.move("eng.emma", sys_id, "closed", close_code="successful", close_notes="Pool size raised.")
        return key

    def _requested(self, sys_id: str, approver: str) -> str | None:
        user = self.stack.sandbox.user(approver)["sys_id"]
        found = self.stack.sandbox.records("sysapproval_approver", sysapproval=sys_id, approver=user)
        return next((a["sys_id"] for a in found if a.get("state") == "requested"), None)

    def _recorded_task(self, sys_id: str, key: str) -> str | None:
        """The post-mortem task's sys_id once the connector recorded it (else its Done could outrun that)."""
        number = self._postmortem(key, "key")
        found = self.stack.sandbox.records(self.section.postmortem_task.table, change_request=sys_id)
        return next((t["sys_id"] for t in found if number and t.get("number") == number), None)

    def _postmortem(self, key: str, column: str) -> Any:
        from connector.store.tables import ChangeRow, PostMortemRow

        query = select(getattr(PostMortemRow, column)).join(ChangeRow).where(ChangeRow.key == key)
        with self.stack.connector.database.engine.connect() as connection:
            return connection.scalar(query)

    @staticmethod
    def _until(read: Any, deadline: float) -> Any:
        while time.perf_counter() < deadline:
            value = read()
            if value:
                return value
            time.sleep(0.02)
        raise TimeoutError("the connector or the instance did not answer before the deadline")


class ServiceNowBench(Bench):
    def __init__(self, stack: Any, max_seconds: float) -> None:
        self.stack, self.max_seconds = stack, max_seconds
        app = stack.sandbox.app
        self.counter = CallCounter(app.wsgi_app, app.url_map)
        app.wsgi_app = self.counter
        self.notifier = stack.sandbox.instance.notifier
        self.watch = NotificationWatch(self.notifier, stack.connector.tools["servicenow"].mapping.servicenow)
        self.lifecycle = ServiceNowLifecycle(stack, self.watch)

    def backlog(self) -> int:
        return self.notifier.backlog()

    def deliveries(self) -> int:
        return len({d.event_id for d in list(self.notifier.deliveries)})

    def deliver_pending(self, timeout: float) -> None:
        self.stack.sandbox.wait_for_notifications(timeout=timeout)
