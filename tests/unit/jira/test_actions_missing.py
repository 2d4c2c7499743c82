"""`show_missing` against a fake gateway: one comment, written once and then edited in place; a comment
deleted meanwhile is written afresh; a retry that finds it already current writes nothing."""

from __future__ import annotations

from pathlib import Path

from connector.errors import NotFound
from connector.jira.actions import JiraActions
from connector.jira.gateway import JiraComment
from connector.mapping import load_mapping
from connector.outbox import ShowMissing, Target

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
CHANGE = Target("EMG-1", "10001")


class FakeJira:
    def __init__(self) -> None:
        self.bodies: dict[str, str] = {}
        self.calls: list[str] = []

    def comments(self, key: str) -> tuple[JiraComment, ...]:
        self.calls.append("read")
        return tuple(JiraComment(i, "ecm-bot", b, "") for i, b in self.bodies.items())

    def add_comment(self, key: str, body: str) -> str:
        self.calls.append("add")
        comment_id = str(len(self.bodies) + 1)
        self.bodies[comment_id] = body
        return comment_id

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        self.calls.append("edit")
        if comment_id not in self.bodies:
            raise NotFound("update a comment of EMG-1: HTTP 404")
        self.bodies[comment_id] = body


def test_the_comment_is_written_once_then_edited_in_place_without_reading_again():
    jira = FakeJira()
    actions = JiraActions(jira, MAPPING.jira, {})  # type: ignore[arg-type]
    actions.perform(ShowMissing("Deploy (step 4) still needs:\n- peer review"), CHANGE, "a")
    actions.perform(ShowMissing("Deploy (step 4): nothing is missing; available."), CHANGE, "b")
    assert jira.calls == ["read", "add", "edit"]
    (body,) = jira.bodies.values()
    assert body.startswith("Deploy (step 4): nothing is missing")


def test_a_comment_deleted_meanwhile_is_written_afresh():
    jira = FakeJira()
    actions = JiraActions(jira, MAPPING.jira, {})  # type: ignore[arg-type]
    actions.perform(ShowMissing("Close (step 5) still needs:\n- pull request link"), CHANGE, "a")
    jira.bodies.clear()
    actions.perform(ShowMissing("Close (step 5): nothing is missing; available."), CHANGE, "b")
    assert jira.calls == ["read", "add", "edit", "read", "add"]
    assert len(jira.bodies) == 1


def test_another_process_finding_the_comment_current_writes_nothing():
    jira = FakeJira()
    JiraActions(jira, MAPPING.jira, {}).perform(ShowMissing("Approval still needs: x"), CHANGE, "a")  # type: ignore[arg-type]
    jira.calls.clear()
    JiraActions(jira, MAPPING.jira, {}).perform(ShowMissing("Approval still needs: x"), CHANGE, "a")  # type: ignore[arg-type]
    assert jira.calls == ["read"]
