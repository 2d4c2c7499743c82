"""The real `jira` library against the sandbox: issues, transitions, comments, links, search, auth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jira
import pytest
import requests

from sandbox.jira import SandboxJira

pytestmark = pytest.mark.slow


def _task(client: jira.JIRA, summary: str = "Database failover") -> jira.Issue:
    return client.create_issue(
        project="EMG", summary=summary, issuetype={"name": "Task"}, description="Primary is down"
    )


def test_fresh_project_uses_the_default_to_do_in_progress_done_workflow(client_for):
    emma = client_for("eng.emma")
    issue = _task(emma)
    assert issue.fields.status.name == "To Do"
    assert {t["name"] for t in emma.transitions(issue)} == {"To Do", "In Progress", "Done"}
    emma.transition_issue(issue, "In Progress")
    assert emma.issue(issue.key).fields.status.name == "In Progress"


def test_issue_shows_reporter_description_comment_and_link(client_for):
    emma = client_for("eng.emma")
    change, postmortem = _task(emma), _task(emma, "Post-mortem")
    emma.add_comment(change, "/approve")
    emma.create_issue_link("Relates", change.key, postmortem.key)
    fetched = emma.issue(change.key)
    assert fetched.fields.reporter.displayName == "Emma Engineer"
    assert fetched.fields.description == "Primary is down"
    assert [c.body for c in emma.comments(change)] == ["/approve"]
    assert fetched.fields.issuelinks[0].outwardIssue.key == postmortem.key


def test_v3_serves_description_and_comments_as_documents(cloud, client_for):
    emma = client_for("eng.emma")
    issue = _task(emma)
    emma.add_comment(issue, "first line")
    raw = emma._session.get(f"{cloud.url}/rest/api/3/issue/{issue.key}").json()
    assert raw["fields"]["description"]["type"] == "doc"
    assert raw["fields"]["comment"]["comments"][0]["body"]["content"][0]["content"][0]["text"] == "first line"


def test_edit_adds_labels_and_the_changelog_names_the_change(cloud, client_for):
    emma = client_for("eng.emma")
    issue = _task(emma)
    issue.update(
        update={"labels": [{"add": "sla-breach"}]},
        fields={"assignee": {"accountId": issue.fields.reporter.accountId}},
    )
    fetched = emma.issue(issue.key, expand="changelog")
    assert fetched.fields.labels == ["sla-breach"]
    items = {i.field: i for h in fetched.changelog.histories for i in h.items}
    assert items["labels"].toString == "sla-breach"
    assert items["assignee"].toString == "Emma Engineer"


def test_enhanced_search_pages_with_next_page_token(client_for):
    emma = client_for("eng.emma")
    keys = [_task(emma, f"change {n}").key for n in range(5)]
    first = emma.enhanced_search_issues("project = EMG ORDER BY key ASC", maxResults=2)
    assert [i.key for i in first] == keys[:2] and first.nextPageToken
    second = emma.enhanced_search_issues(
        "project = EMG ORDER BY key ASC", maxResults=2, nextPageToken=first.nextPageToken
    )
    assert [i.key for i in second] == keys[2:4]
    everything = emma.search_issues("project = EMG ORDER BY key DESC", maxResults=0)
    assert [i.key for i in everything] == keys[::-1]


def test_connector_query_selects_by_type_and_updated_time(openapi_spec):
    now = [datetime(2026, 11, 28, 9, 0, tzinfo=UTC)]
    with SandboxJira("cloud", clock=lambda: now[0], validate_openapi=True) as sandbox:
        client = jira.JIRA(
            sandbox.url, basic_auth=("eng.emma", "eng.emma"), get_server_info=True, max_retries=0
        )
        early = _task(client, "early")
        now[0] += timedelta(hours=2)
        late = _task(client, "late")
        client.add_comment(early, "touch")  # updated moves to 11:00
        jql = (
            'project = EMG AND issuetype in ("Task", "Post-Mortem") AND updated >= "2026-11-28 10:00" '
            "ORDER BY updated ASC"
        )
        found = client.enhanced_search_issues(jql, fields=["summary", "updated"])
        assert [i.key for i in found] == [late.key, early.key] or [i.key for i in found] == [
            early.key,
            late.key,
        ]
        assert {
            i.key for i in client.enhanced_search_issues('project = EMG AND updated < "2026-11-28 10:00"')
        } == set()
        assert sandbox.openapi_errors == []


def test_old_search_endpoint_is_gone_on_cloud(cloud):
    response = requests.get(
        f"{cloud.url}/rest/api/3/search", params={"jql": "project = EMG"}, auth=("admin", "admin"), timeout=5
    )
    assert response.status_code == 410
    assert "search/jql" in response.json()["errorMessages"][0]


def test_missing_issue_answers_jira_not_found_message(client_for):
    with pytest.raises(jira.JIRAError) as raised:
        client_for("eng.emma").issue("EMG-999")
    assert raised.value.status_code == 404
    assert "Issue does not exist or you do not have permission to see it." in raised.value.text


def test_wrong_password_is_refused_in_jira_error_shape(cloud):
    response = requests.get(f"{cloud.url}/rest/api/3/myself", auth=("eng.emma", "nope"), timeout=5)
    assert response.status_code == 401
    assert response.json() == {
        "errorMessages": ["Client must be authenticated to access this resource."],
        "errors": {},
    }


def test_cloud_user_logs_in_with_email_and_has_an_account_id(cloud):
    me = requests.get(
        f"{cloud.url}/rest/api/3/myself", auth=("sec.sara@example.com", "sec.sara"), timeout=5
    ).json()
    assert len(me["accountId"]) == 24 and "name" not in me


def test_datacenter_accepts_personal_access_tokens_and_names_users_by_key(datacenter):
    headers = {"Authorization": "Bearer pat-lead.liam"}
    me = requests.get(f"{datacenter.url}/rest/api/2/myself", headers=headers, timeout=5).json()
    assert me["name"] == "lead.liam" and me["key"].startswith("JIRAUSER") and "accountId" not in me
    found = requests.get(
        f"{datacenter.url}/rest/api/2/user", params={"username": "sec.sara"}, headers=headers, timeout=5
    ).json()
    assert found["displayName"] == "Sara Security"


def test_group_members_are_listed(cloud):
    page = requests.get(
        f"{cloud.url}/rest/api/3/group/member",
        params={"groupname": "engineering-leads"},
        auth=("admin", "admin"),
        timeout=5,
    ).json()
    assert sorted(u["displayName"] for u in page["values"]) == ["Dana Dual", "Liam Lead"]


def test_a_summary_of_255_characters_or_more_is_refused_as_jira_refuses_it(client_for):
    client = client_for("eng.emma")

    with pytest.raises(jira.JIRAError) as refused:
        _task(client, "x" * 255)

    assert refused.value.status_code == 400
    assert "Summary must be less than 255 characters." in refused.value.text
    assert _task(client, "x" * 254).fields.summary == "x" * 254
