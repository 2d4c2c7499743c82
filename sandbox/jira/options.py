"""A select custom field takes one of its options, as Jira Cloud checks it on create, edit and transition.

The Jira Cloud platform OpenAPI document (reference/jira/, `POST /rest/api/3/issue`) sets a single
select field by its option, `"customfield_80000": {"value": "red"}`; the option may also be named by its
`id`. The options offered are those of the field's context that applies to the issue's project and issue
type (`/rest/api/3/field/{fieldId}/context`, "Returns a paginated list of all custom field option for a
context"): the project's own context, else the global one. Jira Cloud answers an option that is not
among them with 400 and the field's error `Option value 'X' is not valid` (`Option id 'X' is not valid`
for an id; getsentry/sentry#13001, pycontribs/jira#798), and a value that is not an option object with
`Could not find valid 'id' or 'value' in the Parent Option object.` (AtlassianPS/JiraPS#56,
lesstif/php-jira-rest-client#470). The stored value is the option, as Jira returns it: its value and id.

Data Center: options are edited in the field's administration page (Configure > Edit options), which the
sandbox does not serve, so its fields have none to check against; a Data Center value is kept as given.
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import bad_request
from sandbox.jira.state import CustomField

OPTION_TYPES = (":select", ":radiobuttons")
PARENT_OPTION = "Could not find valid 'id' or 'value' in the Parent Option object."


def is_option_field(cf: CustomField) -> bool:
    return cf.type.endswith(OPTION_TYPES)


def applicable_options(cf: CustomField, project_id: str, issue_type_id: str) -> list[dict[str, Any]] | None:
    """The options of the field's context for this project and issue type: the project's own context,
    else the global one; None when no context applies (the field is then not available to the issue)."""
    covering = []
    for context_id in cf.contexts:
        projects, issue_types = cf.scopes.get(context_id, ((), ()))
        if (not projects or project_id in projects) and (not issue_types or issue_type_id in issue_types):
            covering.append((not projects, context_id))  # False sorts first: the project's own
    if not covering:
        return None
    return cf.options.get(min(covering)[1], [])


def chosen_option(cf: CustomField, value: Any, project_id: str, issue_type_id: str) -> dict[str, str] | None:
    """The option `value` names (stored as Jira returns it), or the 400 Jira Cloud answers."""
    if value is None:
        return None
    options = applicable_options(cf, project_id, issue_type_id)
    if options is None:
        raise bad_request(
            **{cf.id: f"Field '{cf.id}' cannot be set. It is not on the appropriate screen, or unknown."}
        )
    if not isinstance(value, dict) or not ({"id", "value"} & set(value)):
        raise bad_request(**{cf.id: PARENT_OPTION})
    by = "id" if value.get("id") is not None else "value"
    wanted = str(value.get(by))
    found = next((o for o in options if str(o[by]) == wanted), None)
    if found is None:
        raise bad_request(**{cf.id: f"Option {by} '{wanted}' is not valid"})
    return {"value": found["value"], "id": found["id"]}
