"""Run the sandbox: `run(port)` in the foreground, or `SandboxServiceNow` on a free port in a thread."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.servicenow.app import create_app
from sandbox.servicenow.engine import Instance
from sandbox.servicenow.faults import Faults
from sandbox.servicenow.notify import Notifier
from sandbox.servicenow.store import Clock, Record

HOST = "127.0.0.1"
JOB_INTERVAL = 0.5  # seconds between runs of the scheduled jobs (a real instance: each job's run period)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests start many requests; the access log would drown their output."""


def run(port: int = 8082) -> None:
    app = create_app()
    app.extensions["servicenow"].start_scheduler(JOB_INTERVAL)
    server = make_server(HOST, port, app, threaded=True)
    print(f"servicenow sandbox: http://{HOST}:{server.server_port}", flush=True)
    server.serve_forever()


class SandboxServiceNow:
    """A sandbox instance for tests: start() → base URL; state, faults and helpers; stop()."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        faults: dict[str, Any] | None = None,
        job_interval: float | None = JOB_INTERVAL,
        emergency_approvers: tuple[str, ...] = (),
    ) -> None:
        """`emergency_approvers`: the groups the emergency change model asks to authorize (an admin's
        "Other group" choice); empty keeps the model's default, CAB member."""
        self.faults = Faults(faults)
        self.instance = Instance(clock, Notifier(self.faults), emergency_approvers=emergency_approvers)
        self.job_interval = job_interval
        self.app = create_app(faults=self.faults, instance=self.instance)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._server = make_server(HOST, 0, self.app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="servicenow-sandbox", daemon=True
        )
        self._thread.start()
        if self.job_interval:
            self.instance.start_scheduler(self.job_interval)
        return self.base_url

    def stop(self) -> None:
        self.instance.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServiceNow:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """`127.0.0.1:<port>`, what `pysnow.Client(host=..., use_ssl=False)` wants."""
        assert self._server is not None, "start() the sandbox first"
        return f"{HOST}:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    # --- state ---------------------------------------------------------------------------------
    def records(self, table: str, **match: str) -> list[Record]:
        return self.instance.store.find(table, **match)

    def record(self, table: str, sys_id: str) -> Record | None:
        return self.instance.store.get(table, sys_id)

    def user(self, user_name: str) -> Record:
        found = self.instance.user(user_name)
        assert found is not None, f"no seeded user {user_name}"
        return found

    def group(self, name: str) -> Record:
        return self.records("sys_user_group", name=name)[0]

    @property
    def emails(self) -> list[Record]:
        return self.records("sys_email")

    @property
    def events(self) -> list[Record]:
        return self.records("sysevent")

    @property
    def deliveries(self) -> list:
        return list(self.instance.notifier.deliveries)

    def delivered_notifications(self) -> list[dict]:
        return self.instance.notifier.delivered()

    def wait_for_notifications(self, timeout: float = 5.0) -> bool:
        """The background work done: async rules run, outbound requests sent."""
        return self.instance.wait_idle(timeout)

    def run_scheduled_jobs(self) -> int:
        return self.instance.run_scheduled_jobs()

    def queued_notifications(self, **match: str) -> list[Record]:
        """The rows of the connector's outbound queue (u_ecm_notification)."""
        return self.records("u_ecm_notification", **match)

    @property
    def request_counts(self) -> Counter[str]:
        return self.app.extensions["servicenow.counts"]

    # --- set-up as an admin would do it --------------------------------------------------------
    def set_property(self, name: str, value: str) -> None:
        admin = self.user("admin")
        found = self.records("sys_properties", name=name)
        if found:
            self.instance.update("sys_properties", found[0]["sys_id"], {"value": value}, admin)
        else:
            self.instance.insert("sys_properties", {"name": name, "value": value}, admin)
