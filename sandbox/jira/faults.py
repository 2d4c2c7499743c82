"""Fault injection for requests (latency, 429, 5xx, timeouts) and webhook deliveries (drop, duplicate, ...).

A rule fires by rate (probability from a seeded random) or by script (`count`: the next N matching
requests). Example, as JSON for `POST /_sandbox/faults` or the env variable ECM_JIRA_SANDBOX_FAULTS:

    {"seed": 7,
     "rules": [{"path": "/rest/api/*/issue/*/transitions", "method": "POST", "kind": "status",
                "status": 429, "retry_after": 1, "count": 2},
               {"path": "/rest/api/*", "kind": "latency", "seconds": 0.05, "rate": 0.1}],
     "webhooks": {"drop": 0.0, "duplicate": 0.1, "reorder": 0.0, "delay": 0.0,
                  "script": ["drop", "duplicate"], "script_actor": "eng.emma"}}
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any

REQUEST_KINDS = ("latency", "status", "timeout")
WEBHOOK_ACTIONS = ("drop", "duplicate", "reorder", "delay")
MAX_HOLD_SECONDS = 30.0


@dataclass
class FaultRule:
    path: str
    kind: str
    method: str = "*"
    status: int = 503
    retry_after: int | None = None
    seconds: float = 0.0
    rate: float = 1.0
    count: int | None = None  # None: every matching request (subject to rate)

    def applies(self, method: str, path: str) -> bool:
        return fnmatch.fnmatch(path, self.path) and self.method in ("*", method.upper())


@dataclass
class WebhookFaults:
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: float = 0.0  # probability of delaying by delay_seconds
    delay_seconds: float = 0.5
    script: list[str] = field(default_factory=list)
    # Whose actions the script applies to (a user name): the webhooks of others' actions, the connector's
    # own writes among them, then never take a scripted action meant for a person's step.
    script_actor: str | None = None


class Faults:
    """Thread-safe fault configuration shared by the app and the webhook worker."""

    def __init__(
        self, rules: list[FaultRule] | None = None, webhooks: WebhookFaults | None = None, seed: int = 0
    ) -> None:
        self._lock = threading.Lock()
        self.rules = list(rules or [])
        self.webhooks = webhooks or WebhookFaults()
        self.random = random.Random(seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        rules = []
        for raw in data.get("rules") or []:
            if raw.get("kind") not in REQUEST_KINDS:
                raise ValueError(
                    f"faults.rules: kind must be one of {REQUEST_KINDS}, got {raw.get('kind')!r}"
                )
            rules.append(FaultRule(**raw))
        hooks = WebhookFaults(**(data.get("webhooks") or {}))
        unknown = [a for a in hooks.script if a not in (*WEBHOOK_ACTIONS, "deliver")]
        if unknown:
            raise ValueError(f"faults.webhooks.script: unknown actions {unknown}")
        return cls(rules, hooks, int(data.get("seed", 0)))

    def replace(self, other: Faults) -> None:
        with self._lock:
            self.rules, self.webhooks, self.random = other.rules, other.webhooks, other.random

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self.rules.append(rule)

    def clear(self) -> None:
        self.replace(Faults())

    def for_request(self, method: str, path: str) -> FaultRule | None:
        """The rule to apply to this request, if any; scripted rules count down."""
        with self._lock:
            for rule in self.rules:
                if not rule.applies(method, path):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                    return rule
                if self.random.random() < rule.rate:
                    return rule
        return None

    def for_delivery(self, actor: str | None = None) -> str:
        """What happens to the next webhook delivery (of an action by `actor`): deliver, drop, duplicate,
        reorder or delay."""
        with self._lock:
            hooks = self.webhooks
            if hooks.script and hooks.script_actor in (None, actor):
                return hooks.script.pop(0)
            for action in WEBHOOK_ACTIONS:
                if self.random.random() < getattr(self.webhooks, action):
                    return action
        return "deliver"

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"rules": [vars(r).copy() for r in self.rules], "webhooks": vars(self.webhooks).copy()}
