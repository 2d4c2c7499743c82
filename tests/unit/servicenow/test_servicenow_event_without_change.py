"""An alert about no change (a drift alert: outbox `event` with key None) is fired on the connector
account's own sys_user record; an alert about a change is still fired on the change."""

from __future__ import annotations

from pathlib import Path

from connector.mapping import load_mapping
from connector.outbox import RaiseEvent, Target
from connector.servicenow.actions import ServiceNowActions

MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "servicenow.yaml"


class FakeGateway:
    user = "ecm.connector"

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str, str]] = []

    def user_sys_id(self, user_name: str) -> str:
        return {"ecm.connector": "a" * 32}[user_name]

    def get_change(self, number: str, *, table: str):
        return type("Change", (), {"sys_id": "c" * 32})()

    def fire_event(
        self, name: str, instance: str, table: str, parm1: str = "", parm2: str = "", *, process_on=None
    ) -> str:
        self.events.append((name, instance, table, parm1, parm2))
        return "e" * 32


def actions() -> tuple[ServiceNowActions, FakeGateway]:
    gateway = FakeGateway()
    return ServiceNowActions(gateway, load_mapping(MAPPING).servicenow), gateway  # type: ignore[arg-type]


def test_a_drift_alert_without_a_change_is_fired_on_the_connector_accounts_user_record():
    performer, gateway = actions()
    event = RaiseEvent("ecm.drift", "business rule", "inactive | fix: ecm install")

    result = performer.perform(event, Target(None), "servicenow:drift:x")

    assert gateway.events == [
        ("ecm.drift", "a" * 32, "sys_user", "business rule", "inactive | fix: ecm install")
    ]
    assert result == {"event": "ecm.drift", "sysevent": "e" * 32, "table": "sys_user"}


def test_an_alert_about_a_change_is_still_fired_on_the_change():
    performer, gateway = actions()

    performer.perform(RaiseEvent("ecm.breach", "emma"), Target("CHG0030001"), "k")

    assert gateway.events == [("ecm.breach", "c" * 32, performer.section.table, "emma", "")]
