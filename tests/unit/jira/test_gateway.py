"""The Jira gateway against recorded HTTP answers: auth, no retries, errors in the connector's own types."""

from __future__ import annotations

import base64
import json

import pytest
import requests
import responses

from connector.errors import AuthFailed, ConfigError, NotFound, RateLimited, Rejected, Unavailable
from connector.jira.gateway import JiraGateway, JiraLink

URL = "https://example.atlassian.net"


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def cloud(http) -> JiraGateway:
    return JiraGateway(URL, flavor="cloud", user="bot@example.com", token="s3cret-token")


def issue_body(key: str = "EMG-1") -> dict:
    return {
        "id": "10001",
        "key": key,
        "fields": {
            "issuetype": {"name": "Emergency Change"},
            "status": {"name": "Awaiting Approval"},
            "reporter": {"accountId": "acc-emma", "displayName": "Emma"},
            "assignee": None,
            "summary": "DB down",
            "labels": ["ecm"],
            "customfield_10050": {"value": "Service outage", "id": "1"},
            "customfield_10051": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "All customers"}]}],
            },
            "customfield_10052": None,
            "issuelinks": [{"type": {"name": "Post-Mortem"}, "outwardIssue": {"key": "EMG-2"}}],
        },
    }


def test_construction_makes_no_request(http):
    JiraGateway(URL, flavor="cloud", user="bot@example.com", token="t")
    JiraGateway(URL, flavor="datacenter", token="t")
    assert len(http.calls) == 0


def test_cloud_sends_basic_auth_with_email_and_token(http, cloud):
    http.get(f"{URL}/rest/api/3/myself", json={"accountId": "acc-bot", "displayName": "Bot"})
    me = cloud.myself()
    expected = base64.b64encode(b"bot@example.com:s3cret-token").decode()
    assert http.calls[0].request.headers["Authorization"] == f"Basic {expected}"
    assert me.id == "acc-bot"


def test_datacenter_sends_the_personal_access_token_as_bearer(http):
    gateway = JiraGateway(URL, flavor="datacenter", token="pat-123")
    http.get(f"{URL}/rest/api/2/myself", json={"name": "ecm-bot", "displayName": "Bot", "key": "JIRAUSER1"})
    assert gateway.myself().id == "ecm-bot"
    assert http.calls[0].request.headers["Authorization"] == "Bearer pat-123"


def test_rate_limit_becomes_rate_limited_with_retry_after_and_is_not_retried(http, cloud):
    http.post(
        f"{URL}/rest/api/2/issue/EMG-1/comment",
        status=429,
        headers={"Retry-After": "17"},
        json={"errorMessages": ["Rate limit exceeded"]},
    )
    with pytest.raises(RateLimited) as caught:
        cloud.add_comment("EMG-1", "hello")
    assert caught.value.retry_after == 17.0
    assert caught.value.retryable
    assert len(http.calls) == 1


def test_server_error_becomes_unavailable(http, cloud):
    http.get(f"{URL}/rest/api/2/issue/EMG-1", status=503, body="Service Unavailable")
    with pytest.raises(Unavailable) as caught:
        cloud.get_issue("EMG-1")
    assert caught.value.status == 503
    assert len(http.calls) == 1


def test_timeout_becomes_unavailable(http, cloud):
    http.get(f"{URL}/rest/api/2/issue/EMG-1", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable, match="did not answer"):
        cloud.get_issue("EMG-1")


def test_connection_refused_becomes_unavailable(http, cloud):
    http.get(f"{URL}/rest/api/3/myself", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(Unavailable):
        cloud.myself()


def test_missing_issue_becomes_not_found(http, cloud):
    http.get(
        f"{URL}/rest/api/2/issue/EMG-9",
        status=404,
        json={"errorMessages": ["Issue does not exist or you do not have permission to see it."]},
    )
    with pytest.raises(NotFound, match="does not exist"):
        cloud.get_issue("EMG-9")


def test_bad_credentials_become_auth_failed(http, cloud):
    http.get(f"{URL}/rest/api/3/myself", status=401, body="")
    with pytest.raises(AuthFailed):
        cloud.myself()


def test_validation_errors_become_rejected_naming_each_field(http, cloud):
    http.post(
        f"{URL}/rest/api/2/issue/EMG-1/transitions",
        status=400,
        json={"errorMessages": [], "errors": {"customfield_10050": "Critical Issue Category is required."}},
    )
    with pytest.raises(Rejected) as caught:
        cloud.transition("EMG-1", "21")
    assert "customfield_10050: Critical Issue Category is required." in str(caught.value)
    assert caught.value.status == 400


def test_issue_fields_are_rendered_as_text(http, cloud):
    http.get(f"{URL}/rest/api/2/issue/EMG-1", json=issue_body())
    issue = cloud.get_issue("EMG-1")
    assert issue.status == "Awaiting Approval"
    assert issue.reporter == "acc-emma"
    assert issue.assignee is None
    assert issue.fields["customfield_10050"] == "Service outage"
    assert issue.fields["customfield_10051"] == "All customers"
    assert issue.fields["customfield_10052"] is None
    assert issue.links == (JiraLink("Post-Mortem", "outward", "EMG-2"),)


def test_cloud_search_uses_search_jql_and_follows_the_page_token(http, cloud):
    http.get(
        f"{URL}/rest/api/3/search/jql",
        json={"issues": [issue_body()], "nextPageToken": "abc", "isLast": False},
    )
    page = cloud.search("project = EMG", fields=["customfield_10050"])
    assert page.next_page_token == "abc"
    assert [i.key for i in page.issues] == ["EMG-1"]
    assert "jql=project+%3D+EMG" in http.calls[0].request.url
    http.get(f"{URL}/rest/api/3/search/jql", json={"issues": [], "isLast": True})
    assert cloud.search("project = EMG", next_page_token="abc").next_page_token is None
    assert "nextPageToken=abc" in http.calls[1].request.url


def test_datacenter_search_pages_with_start_at(http):
    gateway = JiraGateway(URL, flavor="datacenter", token="pat")
    http.get(f"{URL}/rest/api/2/search", json={"issues": [issue_body()], "total": 2, "startAt": 0})
    assert gateway.search("project = EMG", max_results=1).next_page_token == "1"


def test_transitions_name_their_target_status(http, cloud):
    http.get(
        f"{URL}/rest/api/2/issue/EMG-1/transitions",
        json={"transitions": [{"id": "31", "name": "Approve", "to": {"name": "Approved"}}]},
    )
    (transition,) = cloud.transitions("EMG-1")
    assert (transition.id, transition.name, transition.to_status) == ("31", "Approve", "Approved")


def test_notify_addresses_users_groups_and_reporter(http, cloud):
    http.post(f"{URL}/rest/api/2/issue/EMG-1/notify", status=204)
    cloud.notify(
        "EMG-1", "Breach", "Post-mortem overdue", users=["acc-1"], groups=["security-team"], reporter=True
    )
    body = http.calls[0].request.body
    assert b'"accountId": "acc-1"' in body and b'"name": "security-team"' in body
    assert b'"reporter": true' in body


def test_cloud_needs_the_account_email(http):
    with pytest.raises(ConfigError, match="ECM_JIRA_USER"):
        JiraGateway(URL, flavor="cloud", token="t")


def test_repr_never_shows_the_token(cloud):
    assert "s3cret" not in repr(cloud)


def test_a_link_from_the_change_names_it_the_inward_issue_of_the_request(http, cloud):
    http.post(f"{URL}/rest/api/2/issueLink", status=201)
    cloud.create_link("Post-Mortem", "EMG-1", "EMG-2")  # read: EMG-1 has post-mortem EMG-2
    body = json.loads(http.calls[0].request.body)
    assert (body["inwardIssue"], body["outwardIssue"]) == ({"key": "EMG-1"}, {"key": "EMG-2"})


def test_an_issue_created_linked_from_another_names_that_one_its_inward_issue(http, cloud):
    http.post(f"{URL}/rest/api/2/issue", status=201, json={"id": "10002", "key": "EMG-2"})
    key = cloud.create_issue("EMG", "Post-Mortem", "PM", linked_from=("Post-Mortem", "EMG-1"))
    body = json.loads(http.calls[0].request.body)
    assert key == "EMG-2"
    assert body["update"]["issuelinks"] == [
        {"add": {"type": {"name": "Post-Mortem"}, "inwardIssue": {"key": "EMG-1"}}}
    ]


def test_an_answer_lost_to_the_read_timeout_is_retried_only_after_jira_has_had_time_to_finish():
    import requests as http

    from connector.errors import Unavailable
    from connector.jira.gateway import LOST_ANSWER_WAIT, translated

    with pytest.raises(Unavailable) as lost, translated("create Post-Mortem in EMG", write=True):
        raise http.ReadTimeout("read timed out")
    assert lost.value.retryable and lost.value.retry_after == LOST_ANSWER_WAIT
    with pytest.raises(Unavailable) as read, translated("get issue EMG-1"):
        raise http.ReadTimeout("read timed out")  # a read repeated at once changes nothing
    assert read.value.retry_after is None
    with pytest.raises(Unavailable) as refused, translated("create Post-Mortem in EMG", write=True):
        raise http.ConnectionError("refused")  # never reached Jira: retried at once
    assert refused.value.retry_after is None


def test_datacenter_reads_a_fields_options_by_numeric_id_page_by_page_from_9_3(http):
    gateway = JiraGateway(URL, flavor="datacenter", token="pat")
    http.get(f"{URL}/rest/api/2/serverInfo", json={"versionNumbers": [9, 3, 0]})
    options = f"{URL}/rest/api/2/customFields/10020/options"
    first = [{"id": 10200 + i, "value": f"o{i}", "disabled": False, "childrenIds": []} for i in range(100)]
    http.get(
        options,
        match=[
            responses.matchers.query_param_matcher(
                {"projectIds": "10000", "issueTypeIds": "10101", "maxResults": "100", "page": "1"}
            )
        ],
        json={"options": first, "total": 101},
    )
    http.get(
        options,
        match=[
            responses.matchers.query_param_matcher(
                {"projectIds": "10000", "issueTypeIds": "10101", "maxResults": "100", "page": "2"}
            )
        ],
        json={"options": [{"id": 10300, "value": "last"}], "total": 101},
    )

    assert gateway.reads_field_options()
    found = gateway.field_options("customfield_10020", "10000", "10101")

    assert len(found) == 101 and found[0] == "o0" and found[-1] == "last"


def test_datacenter_before_9_3_and_cloud_cannot_read_a_fields_options(http, cloud):
    http.get(f"{URL}/rest/api/2/serverInfo", json={"versionNumbers": [9, 2, 1]})
    assert not JiraGateway(URL, flavor="datacenter", token="pat").reads_field_options()
    assert not cloud.reads_field_options()
