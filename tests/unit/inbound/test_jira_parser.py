import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.errors import MalformedBody
from connector.inbound.events import CommentAdded, Ignored, IssueCreated, IssueUpdated
from connector.inbound.jira import HANDLERS, IGNORED_EVENTS, parse_jira

FIXTURES = Path(__file__).parents[2] / "fixtures" / "jira" / "webhooks"
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
CLOUD_USER = "5c5f880629be9642ba529340"

# Every captured payload and what it must become: the class, or "ignored: <words in the reason>".
EXPECTED = {
    "issuelink-created.json": "ignored: created by the connector",
    "issuelink-created_relates.json": "ignored: created by the connector",
    "issuelink-deleted.json": "ignored: issuelink_deleted",
    "webhook-cloud-comment-created-mention-user.json": CommentAdded,
    "webhook-cloud-comment-created.json": CommentAdded,
    "webhook-cloud-comment-deleted.json": "ignored: comment deleted",
    "webhook-cloud-comment-updated.json": "ignored: comment edited",
    "webhook-cloud-issue-created-many-fields.json": IssueCreated,
    "webhook-cloud-issue-updated-custom-field.json": IssueUpdated,
    "webhook-issue-assigned-empty-changelog.json": "ignored: no field changed",
    "webhook-issue-comment-created-indentation.json": CommentAdded,
    "webhook-issue-created-no-description-nor-relevant-fields.json": IssueCreated,
    "webhook-issue-created-no-description.json": IssueCreated,
    "webhook-issue-created-no-relevant-fields.json": IssueCreated,
    "webhook-issue-created-with-security-level.json": IssueCreated,
    "webhook-issue-created.json": IssueCreated,
    "webhook-issue-deleted.json": "ignored: issue deleted",
    "webhook-issue-updated-assigned-nobody.json": IssueUpdated,
    "webhook-issue-updated-assigned-on-server.json": IssueUpdated,
    "webhook-issue-updated-assigned.json": IssueUpdated,
    "webhook-issue-updated-attachments.json": IssueUpdated,
    "webhook-issue-updated-components.json": IssueUpdated,
    "webhook-issue-updated-edited.json": IssueUpdated,
    "webhook-issue-updated-fix-version.json": IssueUpdated,
    "webhook-issue-updated-issue-type.json": IssueUpdated,
    "webhook-issue-updated-labels.json": IssueUpdated,
    "webhook-issue-updated-lowered-priority.json": IssueUpdated,
    "webhook-issue-updated-multiple-custom-fields.json": IssueUpdated,
    "webhook-issue-updated-multiple-values.json": IssueUpdated,
    "webhook-issue-updated-raised-priority.json": IssueUpdated,
    "webhook-issue-updated-rank.json": IssueUpdated,
    "webhook-issue-updated-renamed.json": IssueUpdated,
    "webhook-issue-updated-reopened-one-changelog.json": IssueUpdated,
    "webhook-issue-updated-reopened.json": IssueUpdated,
    "webhook-issue-updated-resolved-one-changelog.json": IssueUpdated,
    "webhook-issue-updated-resolved.json": IssueUpdated,
    "webhook-issue-updated-sprint.json": IssueUpdated,
    "webhook-issue-updated-started-working.json": IssueUpdated,
    "webhook-server-comment-created.json": "ignored: without the issue",
    "webhook-server-comment-deleted.json": "ignored: comment deleted",
    "webhook-server-comment-updated.json": "ignored: comment edited",
    "webhook-server-issue-updated-closed.json": IssueUpdated,
    "webhook-server-issue-updated-comment-deleted.json": "ignored: comment deleted",
    "webhook-server-issue-updated-comment-edited.json": "ignored: comment edited",
    "webhook-server-issue-updated-commented-1.json": CommentAdded,
    "webhook-server-issue-updated-commented-2.json": CommentAdded,
    "webhook-server-issue-updated-commented-3.json": CommentAdded,
    "webhook-server-issue-updated-commented-mention-user.json": CommentAdded,
    "webhook-server-issue-updated-in-progress.json": IssueUpdated,
    "webhook-server-issue-updated-many-fields.json": IssueUpdated,
    "webhook-server-issue-updated-reopened.json": IssueUpdated,
    "webhook-server-issue-updated-resolved.json": IssueUpdated,
    "webhook-server-old-issue-updated-no-event-type-assigned.json": IssueUpdated,
    "webhook-server-old-issue-updated-no-event-type-comment-deleted.json": "ignored: no field changed",
    "webhook-server-old-issue-updated-no-event-type-comment-edited.json": "ignored: comment edited",
    "webhook-server-old-issue-updated-no-event-type-commented.json": CommentAdded,
    "webhook-server-old-issue-updated-no-event-type-edited.json": IssueUpdated,
    "webhook-server-updated-custom-field.json": IssueUpdated,
}


def parse(name: str, headers: dict | None = None):
    return parse_jira(headers or {}, (FIXTURES / name).read_bytes(), received_at=NOW)


def test_every_fixture_file_has_an_expected_outcome():
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_payload_is_handled_or_ignored_with_a_reason(name):
    delivery, event = parse(name)
    expected = EXPECTED[name]
    if isinstance(expected, str):
        assert isinstance(event, Ignored)
        assert expected.removeprefix("ignored: ") in event.reason
    else:
        assert type(event) is expected
        assert event.key == delivery.issue_key
        assert event.actor
    assert delivery.source == "jira"


def test_every_event_type_in_the_fixtures_is_declared_handled_or_ignored():
    seen = {json.loads(p.read_bytes())["webhookEvent"] for p in FIXTURES.glob("*.json")}
    assert not set(HANDLERS) & set(IGNORED_EVENTS)
    assert seen <= set(HANDLERS) | set(IGNORED_EVENTS)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("webhook-issue-updated-resolved.json", "In Progress", "Done"),
        ("webhook-issue-updated-started-working.json", "To Do", "In Progress"),
        ("webhook-issue-updated-reopened.json", "Done", "To Do"),
        ("webhook-server-issue-updated-closed.json", "Resolved", "Closed"),
        ("webhook-server-issue-updated-reopened.json", "Resolved", "Reopened"),
        ("webhook-server-issue-updated-resolved.json", "In Progress", "Resolved"),
        ("webhook-server-issue-updated-in-progress.json", "Reopened", "In Progress"),
    ],
)
def test_status_change_gives_from_and_to_status_names(name, old, new):
    _, event = parse(name)
    change = event.status_change()
    assert (change.old, change.new) == (old, new)
    assert event.status == new


def test_resolution_without_status_change_has_no_status_change():
    _, event = parse("webhook-issue-updated-resolved-one-changelog.json")
    assert event.status_change() is None
    assert [(c.field, c.old, c.new) for c in event.changes] == [("resolution", None, "Done")]


@pytest.mark.parametrize(
    ("name", "author", "text"),
    [
        ("webhook-cloud-comment-created.json", CLOUD_USER, "Added a comment"),
        ("webhook-server-issue-updated-commented-1.json", "levbrouk", "unik"),
        ("webhook-server-old-issue-updated-no-event-type-commented.json", "levbrouk", "unik"),
    ],
)
def test_comment_gives_its_author_and_text(name, author, text):
    _, event = parse(name)
    assert (event.actor, event.body) == (author, text)
    assert event.comment_id


def test_cloud_custom_field_change_carries_the_field_id_and_values():
    _, event = parse("webhook-cloud-issue-updated-custom-field.json")
    assert [(c.field, c.name, c.old, c.new) for c in event.changes] == [
        ("customfield_10072", "MJK - Number Field", "1", "12")
    ]
    assert event.actor == "5cedcb4355a88a0fc86388ba"


def test_server_changelog_without_field_id_uses_the_field_name():
    _, event = parse("webhook-server-updated-custom-field.json")
    assert [(c.field, c.old, c.new) for c in event.changes] == [("numfield", "445455561", "44545556")]
    assert event.actor == "test"


def test_issue_fields_are_rendered_as_strings():
    _, event = parse("webhook-cloud-issue-created-many-fields.json")
    assert event.fields["customfield_10073"] == "1"  # select option -> its value
    assert event.fields["customfield_10079"] == "https://google.com"  # URL
    assert event.fields["customfield_10072"] == "23"  # number
    assert event.fields["customfield_10071"] == "value1, value2"  # multi-value
    assert event.fields["customfield_10080"] == "5cedcb4355a88a0fc86388ba"  # user -> accountId
    assert event.fields["reporter"] == "5cedcb4355a88a0fc86388ba"
    assert event.fields["status"] == "To Do"
    assert event.fields["summary"] == "Lots of fields selected"
    assert event.issue_type == event.fields["issuetype"] == "Task"


def test_the_fields_read_as_a_mapping_of_every_custom_and_system_field():
    _, event = parse("webhook-cloud-issue-created-many-fields.json")
    fields = dict(event.fields)
    assert fields == event.fields and len(fields) == len(event.fields)
    assert "customfield_10073" in event.fields and event.fields.get("customfield_99999") is None
    assert {"status", "reporter", "summary", "issuetype"} <= set(fields)
    assert all(value is None or isinstance(value, str) for value in fields.values())
    assert "'customfield_10073': '1'" in repr(event.fields)


def test_server_users_are_named_by_user_name():
    _, event = parse("webhook-server-issue-updated-many-fields.json")
    assert event.fields["reporter"] == "mickmister"


def test_delivery_id_comes_from_the_atlassian_header_and_retries_are_counted():
    headers = {"X-Atlassian-Webhook-Identifier": "abc-123", "X-Atlassian-Webhook-Retry": "2"}
    delivery, _ = parse("webhook-issue-created.json", headers)
    assert (delivery.delivery_id, delivery.retry, delivery.event_type) == ("abc-123", 2, "jira:issue_created")


def test_delivery_id_without_the_header_is_stable_and_differs_between_bodies():
    first, _ = parse("webhook-issue-created.json")
    again, _ = parse("webhook-issue-created.json")
    other, _ = parse("webhook-issue-updated-renamed.json")
    assert first.delivery_id == again.delivery_id != other.delivery_id
    assert first.delivery_id.startswith("sha256:")


def test_event_time_comes_from_the_payload_timestamp():
    _, event = parse("webhook-cloud-comment-created.json")
    assert event.at == datetime(2019, 2, 16, 3, 11, 18, 321000, tzinfo=UTC)


def test_unknown_event_is_ignored_as_unknown():
    _, event = parse_jira({}, b'{"webhookEvent": "board_created"}', received_at=NOW)
    assert isinstance(event, Ignored)
    assert "unknown event 'board_created'" in event.reason


def adf_comment_body(*paragraphs):
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": p} for p in paragraphs]}


def test_document_format_comment_body_becomes_plain_text():
    payload = json.loads((FIXTURES / "webhook-cloud-comment-created.json").read_bytes())
    payload["comment"]["body"] = adf_comment_body(
        [
            {"type": "text", "text": "/approve-verbal "},
            {"type": "mention", "attrs": {"id": "1", "text": "@Lead"}},
            {"type": "text", "text": " via phone"},
        ],
        [{"type": "text", "text": "second line"}],
    )
    _, event = parse_jira({}, json.dumps(payload).encode(), received_at=NOW)
    assert event.body == "/approve-verbal @Lead via phone\nsecond line"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "webhookEvent: missing"),
        (b'{"webhookEvent": 7.5}', "webhookEvent: expected a string"),
        (b'{"webhookEvent": "jira:issue_created", "user": {"name": "a"}}', "issue: missing"),
        (
            b'{"webhookEvent": "jira:issue_created", "issue": "ECM-1", "user": {"name": "a"}}',
            "issue: expected an",
        ),
        (b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "E-1"}}', "user: missing"),
        (
            b'{"webhookEvent": "jira:issue_updated", "user": {"name": "a"},'
            b' "issue": {"id": "1", "key": "E-1"},'
            b' "changelog": {"items": [{"field": ["x"]}]}}',
            "changelog.items[0].field",
        ),
    ],
)
def test_malformed_body_is_refused_with_the_path_of_the_problem(body, problem):
    with pytest.raises(MalformedBody, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_jira({}, body, received_at=NOW)
