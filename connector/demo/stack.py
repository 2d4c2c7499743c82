"""Everything the demo needs, on loopback in one process: a tool's sandbox, the connector's web
service, and its outbox dispatcher. The end-to-end tests and the benchmarks use it too.

The service is the real Flask app behind a threaded WSGI server; the sandbox delivers signed
webhooks to it over HTTP exactly as the tool would, and the dispatcher performs the outbox actions
against the sandbox through the real `jira` / `pysnow` gateways. `LocalStack` is the common part;
`JiraStack` and `connector.demo.servicenow_stack.ServiceNowStack` say what differs per tool.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.bootstrap import Clock, Connector, bootstrap
from connector.config import Settings, load_settings
from connector.demo.clock import DemoClock
from connector.dispatch import Dispatcher
from connector.mapping import load_mapping
from connector.store.checkpoints import Checkpointer, checkpointer_from_settings

if TYPE_CHECKING:
    from sandbox.github.server import SandboxGitHub
    from sandbox.jira.server import SandboxJira
    from sandbox.servicenow.server import SandboxServiceNow

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MAPPING = REPO / "mappings" / "jira-cloud.yaml"
CONNECTOR_USER = "ecm-bot"
GITHUB_APP_ID = "424242"  # the demo's GitHub App


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class DispatchLoop:
    """The outbox dispatcher as a thread: polls every `interval`, runs again at once after work, and
    wakes at once when the service in this process has answered a request (which may have queued rows)."""

    def __init__(self, connector: Connector, interval: float = 0.02) -> None:
        self.dispatcher = Dispatcher(connector, clock=connector.clock)
        self.interval, self._stop, self._wake = interval, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-dispatcher", daemon=True)
        self.errors: list[str] = []

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.dispatcher.run(limit=50)
            except Exception as error:  # noqa: BLE001 - the loop survives and reports it
                self.errors.append(f"{type(error).__name__}: {error}")
                report = None
            if report is None or report.total == 0:
                self._wake.wait(self.interval)
                self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout=5)


HONOURED = (
    "ECM_ADMIN_TOKEN",
    "ECM_GATE_TOKEN",
    "ECM_SECRET_KEY",
    "ECM_AUDIT_SIGNING_KEY_FILE",
    "ECM_AUDIT_ANCHOR",
)
"""Secrets and keys the demo takes from the environment when they are set (each token also as _FILE)."""


def honoured_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    names = (*HONOURED, "ECM_ADMIN_TOKEN_FILE", "ECM_GATE_TOKEN_FILE")
    return {name: environ[name] for name in names if environ.get(name)}


class LocalStack:
    """Sandbox + service + dispatcher for one tool; subclasses name the tool and its settings."""

    tool = ""
    default_mapping = DEFAULT_MAPPING
    secret_variable = "ECM_JIRA_WEBHOOK_SECRET"  # noqa: S105 - the variable naming the tool's webhook secret

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        database_schema: str | None = None,
        mapping_path: Path | None = None,
        progress: Callable[[str], None] = lambda _line: None,
        sandbox_options: dict[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.data_dir, self.mapping_path = data_dir, mapping_path or self.default_mapping
        # One clock for the sandbox and the connector (a `clock` in sandbox_options gives the sandbox its own)
        self.clock: Clock | DemoClock = clock or DemoClock()
        self.database_url, self.database_schema = database_url, database_schema
        self.progress, self.sandbox_options = progress, sandbox_options or {}
        # A webhook secret the person running the demo set is used, else a fresh one.
        self.secret = os.environ.get(self.secret_variable) or secrets.token_hex(16)
        # The pipelines' webhooks (GitHub deployments, the generic deploy hook) likewise.
        self.github_secret = os.environ.get("ECM_GITHUB_WEBHOOK_SECRET") or secrets.token_hex(16)
        self.deploy_secret = os.environ.get("ECM_DEPLOY_WEBHOOK_SECRET") or secrets.token_hex(16)
        self.sandbox: SandboxJira | SandboxServiceNow | None = None
        self.connector: Connector | None = None
        self.service_url = ""
        self.environ: dict[str, str] = {}
        self._server: BaseWSGIServer | None = None
        self.dispatch: DispatchLoop | None = None
        self.checkpointer: Checkpointer | None = None
        self.github: SandboxGitHub | None = (
            None  # the GitHub API sandbox the connector's GitHub App answers through
        )

    # --- what differs per tool ---------------------------------------------------------------------

    def _start_sandbox(self) -> str:
        raise NotImplementedError

    def _tool_environ(self, sandbox_url: str) -> dict[str, str]:
        raise NotImplementedError

    def _install_options(self) -> dict[str, Any]:
        return {}

    def _wait_delivered(self, timeout: float) -> None:
        raise NotImplementedError

    # --- the common part -----------------------------------------------------------------------------

    def start(self) -> LocalStack:
        sandbox_url = self._start_sandbox()
        self.progress(f"{self.tool} sandbox: {sandbox_url}")
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler)
        self.service_url = f"http://127.0.0.1:{self._server.server_port}"
        self.environ = {
            "ECM_DATA_DIR": str(self.data_dir),
            "ECM_PUBLIC_URL": self.service_url,
            "ECM_MAPPINGS": str(self.mapping_path),
            "ECM_LOG_FORMAT": "text",
            "ECM_GITHUB_WEBHOOK_SECRET": self.github_secret,
            "ECM_DEPLOY_WEBHOOK_SECRET": self.deploy_secret,
            **self._tool_environ(sandbox_url),
        }
        self.environ |= self._start_github()
        self.environ |= honoured_secrets(os.environ)
        if "ECM_ADMIN_TOKEN" not in self.environ and "ECM_ADMIN_TOKEN_FILE" not in self.environ:
            self.environ["ECM_ADMIN_TOKEN"] = secrets.token_urlsafe(24)  # fresh: the dashboard opens with it
        if self.database_url:
            self.environ["ECM_DATABASE_URL"] = self.database_url
        if self.database_schema:
            self.environ["ECM_DATABASE_SCHEMA"] = self.database_schema
        settings = load_settings(self.environ)
        self.admin_token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        self.connector = bootstrap(settings, clock=self.clock)
        self.install(settings)
        from connector.web.app import create_app

        self.app = create_app(self.connector)
        threading.Thread(target=self._server.serve_forever, name="ecm-service", daemon=True).start()
        self.progress(f"service: {self.service_url}")
        self.dispatch = DispatchLoop(self.connector)
        self.dispatch.start()
        self.checkpointer = checkpointer_from_settings(settings, self.connector.database, self.clock)
        return self

    def _start_github(self) -> dict[str, str]:
        """The GitHub API sandbox and a fresh GitHub App key for the connector (protection rules)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from sandbox.github.server import SandboxGitHub

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.github = SandboxGitHub(app_id=GITHUB_APP_ID, public_key=key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "ECM_GITHUB_API_URL": self.github.start(),
            "ECM_GITHUB_APP_ID": GITHUB_APP_ID,
            "ECM_GITHUB_APP_PRIVATE_KEY": pem,
        }

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.app(environ, start_response)  # the view has committed by now
        if self.dispatch is not None:
            self.dispatch.wake()
        return response

    def install(self, settings: Settings) -> None:
        """`ecm install` of the mapping against the sandbox, as an admin would run it."""
        assert self.connector is not None
        tool = self.connector.tools[self.tool]
        tool.adapter.install(
            load_mapping(self.mapping_path),
            tool.gateway,
            settings=settings,
            progress=lambda item: self.progress(f"  installed {item.action:9} {item.kind:18} {item.name}"),
            **self._install_options(),
        )

    def stop(self) -> None:
        if self.dispatch:
            self.dispatch.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.github is not None:
            self.github.stop()
        if self.connector is not None:
            if self.checkpointer is not None:  # no jobs process here: sign where the demo ends
                self.checkpointer.sign()
            self.connector.database.dispose()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def settle(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until the sandbox's deliveries are made and `condition()` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            self._wait_delivered(max(0.1, min(2.0, deadline - time.monotonic())))
            value = condition()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)


class JiraStack(LocalStack):
    tool = "jira"

    def __init__(self, data_dir: Path, *, flavor: str = "cloud", **options: Any) -> None:
        super().__init__(data_dir, **options)
        self.flavor = flavor

    def _start_sandbox(self) -> str:
        from sandbox.jira.server import SandboxJira

        self.sandbox = SandboxJira(self.flavor, **{"clock": self.clock, **self.sandbox_options})
        return self.sandbox.start()

    def _tool_environ(self, sandbox_url: str) -> dict[str, str]:
        cloud = self.flavor == "cloud"
        return {
            "ECM_JIRA_URL": sandbox_url,
            "ECM_JIRA_USER": f"{CONNECTOR_USER}@example.com" if cloud else CONNECTOR_USER,
            "ECM_JIRA_TOKEN": CONNECTOR_USER if cloud else f"pat-{CONNECTOR_USER}",
            "ECM_JIRA_FLAVOR": self.flavor,
            "ECM_JIRA_WEBHOOK_SECRET": self.secret,
        }

    def _install_options(self) -> dict[str, Any]:
        return {"out_dir": self.data_dir}

    def _wait_delivered(self, timeout: float) -> None:
        self.sandbox.deliver_pending(timeout=timeout)
