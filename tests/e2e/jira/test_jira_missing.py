"""A person who wonders why Deploy is not offered reads it on the issue: one comment of the connector's
names the next step and what it still needs, edited in place as the facts change (no comment per fact),
and nobody else can edit it. Through the real `jira` library, against the strict Jira Cloud sandbox."""

from __future__ import annotations

import jira
import pytest

from connector.procedure.model import Stage
from connector.services.missing import HEADING
from tests.e2e.jira.people import client

pytestmark = pytest.mark.slow


def shown(story, key: str) -> list:
    return [c for c in client(story, "eng.emma").comments(key) if HEADING in c.body]


def shows(story, key: str, *words: str, absent: str = "") -> bool:
    def current() -> bool:
        found = shown(story, key)
        return (
            len(found) == 1
            and all(w in found[0].body for w in words)
            and not (absent and absent in found[0].body)
        )

    return bool(story.stack.settle(current, timeout=30))


def test_the_issue_shows_what_deploy_still_needs_in_one_comment_kept_current(story):
    key = story.approved_change("Missing", engineer="eng.emma")
    story.move("eng.emma", key, story.section.statuses.in_review)
    assert story.wait_stage(key, Stage.IN_REVIEW)
    assert shows(story, key, "Deploy (step 4) still needs:", "- peer review", "- security review")
    (first,) = shown(story, key)

    story.comment("peer.pete", key, "/peer-reviewed")
    assert shows(story, key, "- security review", absent="- peer review")
    story.comment("sec.sara", key, "/security-reviewed")
    assert shows(story, key, "Deploy (step 4): nothing is missing; available.")
    (last,) = shown(story, key)
    assert last.id == first.id  # the same comment, edited in place


def test_nobody_but_the_connector_edits_that_comment(story):
    key = story.approved_change("Missing edit", engineer="eng.emma")
    assert shows(story, key, "Deploy (step 4) still needs:")
    (comment,) = shown(story, key)
    with pytest.raises(jira.JIRAError) as refused:
        client(story, "eng.emma").comment(key, comment.id).update(body="Deploy: nothing is missing")
    assert refused.value.status_code == 400
    assert "Deploy (step 4) still needs:" in shown(story, key)[0].body
