"""A whole emergency change on Jira Data Center: `ecm install` with mappings/jira-datacenter.yaml, the
written steps followed in the administration pages (statuses, Import from XML, workflow scheme, the
category's options in Edit options), then the
lifecycle through the real `jira` library with personal access tokens, unsigned Data Center webhooks
authenticated by the URL token, and one too-early step the connector reverts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.config import load_settings
from connector.demo.datacenter import DataCenterStack, DataCenterStory, edit_options_step
from connector.jira.doctor import doctor
from connector.store.tables import DeliveryRow
from connector.store.uow import UnitOfWork

pytestmark = pytest.mark.slow


@pytest.fixture(params=["9.12.0", "10.3.0"])
def stack(request, tmp_path, database_url):
    """Jira 9 (`/rest/webhooks/1.0/webhook`) and Jira 10 (`/rest/jira-webhook/1.0/webhooks`)."""
    options = {"version": request.param}
    with DataCenterStack(tmp_path, database_url=database_url, sandbox_options=options) as running:
        yield running


def test_install_follows_the_written_steps_statuses_first_then_the_xml(stack):
    first, second = stack.steps_seen
    assert "Statuses > Add status" in first and "Import > Import from XML" not in first
    assert "Import from XML" in second and "Add status" not in second
    with stack.sandbox.state.lock:
        (hook,) = stack.sandbox.state.webhooks.values()
        assert hook.url == f"{stack.service_url}/webhooks/jira?token={stack.secret}"
        assert hook.secret is None
        field, listed = edit_options_step(second)
        (category,) = [f for f in stack.sandbox.state.custom_fields.values() if f.name == field]
        assert [o["value"] for opts in category.options.values() for o in opts] == listed
    jira = stack.connector.tools["jira"]
    assert jira.mapping.deploys.bypass.category in listed  # bypass changes are opened with it
    checks = {c.name: c for c in doctor(jira.mapping, jira.gateway, settings=load_settings(stack.environ))}
    assert checks["field options"].ok, checks["field options"].render()


def test_full_lifecycle_on_data_center_holds_every_check(stack):
    result = DataCenterStory(stack, say=lambda _line: None).demo()
    failed = [f"{c.what}: {c.detail}" for c in result.checks if not c.held]
    assert failed == []
    assert len([c for c in result.checks if "(R10)" in c.what]) == 4  # reminders, breach, escalation
    assert result.postmortem_key and result.due.endswith("23:59:59-05:00")
    assert stack.dispatch.errors == []

    with stack.sandbox.state.lock:
        deliveries = list(stack.sandbox.state.deliveries)
    assert deliveries and {d["outcome"] for d in deliveries} == {"delivered"}
    assert {a["status"] for d in deliveries for a in d["attempts"]} == {200}  # none refused (401)
    items = [i for d in deliveries for i in (d["body"].get("changelog") or {}).get("items", [])]
    assert items and not any("fieldId" in i for i in items)  # as Data Center sends them
    created = [
        d["body"]["webhookEvent"] for d in deliveries if d["body"].get("issue", {}).get("key") == result.key
    ]
    assert created[0] == "jira:issue_created"
    with UnitOfWork(stack.connector.database) as uow:
        handled = uow.session.scalar(select(func.count()).select_from(DeliveryRow))
    assert handled >= len(deliveries)
