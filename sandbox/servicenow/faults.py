"""Fault injection: seeded random rates or scripted "next N requests to PATTERN → response"."""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass
from typing import Any

MAX_HOLD_SECONDS = 30.0

_RATE_KEYS = {"latency", "429", "5xx", "timeout"}
_NOTIFY_KEYS = {"drop", "fail", "duplicate", "reorder", "delay_seconds"}
_TOP_KEYS = {
    "seed",
    "rates",
    "latency_seconds",
    "retry_after",
    "status_5xx",
    "timeout_seconds",
    "scripted",
    "notifications",
}


class FaultSpecError(ValueError):
    """The fault description cannot be used; the message says which key."""


@dataclass(frozen=True)
class FaultAction:
    """What to do to one request: wait `delay` seconds, then answer `status` (None → serve it normally)."""

    delay: float = 0.0
    status: int | None = None
    retry_after: str | None = None


@dataclass
class _Script:
    pattern: str
    remaining: int
    action: FaultAction


class Faults:
    """Thread-safe fault plan shared by the request path and the notification worker."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(spec or {})

    def configure(self, spec: dict[str, Any]) -> None:
        unknown = set(spec) - _TOP_KEYS
        unknown |= {f"rates.{k}" for k in set(spec.get("rates", {})) - _RATE_KEYS}
        unknown |= {f"notifications.{k}" for k in set(spec.get("notifications", {})) - _NOTIFY_KEYS}
        if unknown:
            raise FaultSpecError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        scripts = [_script(i, entry) for i, entry in enumerate(spec.get("scripted", []))]
        with self._lock:
            self.spec = dict(spec)
            self._random = random.Random(spec.get("seed", 0))
            self._rates = {k: float(v) for k, v in spec.get("rates", {}).items()}
            self._notify = {k: float(v) for k, v in spec.get("notifications", {}).items()}
            self._scripts = scripts

    def clear(self) -> None:
        self.configure({})

    def for_request(self, method: str, path: str) -> FaultAction | None:
        target = f"{method.upper()} {path}"
        with self._lock:
            for script in self._scripts:
                if script.remaining > 0 and fnmatch.fnmatchcase(target, script.pattern):
                    script.remaining -= 1
                    return script.action
            return self._random_action()

    def notification_fate(self, kind: str) -> bool:
        with self._lock:
            rate = self._notify.get(kind, 0.0)
            return rate > 0 and self._random.random() < rate

    def notification_delay(self) -> float:
        return min(MAX_HOLD_SECONDS, self._notify.get("delay_seconds", 0.0))

    def _random_action(self) -> FaultAction | None:
        draw = self._random.random
        spec = self.spec
        if self._rates.get("timeout", 0) and draw() < self._rates["timeout"]:
            return FaultAction(delay=_hold(spec.get("timeout_seconds", 5.0)), status=504)
        if self._rates.get("429", 0) and draw() < self._rates["429"]:
            return FaultAction(status=429, retry_after=str(spec.get("retry_after", 1)))
        if self._rates.get("5xx", 0) and draw() < self._rates["5xx"]:
            return FaultAction(status=int(spec.get("status_5xx", 503)))
        if self._rates.get("latency", 0) and draw() < self._rates["latency"]:
            return FaultAction(delay=_hold(spec.get("latency_seconds", 0.2)))
        return None


def _hold(seconds: Any) -> float:
    return max(0.0, min(MAX_HOLD_SECONDS, float(seconds)))


def _script(index: int, entry: dict[str, Any]) -> _Script:
    where = f"scripted[{index}]"
    if not isinstance(entry, dict) or "pattern" not in entry:
        raise FaultSpecError(f"{where}.pattern is required")
    unknown = set(entry) - {"pattern", "count", "status", "retry_after", "delay", "timeout"}
    if unknown:
        raise FaultSpecError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if "timeout" in entry:
        action = FaultAction(delay=_hold(entry["timeout"]), status=504)
    else:
        retry_after = entry.get("retry_after", 1 if entry.get("status") == 429 else None)
        action = FaultAction(
            delay=_hold(entry.get("delay", 0)),
            status=entry.get("status"),
            retry_after=None if retry_after is None else str(retry_after),
        )
    return _Script(str(entry["pattern"]), int(entry.get("count", 1)), action)
