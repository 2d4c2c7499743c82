"""A webhook is answered from what the connector knows: a person's display name is never asked of Jira
inside the webhook request (a 429 there would hold or fail the answer). The name is asked by a thread
of its own and filled into the connector's texts when the outbox performs them, where Jira's 429 is
waited out like any other."""

from __future__ import annotations

import pytest

from connector.demo.stack import JiraStack
from connector.procedure.model import Stage
from sandbox.jira.faults import FaultRule

from .conftest import CONNECTOR, outbox_statuses, people, raised_awaiting_approval

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, database_url):
    with JiraStack(tmp_path, database_url=database_url) as running:
        yield running


def test_the_raised_alert_names_the_engineer_once_jira_tells_the_name_and_no_webhook_waited_for_it(stack):
    story = people(stack)
    lookups = FaultRule(path="/rest/api/*/user", method="GET", kind="status", status=429, retry_after=1)
    stack.sandbox.faults.add(lookups)  # Jira rate-limits every read of a person, for now
    key = raised_awaiting_approval(story)
    assert story.wait_stage(key, Stage.AWAITING_APPROVAL)
    assert not _raised_mails(stack, key)  # the alert waits for the name, Jira says 429 meanwhile

    stack.sandbox.faults.clear()

    assert stack.settle(lambda: outbox_statuses(stack.connector.database).get("pending", 0) == 0, 45)
    [mail] = _raised_mails(stack, key)
    assert mail["textBody"].startswith("Emma Engineer raised emergency change"), mail["textBody"]
    with stack.sandbox.state.lock:
        attempts = [a for d in stack.sandbox.state.deliveries for a in d["attempts"]]
    assert attempts and all(a["status"] == 200 for a in attempts), attempts


def _raised_mails(stack, key: str) -> list[dict]:
    with stack.sandbox.state.lock:
        return [
            m
            for m in stack.sandbox.state.mails
            if m["issue"] == key and m["sender"] == CONNECTOR and "raised" in m["subject"]
        ]
