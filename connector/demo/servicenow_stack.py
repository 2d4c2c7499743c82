"""The ServiceNow side of the demo, on loopback in one process: the ServiceNow sandbox, the connector's
web service and its outbox dispatcher. The end-to-end tests use it too.

`ecm install` runs against the sandbox first (business rules, properties, events and e-mail
notifications), so the sandbox posts signed notifications to the service exactly as an instance
with the installed rules would, and the dispatcher writes back through the real `pysnow` gateway.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from connector.bootstrap import Connector, bootstrap, system_clock
from connector.config import load_settings
from connector.demo.stack import REPO, DispatchLoop, QuietHandler
from connector.mapping import load_mapping

DEFAULT_MAPPING = REPO / "mappings" / "servicenow.yaml"
CONNECTOR_USER = "ecm-bot"  # seeded with the admin role; password = user name in the sandbox


class ServiceNowStack:
    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        database_schema: str | None = None,
        mapping_path: Path = DEFAULT_MAPPING,
        progress: Callable[[str], None] = lambda _line: None,
        sandbox_options: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir, self.mapping_path = data_dir, mapping_path
        self.database_url, self.database_schema = database_url, database_schema
        self.progress, self.sandbox_options = progress, sandbox_options or {}
        self.secret = secrets.token_hex(16)
        self.sandbox: Any = None
        self.connector: Connector | None = None
        self.service_url = ""
        self._server: Any = None
        self.dispatch: DispatchLoop | None = None

    def start(self) -> ServiceNowStack:
        from sandbox.servicenow.server import SandboxServiceNow

        self.sandbox = SandboxServiceNow(**self.sandbox_options)
        snow_url = self.sandbox.start()
        self.progress(f"servicenow sandbox: {snow_url}")
        self._server = make_server(
            "127.0.0.1",
            0,
            lambda env, start: self.app(env, start),
            threaded=True,
            request_handler=QuietHandler,
        )
        self.service_url = f"http://127.0.0.1:{self._server.server_port}"
        environ = {
            "ECM_DATA_DIR": str(self.data_dir),
            "ECM_SERVICENOW_URL": snow_url,
            "ECM_SERVICENOW_USER": CONNECTOR_USER,
            "ECM_SERVICENOW_PASSWORD": CONNECTOR_USER,
            "ECM_SERVICENOW_WEBHOOK_SECRET": self.secret,
            "ECM_PUBLIC_URL": self.service_url,
            "ECM_MAPPINGS": str(self.mapping_path),
            "ECM_LOG_FORMAT": "text",
        }
        if self.database_url:
            environ["ECM_DATABASE_URL"] = self.database_url
        if self.database_schema:
            environ["ECM_DATABASE_SCHEMA"] = self.database_schema
        settings = load_settings(environ)
        self.connector = bootstrap(settings, clock=system_clock)
        self.install(settings)
        from connector.web.app import create_app

        self.app = create_app(self.connector)
        threading.Thread(target=self._server.serve_forever, name="ecm-service", daemon=True).start()
        self.progress(f"service: {self.service_url}")
        self.dispatch = DispatchLoop(self.connector)
        self.dispatch.start()
        return self

    def install(self, settings: Any) -> None:
        from connector.servicenow.installer import install

        assert self.connector is not None
        install(
            load_mapping(self.mapping_path),
            self.connector.tools["servicenow"].gateway,
            settings=settings,
            progress=lambda item: self.progress(f"  installed {item.action:9} {item.kind:18} {item.name}"),
        )

    def stop(self) -> None:
        if self.dispatch:
            self.dispatch.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.connector is not None:
            self.connector.database.dispose()

    def __enter__(self) -> ServiceNowStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def settle(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until notifications are delivered and `condition()` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            self.sandbox.wait_for_notifications(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
            value = condition()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)
