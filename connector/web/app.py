"""The Flask app factory. Nothing is built at import time.

    app = create_app(bootstrap(load_settings()))      # what `ecm serve` does per worker
    app = create_app(fake_connector, config={"TESTING": True})

`insecure_no_signature=True` (or the `--insecure-no-signature` flag) lets unsigned deliveries in when no
webhook secret is configured; it logs a warning when the app starts. Without it such endpoints answer 503.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from connector.services.deliveries import Intake
from connector.web import admin, auth, dashboard, errors, health, metrics, webhooks
from connector.web.state import EXTENSION, Connector, WebState

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


def create_app(
    connector: Connector | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    insecure_no_signature: bool = False,
) -> Flask:
    if connector is None:
        from connector.bootstrap import bootstrap
        from connector.config import load_settings

        connector = bootstrap(load_settings())
    app = Flask("connector.web")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.config.update(config or {})
    insecure = insecure_no_signature or bool(app.config.get("INSECURE_NO_SIGNATURE"))
    if insecure:
        logger.warning(
            "webhook-signatures-off",
            extra={"detail": "unsigned deliveries are accepted where no webhook secret is configured"},
        )
    state = app.extensions[EXTENSION] = WebState(connector, insecure, Intake(connector))
    web_metrics = app.extensions[metrics.EXTENSION] = metrics.WebMetrics(connector.database)
    errors.init_app(app)
    auth.init_app(app, connector.settings)
    for blueprint in (health.bp, metrics.bp, admin.bp, dashboard.bp):
        app.register_blueprint(blueprint)
    # The deliveries are answered in front of Flask (connector/web/webhooks.py), everything else by it.
    max_body = app.config["MAX_CONTENT_LENGTH"]
    app.wsgi_app = webhooks.WebhookPath(app.wsgi_app, state, web_metrics, max_body=max_body)  # type: ignore[method-assign]
    return app
