"""The ServiceNow sandbox's injected faults, met through real pysnow inside the dispatcher's per-call
retries: a 429 (ServiceNow's rate limit answer) is waited out and the insert made once; a 503 on an
insert is not sent again on its own, and the change is not created twice when its action is."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import Unavailable
from connector.mapping import load_mapping
from connector.outbox import OpenBypass, Target
from connector.retries import each_call_retried
from connector.servicenow.actions import ServiceNowActions
from connector.servicenow.gateway import ServiceNowGateway
from connector.store.outbox import deploy_of
from sandbox.servicenow import SandboxServiceNow

pytestmark = pytest.mark.slow

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "servicenow.yaml")
DEPLOY = deploy_of(
    {
        "source": "deploy-hook",
        "deploy_id": "billing@7.2.0",
        "environment": "production",
        "deployed_at": "2026-12-02T15:00:00+00:00",
        "repository": "billing",
    }
)


@pytest.fixture
def sandbox():
    instance = SandboxServiceNow(job_interval=None)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def actions(sandbox) -> ServiceNowActions:
    gateway = ServiceNowGateway(sandbox.base_url, user="ecm-bot", password="ecm-bot", timeout=(1.5, 5))
    return ServiceNowActions(gateway, MAPPING.servicenow, bypass=MAPPING.deploys.bypass)


def open_bypass(actions: ServiceNowActions) -> dict:
    action = OpenBypass(
        "Bypass: production deploy", "Deployed without a change.", DEPLOY, category="Service outage"
    )
    return actions.perform(action, Target(None), "bypass:deploy-hook:billing@7.2.0")


def test_an_insert_rate_limited_by_servicenow_is_made_once_after_retry_after(sandbox, actions):
    pattern = "POST /api/now/table/change_request"
    sandbox.faults.configure(
        {"scripted": [{"pattern": pattern, "count": 1, "status": 429, "retry_after": 1}]}
    )
    slept: list[float] = []

    with each_call_retried(slept.append):
        done = open_bypass(actions)

    [record] = sandbox.records("change_request", correlation_id="ecm-deploy:billing@7.2.0")
    assert record["number"] == done["change"] and record["category"] == "Service outage"
    assert len([s for s in slept if s >= 1.0]) == 1


def test_an_insert_answered_503_is_left_to_its_action_which_looks_before_it_writes(sandbox, actions):
    pattern = "POST /api/now/table/change_request"
    sandbox.faults.configure({"scripted": [{"pattern": pattern, "count": 1, "status": 503}]})

    with each_call_retried(lambda _s: None), pytest.raises(Unavailable) as caught:
        open_bypass(actions)
    assert not caught.value.retried_alone and sandbox.records("change_request") == []

    with each_call_retried(lambda _s: None):
        first, again = open_bypass(actions), open_bypass(actions)  # the dispatcher's next attempt, a retry
    assert again["skipped"] == "bypass change exists" and again["change"] == first["change"]
    assert len(sandbox.records("change_request")) == 1
