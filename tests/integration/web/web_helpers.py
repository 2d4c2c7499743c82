"""Helpers for the web tests: a connector that records deliveries like the real one, signing, reading rows."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from sqlalchemy import select

from connector.config import Settings
from connector.inbound.events import Delivery, Event, Ignored
from connector.store.tables import DeliveryRow
from connector.store.uow import UnitOfWork

JIRA_SECRET = "jira-webhook-secret-for-tests"
SERVICENOW_SECRET = "servicenow-webhook-secret-for-tests"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "jira" / "webhooks"


class RecordingConnector:
    """The `Connector` interface: records each delivery once, then 'processes' it (counted)."""

    def __init__(self, settings: Settings, database) -> None:
        self.settings = settings
        self.database = database
        self.processed: list[Event] = []

    def receive(self, delivery: Delivery, event: Event | Ignored) -> str:
        with UnitOfWork(self.database) as uow:
            row = uow.deliveries.record(
                delivery.source,
                delivery.delivery_id,
                event_type=delivery.event_type,
                issue_key=delivery.issue_key,
                body=delivery.body,
                received_at=delivery.received_at,
            )
            if row is None:
                return "duplicate"
            outcome = "ignored" if isinstance(event, Ignored) else "handled"
            uow.deliveries.mark(row, outcome, event.reason if isinstance(event, Ignored) else None)
            if outcome == "handled":
                self.processed.append(event)
            uow.commit()
            return outcome


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
    """Webhook deliveries (not the "subject" rows that mark a comment or changelog entry as processed)."""
    with database.session() as session:
        query = select(DeliveryRow).where(DeliveryRow.source != "subject").order_by(DeliveryRow.id)
        return list(session.scalars(query))


def as_json(value) -> bytes:
    return json.dumps(value).encode()
