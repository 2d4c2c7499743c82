"""What the app holds for its requests: the connector (composition root) and its options."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import current_app

EXTENSION = "ecm"


class Connector(Protocol):
    """The composition root the web layer needs (see connector/bootstrap.py)."""

    settings: Any
    database: Any
    tools: Any  # tool name -> its runtime, for `connector.services.deliveries.receive`


@dataclass(frozen=True)
class WebState:
    connector: Connector
    insecure_no_signature: bool
    write_gate: AbstractContextManager = field(default_factory=nullcontext)


def write_gate_for(database: Any) -> AbstractContextManager:
    """SQLite has one writer: the threads of a worker take turns here instead of sleeping in SQLite's busy
    handler (which backs off up to 100 ms a try and turns contention into long tails). Measured in
    bench/ingest.py; other databases need no gate."""
    return threading.Lock() if getattr(database, "dialect", None) == "sqlite" else nullcontext()


def web_state() -> WebState:
    return current_app.extensions[EXTENSION]


def current_connector() -> Connector:
    return web_state().connector
