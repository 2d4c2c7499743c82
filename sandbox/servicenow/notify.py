"""Outbound HTTP of the instance's scripts (`sn_ws.RESTMessageV2`), with fault injection.

`execute()` posts at once and answers the status (0 with an error message when the endpoint cannot be
reached in time). `executeAsync()` posts once from a background sender and nothing retries it: a failed
or lost request is gone, as on an instance (“executeAsync … the instance does not wait for a response”,
https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server/sn_ws-namespace/c_RESTMessageV2API#r_RMV2-executeAsync).
Requests to one change go out in the order sent unless the fault plan reorders them.

Faults (`notifications` in the fault plan): `drop` (the request never leaves: lost), `fail` (the network
answers 503 without reaching the receiver), `duplicate` (delivered twice), `reorder`, `delay_seconds`.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import requests

from sandbox.servicenow.faults import Faults

EVENT_HEADER = "X-ECM-Event-Id"


@dataclass(frozen=True)
class Outbound:
    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)
    timeout: float = 10.0

    @classmethod
    def from_script(cls, request: dict[str, Any]) -> Outbound:
        return cls(
            method=str(request.get("method") or "get").upper(),
            url=str(request.get("endpoint") or ""),
            headers={str(k): str(v) for k, v in (request.get("headers") or {}).items()},
            body=str(request.get("body") or ""),
            timeout=max(0.1, float(request.get("timeout") or 60000) / 1000),
        )

    @property
    def event_id(self) -> str:
        return self.headers.get(EVENT_HEADER, "")

    def payload(self) -> dict:
        try:
            found = json.loads(self.body)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Delivery:
    """One attempt (or a deliberate drop) of one request."""

    event_id: str
    attempt: int
    outcome: str  # delivered | failed | dropped
    status: int | None
    payload: dict = field(repr=False)


class Notifier:
    """Sends the scripts' requests: synchronous ones inline, asynchronous ones from background lanes."""

    def __init__(self, faults: Faults | None = None, *, workers: int = 8) -> None:
        self.faults = faults or Faults()
        self.deliveries: list[Delivery] = []
        self._lanes: list[deque[Outbound]] = [deque() for _ in range(max(1, workers))]
        self._wake = threading.Condition()
        self._busy = 0
        self._threads: list[threading.Thread | None] = [None] * len(self._lanes)
        self._stopping = False
        self._attempts: dict[str, int] = {}

    # --- what the scripts call -----------------------------------------------------------------
    def execute(self, request: Outbound) -> dict[str, Any]:
        time.sleep(self.faults.notification_delay())
        if self.faults.notification_fate("duplicate"):
            self._deliver(request)
        status = self._deliver(request)
        if status is None:
            return {"status": 0, "body": "", "error": "Request failed: no answer from the endpoint"}
        return {"status": status, "body": "", "error": ""}

    def execute_async(self, request: Outbound) -> dict[str, Any]:
        lane = zlib.crc32(str(request.payload().get("change_sys_id", "")).encode()) % len(self._lanes)
        with self._wake:
            self._lanes[lane].append(request)
            if self._threads[lane] is None:
                thread = threading.Thread(
                    target=self._run, args=(lane,), name=f"servicenow-outbound-{lane}", daemon=True
                )
                self._threads[lane] = thread
                thread.start()
            self._wake.notify_all()
        return {"status": 0, "body": "", "error": ""}  # no answer yet: the script cannot rely on one

    # --- state for tests -----------------------------------------------------------------------
    def backlog(self) -> int:
        with self._wake:
            return sum(map(len, self._lanes)) + self._busy

    def delivered(self) -> list[dict]:
        return [d.payload for d in list(self.deliveries) if d.outcome == "delivered"]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._wake:
            while any(self._lanes) or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.wait(remaining)
        return True

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            if thread is not None:
                thread.join(timeout=5)

    # --- internals -----------------------------------------------------------------------------
    def _run(self, lane: int) -> None:
        pending = self._lanes[lane]
        while True:
            with self._wake:
                while not pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                if len(pending) > 1 and self.faults.notification_fate("reorder"):
                    pending.rotate(-1)
                item = pending.popleft()
                self._busy += 1
            try:
                time.sleep(self.faults.notification_delay())
                copies = 2 if self.faults.notification_fate("duplicate") else 1
                for _ in range(copies):
                    self._deliver(item)
            finally:
                with self._wake:
                    self._busy -= 1
                    self._wake.notify_all()

    def _deliver(self, item: Outbound) -> int | None:
        with self._wake:
            attempt = self._attempts[item.event_id] = self._attempts.get(item.event_id, 0) + 1
        payload = item.payload()
        if self.faults.notification_fate("drop"):
            self.deliveries.append(Delivery(item.event_id, attempt, "dropped", None, payload))
            return None
        if self.faults.notification_fate("fail"):
            self.deliveries.append(Delivery(item.event_id, attempt, "failed", 503, payload))
            return 503
        try:
            status: int | None = requests.request(
                item.method, item.url, data=item.body.encode(), headers=item.headers, timeout=item.timeout
            ).status_code
        except requests.RequestException:
            status = None
        ok = status is not None and 200 <= status < 300
        self.deliveries.append(
            Delivery(item.event_id, attempt, "delivered" if ok else "failed", status, payload)
        )
        return status
