"""What the app holds for its requests: the connector (composition root) and its options."""

from __future__ import annotations

from dataclasses import dataclass
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
    intake: Any  # connector.services.intake.Intake: this process's one writer of deliveries


def web_state() -> WebState:
    return current_app.extensions[EXTENSION]


def current_connector() -> Connector:
    return web_state().connector
