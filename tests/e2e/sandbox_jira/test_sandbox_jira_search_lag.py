"""search/jql is eventually consistent in Jira Cloud: a change shows in search results only after the
index caught up, unless the issue's id is named in `reconcileIssues` (at most 50)."""

from __future__ import annotations

import time

import requests

from sandbox.jira import SandboxJira

LAG = 2.0  # seconds: far more than a request takes on a loaded machine, so "not yet" holds


def _search(sandbox: SandboxJira, jql: str, **params) -> requests.Response:
    return requests.get(
        f"{sandbox.url}/rest/api/3/search/jql",
        params={"jql": jql, "fields": "summary,labels", **params},
        auth=("ecm-bot", "ecm-bot"),
        timeout=5,
    )


def _keys(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [issue["key"] for issue in response.json()["issues"]]


def test_a_new_issue_shows_in_search_only_after_the_index_caught_up():
    with SandboxJira("cloud", validate_openapi=True, search_lag=LAG) as sandbox:
        client = requests.Session()
        client.auth = ("eng.emma", "eng.emma")
        created = client.post(
            f"{sandbox.url}/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "EMG"},
                    "issuetype": {"name": "Task"},
                    "summary": "S",
                    "labels": ["pm"],
                }
            },
            timeout=5,
        ).json()
        assert _keys(_search(sandbox, "labels = pm")) == []
        assert _keys(_search(sandbox, "labels = pm", reconcileIssues=created["id"])) == [created["key"]]
        client.put(
            f"{sandbox.url}/rest/api/2/issue/{created['key']}",
            json={"update": {"labels": [{"add": "later"}]}},
            timeout=5,
        )
        time.sleep(LAG + 0.1)  # the creation is indexed by now, the edit only LAG after it was made
        assert _keys(_search(sandbox, "labels = pm")) == [created["key"]]
        assert sandbox.openapi_errors == []


def test_an_edit_shows_in_search_after_the_index_caught_up_and_reads_as_before_until_then():
    with SandboxJira("cloud", search_lag=LAG) as sandbox:
        client = requests.Session()
        client.auth = ("eng.emma", "eng.emma")
        key = client.post(
            f"{sandbox.url}/rest/api/2/issue",
            json={"fields": {"project": {"key": "EMG"}, "issuetype": {"name": "Task"}, "summary": "S"}},
            timeout=5,
        ).json()["key"]
        time.sleep(LAG + 0.1)
        client.put(f"{sandbox.url}/rest/api/2/issue/{key}", json={"fields": {"labels": ["pm"]}}, timeout=5)
        assert _keys(_search(sandbox, "labels = pm")) == []
        [stale] = _search(sandbox, f"key = {key}").json()["issues"]
        assert stale["fields"]["labels"] == []
        time.sleep(LAG + 0.1)
        assert _keys(_search(sandbox, "labels = pm")) == [key]


def test_reconcile_issues_takes_at_most_fifty_ids(cloud):
    too_many = [str(10000 + n) for n in range(51)]
    refused = _search(cloud, "project = EMG", reconcileIssues=too_many)
    assert refused.status_code == 400 and "50" in refused.json()["errorMessages"][0]
