"""System fields and custom fields as `GET /field` lists them."""

from __future__ import annotations

from typing import Any

from sandbox.jira.state import CustomField

_SYSTEM = (
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("issuetype", "Issue Type", "issuetype"),
    ("project", "Project", "project"),
    ("reporter", "Reporter", "user"),
    ("assignee", "Assignee", "user"),
    ("status", "Status", "status"),
    ("labels", "Labels", "array"),
    ("duedate", "Due date", "date"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("priority", "Priority", "priority"),
    ("issuelinks", "Linked Issues", "array"),
    ("comment", "Comment", "comments-page"),
    ("creator", "Creator", "user"),
    ("resolution", "Resolution", "resolution"),
    ("environment", "Environment", "string"),
)
STANDARD_FIELDS: tuple[dict[str, Any], ...] = tuple(
    {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": False,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [fid],
        "schema": {"type": ftype, "system": fid},
    }
    for fid, name, ftype in _SYSTEM
)

# The value type Jira reports for a custom field type key (the part after the colon).
CUSTOM_SCHEMA_TYPES = {
    "textfield": "string",
    "textarea": "string",
    "url": "string",
    "float": "number",
    "datetime": "datetime",
    "datepicker": "date",
    "select": "option",
    "radiobuttons": "option",
    "multiselect": "array",
    "userpicker": "user",
    "multiuserpicker": "array",
    "labels": "array",
    "multigrouppicker": "array",
    "grouppicker": "group",
    "multicheckboxes": "array",
}


def custom_field_json(cf: CustomField) -> dict[str, Any]:
    short_type = cf.type.rsplit(":", 1)[-1]
    number = cf.id.rsplit("_", 1)[-1]
    return {
        "id": cf.id,
        "key": cf.id,
        "name": cf.name,
        "custom": True,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [f"cf[{number}]", cf.name],
        "schema": {
            "type": CUSTOM_SCHEMA_TYPES.get(short_type, "string"),
            "custom": cf.type,
            "customId": int(number),
        },
    }


def is_user_field(cf: CustomField) -> bool:
    return cf.type.endswith(("userpicker", "multiuserpicker"))


def is_rich_text(cf: CustomField) -> bool:
    return cf.type.endswith(":textarea")
