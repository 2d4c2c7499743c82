"""The judge refuses requests that break Atlassian's OpenAPI document, and passes those that keep it."""

from __future__ import annotations

import json

import pytest

from connector.jira.gateway import USER_AGENT
from tests.conformance.judge import judge
from tests.conformance.recorder import Exchange


def sent(method: str, path: str, body: object = None, *, query=(), flavor="cloud") -> Exchange:
    raw = b"" if body is None else json.dumps(body).encode()
    return Exchange(flavor, method, path, tuple(query), "application/json", raw, "ecm-bot", USER_AGENT, 200)


def errors(exchange: Exchange) -> list[tuple[str, str]]:
    return [(m.operation, m.error) for m in judge(exchange)]


def test_a_transition_id_given_as_a_number_on_v3_names_the_operation_and_the_schema_error():
    found = errors(sent("POST", "/rest/api/3/issue/EMG-1/transitions", {"transition": {"id": 21}}))
    assert len(found) == 1
    operation, error = found[0]
    assert operation == "doTransition"
    assert "21 is not of type 'string'" in error


def test_a_transition_id_as_a_number_on_v2_is_the_known_difference_and_passes():
    assert errors(sent("POST", "/rest/api/2/issue/EMG-1/transitions", {"transition": {"id": 21}})) == []


def test_an_unknown_query_parameter_is_refused():
    found = errors(sent("GET", "/rest/api/2/issue/EMG-1", query=[("fields", "status"), ("colour", "red")]))
    assert found == [
        ("getIssue", "query parameter 'colour' is not a parameter of /rest/api/3/issue/{issueIdOrKey}")
    ]


def test_a_missing_required_field_is_refused():
    found = errors(
        sent(
            "POST", "/rest/api/2/issueLink", {"type": {"name": "Post-Mortem"}, "outwardIssue": {"key": "A-1"}}
        )
    )
    assert [operation for operation, _ in found] == ["linkIssues"]
    assert "'inwardIssue' is a required property" in found[0][1]


def test_a_property_the_schema_closes_is_refused():
    body = {
        "name": "Impact",
        "type": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
        "colour": "red",
    }
    found = errors(sent("POST", "/rest/api/3/field", body))
    assert [operation for operation, _ in found] == ["createCustomField"]
    assert "colour" in found[0][1]


def test_a_parameter_the_document_retires_is_refused_on_cloud_but_is_data_centers_own():
    cloud = errors(sent("GET", "/rest/api/3/user", query=[("username", "eng.emma")]))
    assert cloud == [("getUser", "query parameter 'username': the document says it is no longer available")]
    assert (
        errors(sent("GET", "/rest/api/2/user", query=[("username", "eng.emma")], flavor="datacenter")) == []
    )


def test_a_deprecated_operation_is_refused_on_cloud():
    found = errors(sent("GET", "/rest/api/3/search", query=[("jql", "project = EMG")]))
    assert ("searchForIssuesUsingJql", "searchForIssuesUsingJql is deprecated in the document") in found


def test_data_center_has_no_v3():
    found = errors(sent("GET", "/rest/api/3/myself", flavor="datacenter"))
    assert found == [("-", "Jira Data Center has no REST API v3; use /rest/api/2")]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        (
            "GET",
            "/rest/api/3/issue/EMG-1/colour",
            "the document has no operation GET /rest/api/3/issue/EMG-1/colour",
        ),
        ("PATCH", "/rest/api/2/issue/EMG-1", "the document has no operation PATCH /rest/api/3/issue/EMG-1"),
        (
            "GET",
            "/rest/greenhopper/1.0/rapidviews",
            "not in the OpenAPI document and not listed in offdocument.py",
        ),
    ],
)
def test_a_path_nobody_looked_up_is_refused(method, path, expected):
    assert errors(sent(method, path)) == [("-", expected)]


def test_the_admin_webhook_is_checked_against_its_own_schema():
    good = {
        "name": "ECM Connector",
        "url": "https://ecm.example.com/webhooks/jira",
        "events": ["jira:issue_created"],
        "filters": {"issue-related-events-section": "project = EMG"},
        "excludeBody": False,
        "enabled": True,
        "secret": "s3cret",
    }
    assert errors(sent("POST", "/rest/webhooks/1.0/webhook", good)) == []
    assert errors(sent("PUT", "/rest/webhooks/1.0/webhook/7", good)) == []
    missing_url = {k: v for k, v in good.items() if k != "url"}
    assert errors(sent("POST", "/rest/webhooks/1.0/webhook", missing_url)) == [
        ("admin webhooks", "body: 'url' is a required property")
    ]
    found = errors(sent("POST", "/rest/webhooks/1.0/webhook", {**good, "events": "jira:issue_created"}))
    assert found == [("admin webhooks", "events: 'jira:issue_created' is not of type 'array'")]


def test_the_options_read_is_data_centers_own_by_numeric_id_and_refused_on_cloud():
    options = "/rest/api/2/customFields/10020/options"
    assert errors(sent("GET", options, query=(("page", "1"),), flavor="datacenter")) == []
    assert [op for op, _ in errors(sent("GET", options))] == ["Data Center custom field options"]
    by_key = errors(sent("GET", "/rest/api/2/customFields/customfield_10020/options", flavor="datacenter"))
    assert by_key == [
        ("-", "the document has no operation GET /rest/api/3/customFields/customfield_10020/options")
    ]


def test_the_connector_never_calls_the_sandboxes_control_api():
    found = errors(sent("POST", "/_sandbox/faults", {"rules": []}))
    assert [operation for operation, _ in found] == ["sandbox control"]


def test_a_user_named_by_user_name_is_data_centers_way_and_refused_on_cloud():
    body = {"subject": "EMG-1", "textBody": "Approve", "to": {"users": [{"name": "lead.liam"}]}}
    assert errors(sent("POST", "/rest/api/2/issue/EMG-1/notify", body, flavor="datacenter")) == []
    found = errors(sent("POST", "/rest/api/2/issue/EMG-1/notify", body))
    assert [operation for operation, _ in found] == ["notify"]
    assert "read-only property" in found[0][1]
