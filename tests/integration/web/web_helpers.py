"""Helpers for the web tests: the real connector with recording translators, signing, reading rows."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from sqlalchemy import select

from connector.bootstrap import ADAPTERS, Connector, bootstrap
from connector.config import Settings
from connector.inbound.events import Event
from connector.store.tables import DeliveryRow
from connector.tools import ToolRuntime

JIRA_SECRET = "jira-webhook-secret-for-tests"
SERVICENOW_SECRET = "servicenow-webhook-secret-for-tests"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "jira" / "webhooks"


class RecordingTranslator:
    """A tool's translator that notes each event it is given and turns it into no command."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event, origin: str) -> list:
        self.events.append(event)
        return []


def connector_for(settings: Settings, database) -> Connector:
    """The real composition root (deliveries are received by `connector.services.deliveries`), with Jira
    and ServiceNow runtimes whose translators record the events they see: `translated(connector)`."""
    connector = bootstrap(settings, database=database, upgrade=False)
    for tool in ("jira", "servicenow"):
        connector.tools[tool] = ToolRuntime(
            tool, None, None, RecordingTranslator(), None, None, ADAPTERS[tool]
        )
    return connector


def translated(connector: Connector) -> list[Event]:
    """The events the connector gave its tools' translators (parsed, not ignored), in order."""
    return [event for tool in connector.tools.values() for event in tool.translate.events]


def settings(**overrides) -> Settings:
    values = {"jira_webhook_secret": JIRA_SECRET, "servicenow_webhook_secret": SERVICENOW_SECRET}
    return Settings(**{**values, **overrides})


def jira_signature(body: bytes, secret: str = JIRA_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_jira_headers(body: bytes, delivery_id: str | None = "d-1") -> dict[str, str]:
    headers = {"X-Hub-Signature": jira_signature(body), "Content-Type": "application/json"}
    if delivery_id:
        headers["X-Atlassian-Webhook-Identifier"] = delivery_id
    return headers


def fixture_body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded(database) -> list[DeliveryRow]:
    """The webhook deliveries recorded, in order."""
    with database.session() as session:
        query = select(DeliveryRow).order_by(DeliveryRow.id)
        return list(session.scalars(query))


def as_json(value) -> bytes:
    return json.dumps(value).encode()
