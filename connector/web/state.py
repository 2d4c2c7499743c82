"""What the app holds for its requests: the connector (composition root) and its options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from connector.inbound.events import Delivery, Event, Ignored

EXTENSION = "ecm"


class Connector(Protocol):
    """The composition root the web layer needs (see connector/bootstrap.py)."""

    settings: Any
    database: Any

    def receive(self, delivery: Delivery, event: Event | Ignored) -> str:
        """Record the delivery durably and process it in one transaction: handled | ignored | duplicate."""
        ...


@dataclass(frozen=True)
class WebState:
    connector: Connector
    insecure_no_signature: bool


def web_state() -> WebState:
    return current_app.extensions[EXTENSION]


def current_connector() -> Connector:
    return web_state().connector
