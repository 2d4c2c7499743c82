"""A person signs in to the dashboard of a running service, sees the changes played in the Jira sandbox,
follows one to its evidence page (people by name, deadlines in the calendar's zone) and sees an overdue
post-mortem in red."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory

ADMIN_TOKEN = "browser-admin-token-0123456789"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = JiraStack(tmp_path_factory.mktemp("stack")).start()
    settings = stack.connector.settings
    stack.connector.settings = settings.model_copy(
        update={"admin_token": settings.admin_token.__class__(ADMIN_TOKEN)}
        if settings.admin_token
        else {"admin_token": _secret()}
    )
    story = JiraStory(stack, say=lambda _line: None)
    result = story.play()  # one change through the whole lifecycle, closed
    assert result.ok, [c for c in result.checks if not c.held]
    closed_key = result.key
    open_key = story.raise_change()  # a second one, deployed, its post-mortem not done
    story.approve(open_key)
    story.review_too_early(open_key)
    story.review_and_deploy(open_key)
    real_clock = stack.connector.clock
    stack.connector.clock = lambda: real_clock() + timedelta(days=10)  # ten days later: overdue
    stack.keys = (closed_key, open_key)
    yield stack
    stack.stop()


def _secret():
    from pydantic import SecretStr

    return SecretStr(ADMIN_TOKEN)


def wait_for_heading(browser, text):
    # The heading found may belong to the page being left: asked for its text once the next page has
    # replaced it, the browser calls it stale, and the wait asks again.
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: b.find_element(By.TAG_NAME, "h1").text == text
    )


def log_in(browser, stack):
    browser.get(f"{stack.service_url}/dashboard")
    assert "/dashboard/login" in browser.current_url
    label = browser.find_element(By.CSS_SELECTOR, "label[for=token]")
    assert label.text == "Admin token"
    browser.find_element(By.ID, "token").send_keys(ADMIN_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/dashboard"))
    wait_for_heading(browser, "Emergency changes")  # the address changes before the page has loaded


def test_person_signs_in_sees_the_changes_and_an_overdue_postmortem_in_red(browser, screenshot, stack):
    closed_key, open_key = stack.keys
    log_in(browser, stack)
    assert browser.current_url.endswith("/dashboard")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Emergency changes"
    ticket = browser.find_element(By.LINK_TEXT, open_key)
    assert ticket.get_attribute("href").startswith(stack.sandbox.url)
    row = browser.find_element(By.CSS_SELECTOR, "#postmortems + table tr.overdue")
    assert open_key in row.text and "overdue" in row.text
    badge = row.find_element(By.CSS_SELECTOR, ".status.overdue")
    assert badge.value_of_css_property("color") in ("rgba(164, 0, 15, 1)", "rgb(164, 0, 15)")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg[role=img] title")) == 4
    screenshot("dashboard")


def test_person_follows_a_change_to_its_evidence_page(browser, screenshot, stack):
    closed_key, _ = stack.keys
    log_in(browser, stack)
    _, open_key = stack.keys
    browser.find_element(By.CSS_SELECTOR, f"a[href$='/dashboard/changes/{open_key}/evidence']").click()
    wait_for_heading(browser, f"Evidence packet: emergency change {open_key}")
    # The closed change is no longer on the dashboard's working lists; its packet stays one address away.
    browser.get(f"{stack.service_url}/dashboard/changes/{closed_key}/evidence")
    wait_for_heading(browser, f"Evidence packet: emergency change {closed_key}")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "SOC 2 CC8.1" in body and "intact" in body
    rules = browser.find_elements(By.CSS_SELECTOR, "table tbody tr th[scope=row]")
    assert [r.text for r in rules[:10]] == [f"R{n}" for n in range(1, 11)]
    assert "post-mortem done" in body and "closed" in body
    # People by name with their account beside it, as the tool named them when the facts were recorded.
    engineer = browser.find_element(By.XPATH, "//dt[text()='Engineer']/following-sibling::dd[1]").text
    assert engineer.startswith("Emma Engineer") and engineer.endswith(")"), engineer
    approvers = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "h2 + table tbody th[scope=row]")]
    assert any(a.startswith("Liam Lead") for a in approvers) or "Liam Lead" in body
    # The post-mortem deadline in the organisation's calendar zone, UTC beside it.
    postmortem = browser.find_element(By.XPATH, "//dt[text()='Post-mortem']/following-sibling::dd[1]").text
    assert re.search(r"due \d{4}-\d\d-\d\d 23:59 EST \(\d{4}-\d\d-\d\d 04:59 UTC\)", postmortem), postmortem
    # R9 held: the early steps were caught, and are listed as its exceptions.
    r9 = browser.find_element(By.XPATH, "//tr[th[text()='R9']]").text
    assert "held" in r9 and "Exception:" in r9 and "violated" not in r9
    screenshot("evidence-packet")


def test_signing_out_ends_the_session(browser, stack):
    log_in(browser, stack)
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    browser.get(f"{stack.service_url}/dashboard")
    assert "/dashboard/login" in browser.current_url
