"""Prometheus metrics, one registry per app (so tests can build many apps in one process).

- `ecm_webhook_deliveries_total{source,outcome}`: every delivery attempt, by outcome (handled, ignored,
  duplicate, bad_signature, malformed, not_configured, too_large, failed).
- `ecm_handler_seconds{source}`: time spent in a webhook view (verify, parse, record and process).
- `ecm_outbox_depth`: pending outbox rows, read from the store at each scrape.

Several gunicorn workers: set `PROMETHEUS_MULTIPROC_DIR` to an empty directory before the server starts
(`ecm serve` empties it and marks dead workers); each worker then writes its counters there and `/metrics`
adds them up across workers (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from werkzeug.exceptions import RequestEntityTooLarge

from connector.errors import BadSignature, MalformedBody
from connector.store.db import Database, DatabaseError
from connector.store.uow import UnitOfWork
from connector.web.errors import WebhookNotConfigured

logger = logging.getLogger(__name__)
EXTENSION = "ecm_metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
HANDLER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ERROR_OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (BadSignature, "bad_signature"),
    (MalformedBody, "malformed"),
    (WebhookNotConfigured, "not_configured"),
    (RequestEntityTooLarge, "too_large"),
)

bp = Blueprint("metrics", __name__)


class OutboxDepth(Collector):
    """Reads the pending outbox rows at scrape time; a database error leaves the gauge out."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with UnitOfWork(self.database) as uow:
                depth = uow.outbox.depth()
        except DatabaseError as exc:
            logger.warning("metrics-outbox-unreadable", extra={"error": type(exc).__name__})
            return
        yield GaugeMetricFamily("ecm_outbox_depth", "Outbox rows waiting to be sent", value=depth)


class WebMetrics:
    def __init__(self, database: Database) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry()
        owned = None if self.multiprocess else self.registry  # multiprocess values live in the directory
        self.deliveries = Counter(
            "ecm_webhook_deliveries", "Webhook deliveries by outcome", ["source", "outcome"], registry=owned
        )
        self.handler_seconds = Histogram(
            "ecm_handler_seconds",
            "Time in a webhook view",
            ["source"],
            buckets=HANDLER_BUCKETS,
            registry=owned,
        )
        self.outbox = OutboxDepth(database)
        self.registry.register(self.outbox)

    def count(self, source: str, outcome: str) -> None:
        self.deliveries.labels(source, outcome).inc()

    def observe(self, source: str, seconds: float) -> None:
        self.handler_seconds.labels(source).observe(seconds)

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(self.outbox)
        return generate_latest(registry)


def current_metrics() -> WebMetrics:
    return current_app.extensions[EXTENSION]


def outcome_of(exc: BaseException) -> str:
    """The outcome a delivery refused by `exc` is counted under."""
    return next((name for kind, name in ERROR_OUTCOMES if isinstance(exc, kind)), "failed")


@bp.get("/metrics")
def metrics() -> Response:
    return Response(current_metrics().exposition(), content_type=CONTENT_TYPE_LATEST)
