"""What the app holds for its requests: the connector (composition root) and its options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flask import current_app

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.services.deliveries import Intake
    from connector.store.db import Database
    from connector.tools import ToolRuntime

EXTENSION = "ecm"


class Connector(Protocol):
    """The composition root the web layer needs (see connector/bootstrap.py)."""

    settings: Settings
    database: Database
    tools: Mapping[str, ToolRuntime]  # tool name -> its runtime, for `connector.services.deliveries.receive`


@dataclass(frozen=True)
class WebState:
    connector: Connector
    insecure_no_signature: bool
    intake: Intake  # this process's group commit of deliveries


def web_state() -> WebState:
    return current_app.extensions[EXTENSION]


def current_connector() -> Connector:
    return web_state().connector
