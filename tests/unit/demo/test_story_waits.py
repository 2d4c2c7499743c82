"""The demo story's people wait for the connector: a change whose first webhook has not been processed
yet is not known to the connector, and a wait for its approvals goes on waiting instead of failing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from connector.demo.story import JiraStory
from connector.jira.gateway import Transition
from connector.mapping import load_mapping
from connector.procedure.model import Stage

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")


class Person:
    def create_issue(self, *_args: Any, **_kwargs: Any) -> str:
        return "EMG-1"

    def transitions(self, key: str) -> tuple[Transition, ...]:
        statuses = MAPPING.jira.statuses
        return tuple(
            Transition(str(n), s, s) for n, s in enumerate((statuses.awaiting_approval, statuses.approved))
        )

    def transition(self, key: str, transition_id: str) -> None:
        return None

    def add_comment(self, key: str, body: str) -> str:
        return "1"


def settle(condition, timeout: float = 10.0):
    """As the stack's: asked again until it holds (here without waiting)."""
    for _ in range(20):
        if value := condition():
            return value
    return condition()


class SlowConnector(JiraStory):
    """A connector that learns of the change on its third look (its webhooks were queued meanwhile)."""

    looks = 0

    def person(self, name: str) -> Person:
        return Person()

    def facts(self, key: str) -> Any:
        self.looks += 1
        if self.looks < 3:
            return None
        return SimpleNamespace(approvals=("lead", "security"), stage=Stage.APPROVED)


def test_approvals_are_waited_for_while_the_connector_does_not_know_the_change_yet():
    tool = SimpleNamespace(
        ctx=None, mapping=MAPPING, actions=SimpleNamespace(field_ids={"category": "c", "impact": "i"})
    )
    stack = SimpleNamespace(
        sandbox=SimpleNamespace(url="http://jira.invalid"),
        flavor="cloud",
        connector=SimpleNamespace(tools={"jira": tool}),
        settle=settle,
    )
    story = SlowConnector(stack, say=lambda _line: None)
    assert story.approved_change() == "EMG-1"
