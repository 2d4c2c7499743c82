"""`create_postmortem` against a fake gateway: the post-mortem is created already linked from the change,
and a retry recognises it by the link's direction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from connector.jira.actions import JiraActions, postmortem_label
from connector.jira.gateway import JiraIssue, JiraLink, SearchPage
from connector.mapping import load_mapping
from connector.outbox import CreatePostMortem, Target

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
CHANGE = Target("EMG-1", "10001")
TASK = CreatePostMortem(
    "Post-mortem of EMG-1", "What happened", datetime.fromisoformat("2026-12-04T23:59:59-05:00")
)


class FakeJira:
    """Issues and their links as Jira shows them; search sees nothing yet (it is eventually consistent)."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str, str]] = []  # (type, from, to): "from <outward> to"
        self.created: list[dict[str, Any]] = []

    def get_issue(self, key: str, fields: Any = None) -> JiraIssue:
        links = [JiraLink(t, "outward", to) for t, src, to in self.links if src == key]
        links += [JiraLink(t, "inward", src) for t, src, to in self.links if to == key]
        return JiraIssue(key, "1", "Emergency Change", "Deployed", None, None, "", (), {}, tuple(links))

    def search(self, jql: str, **_kwargs: Any) -> SearchPage:
        return SearchPage((), None)

    def create_issue(
        self, project: str, issue_type: str, summary: str, description: str = "", **kw: Any
    ) -> str:
        key = f"EMG-{10 + len(self.created)}"
        self.created.append({"key": key, "type": issue_type, "summary": summary, **kw})
        if kw.get("linked_from"):
            link_type, from_key = kw["linked_from"]
            self.links.append((link_type, from_key, key))
        return key

    def create_link(self, link_type: str, from_key: str, to_key: str) -> None:
        self.links.append((link_type, from_key, to_key))

    def user_ref(self, user: str) -> dict[str, str]:
        return {"accountId": user}


def actions(jira: FakeJira) -> JiraActions:
    return JiraActions(jira, MAPPING.jira, {})  # type: ignore[arg-type]


def test_the_postmortem_is_created_linked_as_postmortem_of_the_change():
    jira = FakeJira()
    result = actions(jira).create_postmortem(TASK, CHANGE, "idem-1")
    assert jira.links == [("Post-Mortem", "EMG-1", result["postmortem"])]  # EMG-1 has post-mortem EMG-10
    assert jira.created[0]["fields"]["labels"] == [postmortem_label("EMG-1")]


def test_a_retry_finds_the_linked_postmortem_though_search_does_not_show_it_yet():
    jira = FakeJira()
    first = actions(jira).create_postmortem(TASK, CHANGE, "idem-1")
    again = actions(jira).create_postmortem(TASK, CHANGE, "idem-1")
    assert again == {"postmortem": first["postmortem"], "skipped": "linked post-mortem exists"}
    assert len(jira.created) == 1


def test_a_change_that_is_itself_the_postmortem_of_another_issue_still_gets_its_own():
    jira = FakeJira()
    jira.links.append(("Post-Mortem", "EMG-0", "EMG-1"))  # EMG-1 is post-mortem of EMG-0
    result = actions(jira).create_postmortem(TASK, CHANGE, "idem-1")
    assert result["postmortem"] == "EMG-10" and "skipped" not in result


def test_a_long_title_is_cut_to_the_summary_jira_takes():
    long = CreatePostMortem("Post-mortem of EMG-1: " + "x" * 300, "What happened", TASK.due_at)
    jira = FakeJira()

    actions(jira).create_postmortem(long, CHANGE, "idem-1")

    assert len(jira.created[0]["summary"]) == 254  # Jira refuses 255 characters or more
