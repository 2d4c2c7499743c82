"""Record what reaches a sandbox Jira, as raw as it arrived: a WSGI middleware in front of the app.

The middleware sits outside Flask, so it sees a request before the sandbox's own routing, fault
injection or checks, and it records requests that were answered with an injected fault as well. Who
sent a request is read from it: the account from the `Authorization` header, and whether the
connector's gateway built it from its `User-Agent` (`connector.jira.gateway.USER_AGENT`), which tells
the connector's code apart from the tests' own `jira`/`requests` clients whatever the account.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from connector.jira.gateway import USER_AGENT

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Exchange:
    """One request as the sandbox received it, and the status it was answered with."""

    flavor: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    content_type: str
    body: bytes
    account: str
    user_agent: str
    status: int
    test: str = ""

    @property
    def by_connector(self) -> bool:
        return self.user_agent.startswith(USER_AGENT.split("/")[0] + "/")

    def describe(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else ""
        client = "connector gateway" if self.by_connector else "other client"
        who = f"{client} as {self.account or 'anonymous'}"
        return f"{self.method} {self.path}{query} ({self.flavor}, {who}, answered {self.status})"


def account_of(authorization: str) -> str:
    """The account named by a Basic (user or e-mail) or Bearer (token) credential, never the secret."""
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(credential).decode("utf-8", "replace").partition(":")[0]
        except ValueError:
            return "<malformed basic credential>"
    if scheme.lower() == "bearer":
        return "<bearer token>"
    return ""


class RequestLog:
    """Exchanges in the order they were answered; safe to append to from the sandbox's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self.test = ""  # the test running now, stamped on what is recorded

    def append(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def since(self, start: int) -> list[Exchange]:
        with self._lock:
            return self._exchanges[start:]

    def __len__(self) -> int:
        with self._lock:
            return len(self._exchanges)


class Recorder:
    """WSGI middleware that appends an `Exchange` to `log` for each request to `app`."""

    def __init__(self, app: WSGIApp, log: RequestLog, flavor: str) -> None:
        self.app, self.log, self.flavor = app, log, flavor

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        statuses: list[int] = []

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            self.log.append(
                Exchange(
                    flavor=self.flavor,
                    method=environ["REQUEST_METHOD"].upper(),
                    path=environ.get("PATH_INFO", ""),
                    query=tuple(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
                    content_type=environ.get("CONTENT_TYPE", ""),
                    body=body,
                    account=account_of(environ.get("HTTP_AUTHORIZATION", "")),
                    user_agent=environ.get("HTTP_USER_AGENT", ""),
                    status=statuses[0] if statuses else 500,
                    test=self.log.test,
                )
            )


def _read_body(environ: dict) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return stream.read(int(length))
    return stream.read() if environ.get("wsgi.input_terminated") else b""


@contextmanager
def recording(log: RequestLog) -> Iterator[RequestLog]:
    """Every `SandboxJira` created inside the block records into `log`."""
    import pytest

    from sandbox.jira import server

    original = server.create_app

    def recorded_app(flavor: str = "cloud", **options: Any) -> Any:
        app = original(flavor, **options)
        app.wsgi_app = Recorder(app.wsgi_app, log, flavor)  # type: ignore[method-assign]
        return app

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server, "create_app", recorded_app)
        yield log
