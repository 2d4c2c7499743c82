"""`revert` against a fake gateway: it moves the issue back with its comment, or, when there is nothing
to move back, posts nothing (a comment would tell of a move back that did not happen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.jira.actions import JiraActions
from connector.jira.gateway import JiraIssue, Transition
from connector.mapping import load_mapping
from connector.outbox import Revert, Target

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
REVERT = Revert(
    "In Review", "Reviewed", "Eng Emma moved EMG-1 to reviewed ... The connector moved it back to In Review."
)
CHANGE = Target("EMG-1", "10001")


class FakeJira:
    def __init__(self, status: str) -> None:
        self.status, self.comments_added, self.moves = status, [], []

    def comments(self, key: str) -> tuple:
        return ()

    def get_issue(self, key: str, fields: Any = None) -> JiraIssue:
        return JiraIssue(key, "1", "Emergency Change", self.status, None, None, "", (), {})

    def transitions(self, key: str) -> tuple[Transition, ...]:
        return (Transition("91", "ECM revert to In Review", "In Review"),)

    def transition(self, key: str, transition_id: str, *, comment: str | None = None, **_: Any) -> None:
        self.moves.append((transition_id, comment))
        self.status = "In Review"

    def add_comment(self, key: str, body: str) -> str:
        self.comments_added.append(body)
        return "1"


def test_a_revert_moves_the_issue_back_with_its_comment_in_the_same_request():
    jira = FakeJira("Reviewed")
    result = JiraActions(jira, MAPPING.jira, {}).perform(REVERT, CHANGE, "idem")  # type: ignore[arg-type]
    assert result["reverted_to"] == "In Review"
    assert len(jira.moves) == 1 and "moved it back" in jira.moves[0][1]
    assert jira.comments_added == []


@pytest.mark.parametrize("status", ["Deployed", "In Review"])  # moved on meanwhile / moved back by someone
def test_a_revert_with_nothing_to_move_back_posts_nothing(status):
    jira = FakeJira(status)
    result = JiraActions(jira, MAPPING.jira, {}).perform(REVERT, CHANGE, "idem")  # type: ignore[arg-type]
    assert "skipped" in result
    assert jira.moves == [] and jira.comments_added == []
