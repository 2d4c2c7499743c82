"""The Table API answers like an instance: CRUD, queries, paging headers, display values, error bodies."""

from __future__ import annotations

import re

import pytest

TABLE = "/api/now/table/change_request"


def create(caller, **fields):
    response = caller("POST", TABLE, json={"short_description": "Restore checkout", **fields})
    assert response.status_code == 201, response.json
    return response.json["result"]


def test_created_change_gets_number_sys_id_and_system_fields_as_strings(emma):
    first, second = create(emma), create(emma)
    assert (first["number"], second["number"]) == ("CHG0030001", "CHG0030002")
    assert re.fullmatch(r"[0-9a-f]{32}", first["sys_id"])
    assert first["sys_created_on"] == first["sys_updated_on"] == "2026-03-02 09:30:00"
    assert first["sys_created_by"] == first["sys_updated_by"] == "eng.emma"
    assert first["sys_mod_count"] == "0"
    assert all(isinstance(value, str | dict) for value in first.values())


def test_update_counts_modifications_and_ignores_the_query_string_pysnow_carries(emma):
    change = create(emma)
    url = f"{TABLE}/{change['sys_id']}?sysparm_query=number%3D{change['number']}&sysparm_limit=10000"
    response = emma("PUT", url, json={"impact": "1"})
    assert response.status_code == 200
    assert response.json["result"]["impact"] == "1"
    assert response.json["result"]["sys_mod_count"] == "1"
    patched = emma("PATCH", f"{TABLE}/{change['sys_id']}", json={"impact": "2"}).json["result"]
    assert (patched["impact"], patched["sys_mod_count"]) == ("2", "2")


def test_unknown_fields_are_ignored_and_a_custom_u_field_once_its_dictionary_entry_exists(emma, as_user):
    before = create(emma, u_pr_link="https://git.example/pr/7", bogus="x")
    assert "u_pr_link" not in before and "bogus" not in before
    column = {"name": "change_request", "element": "u_pr_link", "internal_type": "url"}
    assert as_user("admin")("POST", "/api/now/table/sys_dictionary", json=column).status_code == 201
    change = create(emma, u_pr_link="https://git.example/pr/7", bogus="x")
    assert change["u_pr_link"] == "https://git.example/pr/7"
    assert "bogus" not in change


def test_delete_answers_204_and_the_record_is_gone(emma):
    change = create(emma)
    assert emma("DELETE", f"{TABLE}/{change['sys_id']}").status_code == 204
    gone = emma("GET", f"{TABLE}/{change['sys_id']}")
    assert gone.status_code == 404
    assert gone.json == {
        "error": {
            "message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval",
        },
        "status": "failure",
    }


def test_wrong_password_gets_servicenow_401_body(as_user):
    response = as_user("eng.emma").client.get(TABLE, headers={"Authorization": "Basic ZW5nLmVtbWE6bm8="})
    assert response.status_code == 401
    assert response.json == {
        "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
        "status": "failure",
    }


def test_invalid_table_and_invalid_json_are_400(emma):
    bad_table = emma("GET", "/api/now/table/no_such_table")
    assert (bad_table.status_code, bad_table.json["error"]["message"]) == (400, "Invalid table no_such_table")
    bad_json = emma("POST", TABLE, data="{not json", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json.json["status"] == "failure"


def test_configuration_tables_need_the_admin_role(emma, bot):
    denied = emma("POST", "/api/now/table/sys_script", json={"name": "x"})
    assert denied.status_code == 403
    assert denied.json["error"]["detail"] == "ACL Exception Insert Failed due to security constraints"
    assert bot("POST", "/api/now/table/sys_script", json={"name": "x", "script": "..."}).status_code == 201


@pytest.fixture
def three_changes(emma):
    create(emma, short_description="Database failover", impact="1", category="outage")
    create(emma, short_description="Rotate keys", impact="2", category="")
    create(emma, short_description="Patch kernel", impact="3", category="security", type="emergency")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("impact=1", ["Database failover"]),
        ("impact!=1", ["Rotate keys", "Patch kernel"]),
        ("impactIN1,3", ["Database failover", "Patch kernel"]),
        ("short_descriptionSTARTSWITHrot", ["Rotate keys"]),
        ("short_descriptionLIKEover", ["Database failover"]),
        ("impact>1", ["Rotate keys", "Patch kernel"]),
        ("impact>=2^impact<3", ["Rotate keys"]),
        ("impact<=1^ORimpact=3", ["Database failover", "Patch kernel"]),
        ("categoryISEMPTY", ["Rotate keys"]),
        ("categoryISNOTEMPTY^ORDERBYDESCimpact", ["Patch kernel", "Database failover"]),
        ("ORDERBYshort_description", ["Database failover", "Patch kernel", "Rotate keys"]),
        ("type=emergency^requested_by.user_name=", ["Patch kernel"]),
        ("impact=1^NQimpact=2", ["Database failover", "Rotate keys"]),
    ],
)
def test_encoded_query_operators_select_and_order_records(emma, three_changes, query, expected):
    response = emma("GET", TABLE, query_string={"sysparm_query": query})
    assert [row["short_description"] for row in response.json["result"]] == expected


def test_name_value_pairs_filter_like_sysparm_query(emma, three_changes):
    response = emma("GET", TABLE, query_string={"impact": "2"})
    assert [row["short_description"] for row in response.json["result"]] == ["Rotate keys"]


def test_paging_sets_total_count_and_links_like_servicenow(emma, three_changes):
    response = emma("GET", TABLE, query_string={"sysparm_limit": "1", "sysparm_offset": "1"})
    assert response.headers["X-Total-Count"] == "3"
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>;rel="(\w+)"', response.headers["Link"]))
    assert set(links) == {"first", "prev", "next", "last"}
    assert "sysparm_offset=0" in links["first"] and "sysparm_offset=2" in links["next"]
    assert "sysparm_offset=2" in links["last"] and "sysparm_limit=1" in links["prev"]
    assert len(response.json["result"]) == 1
    first_page = emma("GET", TABLE, query_string={"sysparm_limit": "2"})
    assert 'rel="prev"' not in first_page.headers["Link"]
    quiet = emma(
        "GET", TABLE, query_string={"sysparm_limit": "1", "sysparm_suppress_pagination_header": "true"}
    )
    assert "Link" not in quiet.headers and quiet.headers["X-Total-Count"] == "3"


def test_version_1_answers_404_for_an_empty_result_and_latest_an_empty_array(emma):
    assert emma("GET", "/api/now/v1/table/change_request").status_code == 404
    latest = emma("GET", TABLE)
    assert (latest.status_code, latest.json) == (200, {"result": []})


def test_a_reference_written_as_a_display_value_is_stored_as_given_unless_asked_to_resolve(emma, instance):
    raw = create(emma, requested_by="eng.emma", type="emergency")
    assert instance.store.get("change_request", raw["sys_id"])["requested_by"] == "eng.emma"
    resolved = emma(
        "POST",
        TABLE,
        query_string={"sysparm_input_display_value": "true"},
        json={"requested_by": "eng.emma", "type": "emergency"},
    ).json["result"]
    assert resolved["requested_by"]["value"] == instance.user("eng.emma")["sys_id"]


def test_fields_and_display_values_shape_references_and_choices(emma, instance):
    change = create(emma, requested_by=instance.user("eng.emma")["sys_id"], state="-5", type="emergency")
    path = f"{TABLE}/{change['sys_id']}"
    plain = emma("GET", path, query_string={"sysparm_fields": "requested_by,state"}).json["result"]
    emma_id = instance.user("eng.emma")["sys_id"]
    assert plain == {
        "requested_by": {"link": f"http://localhost/api/now/table/sys_user/{emma_id}", "value": emma_id},
        "state": "-5",
    }
    shown = emma(
        "GET",
        path,
        query_string={"sysparm_fields": "requested_by,state,type", "sysparm_display_value": "true"},
    ).json["result"]
    assert shown["state"] == "New" and shown["type"] == "Emergency"
    assert shown["requested_by"]["display_value"] == "Emma Engineer"
    both = emma(
        "GET",
        path,
        query_string={
            "sysparm_fields": "requested_by,state",
            "sysparm_display_value": "all",
            "sysparm_exclude_reference_link": "true",
        },
    ).json["result"]
    assert both == {
        "requested_by": {"display_value": "Emma Engineer", "value": emma_id},
        "state": {"display_value": "New", "value": "-5"},
    }
    bare = emma(
        "GET", path, query_string={"sysparm_fields": "requested_by", "sysparm_exclude_reference_link": "true"}
    ).json["result"]
    assert bare == {"requested_by": emma_id}


def test_comments_go_to_the_journal_not_the_record(emma, instance):
    change = create(emma, comments="Customers cannot pay")
    assert change["comments"] == ""
    [entry] = instance.store.find("sys_journal_field", element_id=change["sys_id"])
    assert (entry["element"], entry["name"], entry["value"]) == (
        "comments",
        "change_request",
        "Customers cannot pay",
    )
    assert entry["sys_created_by"] == "eng.emma"
    shown = emma(
        "GET",
        f"{TABLE}/{change['sys_id']}",
        query_string={"sysparm_display_value": "true", "sysparm_fields": "comments"},
    ).json["result"]
    assert shown["comments"] == (
        "2026-03-02 09:30:00 - Emma Engineer (Additional comments)\nCustomers cannot pay\n\n"
    )
