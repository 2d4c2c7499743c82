"""A real sandbox on a free port, the real pysnow client, and a small server that receives notifications."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pysnow
import pytest
from pydantic import SecretStr

from connector.config import Settings
from connector.mapping import load_mapping
from connector.servicenow.gateway import ServiceNowGateway
from connector.servicenow.installer import install as run_installer
from sandbox.servicenow import SandboxServiceNow


class Receiver:
    """Collects POSTs; answers `fail_next` of them with 500 first (to exercise retries)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                    if not failing:
                        receiver.received.append((dict(self.headers), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/servicenow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture
def sandbox() -> Iterator[SandboxServiceNow]:
    with SandboxServiceNow(emergency_approvers=("Engineering Leads", "Security Team")) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def client_as(sandbox):
    def make(user: str) -> pysnow.Client:
        return pysnow.Client(host=sandbox.host, user=user, password=user, use_ssl=False)

    return make


MAPPING = Path(__file__).parents[3] / "mappings" / "servicenow.yaml"


def install_rules(
    sandbox: SandboxServiceNow, url: str = "http://127.0.0.1:9/nowhere", secret: str = ""
) -> None:
    """What `ecm install` puts on the instance: the real installer, through the connector's gateway."""
    gateway = ServiceNowGateway(sandbox.base_url, user="ecm-bot", password="ecm-bot")
    settings = Settings(
        public_url=url.removesuffix("/webhooks/servicenow"),
        servicenow_webhook_secret=SecretStr(secret or "not-used-here"),
    )
    run_installer(load_mapping(MAPPING), gateway, settings=settings)


@pytest.fixture
def install(sandbox):
    """`install(url, secret)`: the installer's records, the notify rule pointed at `url`."""
    return lambda url="http://127.0.0.1:9/nowhere", secret="": install_rules(sandbox, url, secret)
