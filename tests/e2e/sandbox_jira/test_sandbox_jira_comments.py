"""Comments page as in Jira: `issue/{key}/comment` answers at most 100 per page on Cloud (50 by default on
Data Center), and an issue embeds only its latest 100 comments on Cloud, `total` still counting all."""

from __future__ import annotations

import requests

from sandbox.jira import issues as ops

BUSY = 120


def busy_issue(sandbox) -> str:
    with sandbox.state.lock:
        emma = sandbox.state.users["eng.emma"]
        issue = ops.create_issue(
            sandbox.state,
            emma,
            {"fields": {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "Busy"}},
        )
        for n in range(BUSY):
            ops.add_comment(sandbox.state, emma, issue, f"comment {n}")
        return issue.key


def _get(sandbox, path: str, **params) -> dict:
    response = requests.get(f"{sandbox.url}{path}", params=params, auth=("ecm-bot", "ecm-bot"), timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_cloud_answers_at_most_a_hundred_comments_per_page(cloud):
    key = busy_issue(cloud)
    first = _get(cloud, f"/rest/api/2/issue/{key}/comment")
    asked_more = _get(cloud, f"/rest/api/3/issue/{key}/comment", maxResults=500)
    rest = _get(cloud, f"/rest/api/2/issue/{key}/comment", startAt=100)
    assert (first["total"], len(first["comments"]), first["maxResults"]) == (BUSY, 100, 100)
    assert len(asked_more["comments"]) == 100
    assert [c["body"] for c in rest["comments"]] == [f"comment {n}" for n in range(100, BUSY)]


def test_comments_can_be_read_newest_first(cloud):
    key = busy_issue(cloud)
    page = _get(cloud, f"/rest/api/2/issue/{key}/comment", orderBy="-created", maxResults=2)
    assert [c["body"] for c in page["comments"]] == [f"comment {BUSY - 1}", f"comment {BUSY - 2}"]


def test_datacenter_answers_fifty_comments_unless_asked_for_more(datacenter):
    key = busy_issue(datacenter)
    assert len(_get(datacenter, f"/rest/api/2/issue/{key}/comment")["comments"]) == 50
    assert len(_get(datacenter, f"/rest/api/2/issue/{key}/comment", maxResults=500)["comments"]) == BUSY


def test_a_cloud_issue_embeds_its_latest_hundred_comments_and_counts_all(cloud):
    key = busy_issue(cloud)
    embedded = _get(cloud, f"/rest/api/2/issue/{key}", fields="comment")["fields"]["comment"]
    assert (embedded["total"], embedded["startAt"], len(embedded["comments"])) == (BUSY, BUSY - 100, 100)
    assert embedded["comments"][0]["body"] == f"comment {BUSY - 100}"
    [found] = _get(cloud, "/rest/api/3/search/jql", jql=f"key = {key}", fields="comment")["issues"]
    assert found["fields"]["comment"]["total"] == BUSY and len(found["fields"]["comment"]["comments"]) == 100
