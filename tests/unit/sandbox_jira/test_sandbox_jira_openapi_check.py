"""The OpenAPI check reports a request that breaks the document, and the app answers in Jira's error shape."""

from __future__ import annotations

import base64

from sandbox.jira import create_app

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}


def test_a_request_outside_the_document_is_reported():
    app = create_app("cloud", validate_openapi=True)
    client = app.test_client()
    response = client.post(
        "/rest/api/3/field",
        json={
            "name": "Impact",
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
            "colour": "red",
        },
        headers=AUTH,
    )
    assert response.status_code == 201  # the sandbox is lenient; the check is not
    errors = app.extensions["jira_sandbox"].openapi_errors
    assert len(errors) == 1 and errors[0].startswith("request POST /rest/api/3/field")


def test_a_conforming_exchange_is_not_reported():
    app = create_app("cloud", validate_openapi=True)
    client = app.test_client()
    created = client.post(
        "/rest/api/3/issue",
        headers=AUTH,
        json={"fields": {"project": {"key": "EMG"}, "summary": "Outage", "issuetype": {"name": "Task"}}},
    )
    assert created.status_code == 201
    assert client.get(f"/rest/api/3/issue/{created.json['key']}", headers=AUTH).status_code == 200
    assert app.extensions["jira_sandbox"].openapi_errors == []


def test_validation_errors_name_the_field_in_jira_shape():
    client = create_app("datacenter").test_client()
    response = client.post("/rest/api/2/issue", headers=AUTH, json={"fields": {"project": {"key": "EMG"}}})
    assert response.status_code == 400
    assert response.json == {
        "errorMessages": [],
        "errors": {
            "issuetype": "Specify an issue type",
            "summary": "You must specify a summary of the issue.",
        },
    }


def test_unknown_flavor_is_refused():
    import pytest

    with pytest.raises(ValueError, match="flavor"):
        create_app("onprem")
