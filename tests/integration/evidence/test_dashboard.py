"""The dashboard: login with the admin token, signed session, CSRF-safe logout, what a person sees."""

from __future__ import annotations

import re

from connector import commands as c
from connector.procedure.model import Method, Role, Stage

from .evidence_lifecycle import ADMIN_TOKEN, Driver, at


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def log_in(client, token=ADMIN_TOKEN):
    form = client.get("/dashboard/login")
    return client.post(
        "/dashboard/login", data={"csrf_token": csrf(form.data), "token": token, "next": "/dashboard"}
    )


def test_dashboard_sends_strangers_to_the_login_form(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]


def test_login_with_the_token_sets_an_httponly_lax_session_cookie(client):
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert ADMIN_TOKEN not in cookie
    assert client.get("/dashboard").status_code == 200


def test_session_cookie_is_secure_over_https(client):
    form = client.get("/dashboard/login", base_url="https://localhost")
    response = client.post(
        "/dashboard/login",
        base_url="https://localhost",
        data={"csrf_token": csrf(form.data), "token": ADMIN_TOKEN},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_wrong_token_is_refused_with_a_message(client):
    response = log_in(client, token="guess")
    assert response.status_code == 401 and b"not the admin token" in response.data
    assert client.get("/dashboard").status_code == 302


def test_login_and_logout_need_the_form_csrf_token(client):
    assert client.post("/dashboard/login", data={"token": ADMIN_TOKEN}).status_code == 400
    log_in(client)
    assert client.post("/dashboard/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/dashboard").status_code == 200
    page = client.get("/dashboard").data
    assert client.post("/dashboard/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_login_does_not_redirect_off_the_dashboard(client):
    form = client.get("/dashboard/login")
    response = client.post(
        "/dashboard/login",
        data={"csrf_token": csrf(form.data), "token": ADMIN_TOKEN, "next": "https://evil.example"},
    )
    assert response.headers["Location"].endswith("/dashboard")


def test_dashboard_shows_open_changes_overdue_postmortems_verbal_approvals_and_violations(
    client, database, drive
):
    drive.until_deployed()  # post-mortem due 5 Dec, the clock says 20 Dec
    waiting = Driver(database, key="EMG-2")
    waiting.register()
    waiting.move("eng.emma", Stage.AWAITING_APPROVAL, at(2))
    waiting(
        c.RecordApproval,
        "eng.emma",
        at(2, 12),
        role=Role.LEAD,
        method=Method.VERBAL,
        approver="lead.liam",
        channel="bridge call",
        evidence="comment:1",
    )
    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="en">' in page and "<script" not in page
    assert 'href="https://jira.example.com/browse/EMG-1"' in page
    assert 'href="/dashboard/changes/EMG-1/evidence"' in page
    postmortems = page[page.index('id="postmortems"') : page.index('id="verbal"')]
    assert 'class="overdue"' in postmortems and "overdue</span> by" in postmortems
    verbal = page[page.index('id="verbal"') : page.index('id="violations"')]
    assert "lead.liam" in verbal and "bridge call" in verbal and "overdue" in verbal
    assert 'href="/dashboard/changes/EMG-2/evidence"' in verbal
    violations = page[page.index('id="violations"') : page.index('id="figures"')]
    assert "R6" in violations and "reverted" in violations
    assert 'href="/dashboard/changes/EMG-1/evidence"' in violations
    assert page.count("<svg") == 4 and "<title id=" in page
    assert '<label for="token">' not in page


def test_evidence_page_behind_the_dashboard_login(client, drive):
    drive.whole_lifecycle()
    assert client.get("/dashboard/changes/EMG-1/evidence").status_code == 302
    log_in(client)
    page = client.get("/dashboard/changes/EMG-1/evidence")
    assert page.status_code == 200 and b"Evidence packet: emergency change EMG-1" in page.data
    assert client.get("/dashboard/changes/NOPE/evidence").status_code == 404
