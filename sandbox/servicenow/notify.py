"""Outbound notifications of the `ECM Connector: notify connector` rule: signed, queued, retried, in order
per change."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field

import requests

from sandbox.servicenow.faults import Faults
from sandbox.servicenow.schema import SYSTEM_FIELDS

_QUIET_FIELDS = {"sys_updated_on", "sys_updated_by", "sys_mod_count"}


@dataclass(frozen=True)
class Notification:
    event_id: str
    url: str
    secret: str = field(repr=False)
    body: bytes = field(repr=False)
    change: str = ""  # the change's sys_id: its notifications go out in order

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-ECM-Signature": sign(self.secret, self.body),
            "X-ECM-Event-Id": self.event_id,
        }


@dataclass(frozen=True)
class Delivery:
    """One attempt (or a deliberate drop) of one notification."""

    event_id: str
    attempt: int
    outcome: str  # delivered | failed | dropped
    status: int | None
    payload: dict = field(repr=False)


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def changed_fields(before: dict[str, str], after: dict[str, str]) -> list[str]:
    if not before:
        return [name for name, value in after.items() if value and name not in SYSTEM_FIELDS]
    return [
        name for name, value in after.items() if before.get(name, "") != value and name not in _QUIET_FIELDS
    ]


def build_notification(
    url: str,
    secret: str,
    table: str,
    operation: str,
    before: dict[str, str],
    after: dict[str, str],
    change: dict[str, str],
    now: str,
) -> Notification:
    event_id = uuid.uuid4().hex
    changed = changed_fields(before, after)
    payload = {
        "event_id": event_id,
        "table": table,
        "operation": operation,
        "sys_id": after["sys_id"],
        "change_sys_id": change["sys_id"],
        "change_number": change.get("number", ""),
        "actor": after.get("sys_updated_by", ""),
        "sent_at": now,
        "changed": changed,
        "previous": {name: before.get(name, "") for name in changed} if before else {},
        "record": dict(after),
    }
    body = json.dumps(payload, sort_keys=True).encode()
    return Notification(event_id, url, secret, body, change["sys_id"])


class Notifier:
    """Background workers that post notifications, retrying with backoff: those of one change in
    order (the change is hashed to a worker), those of different changes concurrently."""

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        attempts: int = 5,
        backoff: float = 0.05,
        timeout: float = 5.0,
        workers: int = 8,
    ) -> None:
        self.faults = faults or Faults()
        self.deliveries: list[Delivery] = []
        self._attempts, self._backoff, self._timeout = attempts, backoff, timeout
        self._lanes: list[deque[Notification]] = [deque() for _ in range(max(1, workers))]
        self._wake = threading.Condition()
        self._busy = 0
        self._threads: list[threading.Thread | None] = [None] * len(self._lanes)
        self._stopping = False

    def enqueue(self, notification: Notification) -> None:
        lane = zlib.crc32(notification.change.encode()) % len(self._lanes)
        with self._wake:
            self._lanes[lane].append(notification)
            if self._threads[lane] is None:
                thread = threading.Thread(
                    target=self._run, args=(lane,), name=f"servicenow-notifier-{lane}", daemon=True
                )
                self._threads[lane] = thread
                thread.start()
            self._wake.notify_all()

    def backlog(self) -> int:
        """Notifications queued or being sent."""
        with self._wake:
            return sum(map(len, self._lanes)) + self._busy

    def delivered(self) -> list[dict]:
        return [d.payload for d in list(self.deliveries) if d.outcome == "delivered"]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._wake:
            while any(self._lanes) or self._busy:
                if (
                    not self._wake.wait(max(0.0, deadline - time.monotonic()))
                    and time.monotonic() >= deadline
                ):
                    return False
        return True

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            if thread is not None:
                thread.join(timeout=5)

    def _run(self, lane: int) -> None:
        pending = self._lanes[lane]
        while True:
            with self._wake:
                while not pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                item = self._next(pending)
                self._busy += 1
            try:
                self._deliver(item)
            finally:
                with self._wake:
                    self._busy -= 1
                    self._wake.notify_all()

    def _next(self, pending: deque[Notification]) -> Notification:
        if len(pending) > 1 and self.faults.notification_fate("reorder"):
            first = pending.popleft()
            pending.insert(1, first)
        return pending.popleft()

    def _deliver(self, item: Notification) -> None:
        payload = json.loads(item.body)
        if self.faults.notification_fate("drop"):
            self.deliveries.append(Delivery(item.event_id, 0, "dropped", None, payload))
            return
        time.sleep(self.faults.notification_delay())
        copies = 2 if self.faults.notification_fate("duplicate") else 1
        for _ in range(copies):
            self._send_with_retries(item, payload)

    def _send_with_retries(self, item: Notification, payload: dict) -> None:
        for attempt in range(1, self._attempts + 1):
            status = self._post(item)
            ok = status is not None and 200 <= status < 300
            self.deliveries.append(
                Delivery(item.event_id, attempt, "delivered" if ok else "failed", status, payload)
            )
            if ok or self._stopping:
                return
            time.sleep(self._backoff * 2 ** (attempt - 1))

    def _post(self, item: Notification) -> int | None:
        try:
            return requests.post(
                item.url, data=item.body, headers=item.headers(), timeout=self._timeout
            ).status_code
        except requests.RequestException:
            return None
