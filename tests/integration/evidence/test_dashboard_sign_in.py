"""Sign-in limits: wrong tokens from one client are limited (429 with Retry-After) across every web worker
sharing the database; the session cookie is Secure when the service's public URL is https."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from connector.config import Settings
from connector.web.app import create_app

from .evidence_lifecycle import ADMIN_TOKEN, NOW
from .test_dashboard import log_in


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def worker(database, clock, **settings):
    """One web worker: its own app over the shared database."""
    values = {"admin_token": ADMIN_TOKEN, "jira_webhook_secret": "s", **settings}
    connector = SimpleNamespace(
        settings=Settings(**values), database=database, tools={}, clock=clock, receive=None
    )
    return create_app(connector, config={"TESTING": True}).test_client()


def test_the_sixth_wrong_token_within_15_minutes_is_429_with_retry_after(database):
    clock = Clock()
    client = worker(database, clock)
    assert [log_in(client, token=f"guess-{n}").status_code for n in range(5)] == [401] * 5
    clock.now += timedelta(minutes=1)
    refused = log_in(client, token=ADMIN_TOKEN)  # even the right token waits: no guessing on
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 14 * 60 + 1
    assert b"Too many wrong tokens from here: try again in 14 minutes." in refused.data


def test_the_limit_holds_across_workers_sharing_the_database(database):
    clock = Clock()
    first, second = worker(database, clock), worker(database, clock)
    for n in range(5):
        log_in(first if n % 2 else second, token=f"guess-{n}")
    assert log_in(second, token="guess-5").status_code == 429
    assert log_in(first, token="guess-6").status_code == 429


def test_after_the_window_the_client_may_try_again_and_a_success_clears_its_failures(database):
    clock = Clock()
    client = worker(database, clock)
    for n in range(5):
        log_in(client, token=f"guess-{n}")
    clock.now += timedelta(minutes=15, seconds=1)
    assert log_in(client, token=ADMIN_TOKEN).status_code == 302
    assert [log_in(client, token=f"again-{n}").status_code for n in range(5)] == [401] * 5


def test_the_session_cookie_is_secure_when_the_public_url_is_https(database):
    client = worker(database, Clock(), public_url="https://ecm.example.com")
    response = log_in(client)  # the request itself came over http: a proxy terminated TLS
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]
    plain = worker(database, Clock(), public_url="http://127.0.0.1:8080")
    assert "Secure" not in log_in(plain).headers["Set-Cookie"]
