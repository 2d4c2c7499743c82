"""A select custom field takes one of its options, as Jira checks it on create, edit and transition.

The Jira Cloud platform OpenAPI document (reference/jira/, `POST /rest/api/3/issue`) sets a single
select field by its option, `"customfield_80000": {"value": "red"}`; the option may also be named by its
`id`. The options offered are those of the field's context that applies to the issue's project and issue
type (`/rest/api/3/field/{fieldId}/context`, "Returns a paginated list of all custom field option for a
context"): the project's own context, else the global one. Jira Cloud answers an option that is not
among them with 400 and the field's error `Option value 'X' is not valid` (`Option id 'X' is not valid`
for an id; getsentry/sentry#13001, pycontribs/jira#798), and a value that is not an option object with
`Could not find valid 'id' or 'value' in the Parent Option object.` (AtlassianPS/JiraPS#56,
lesstif/php-jira-rest-client#470). The stored value is the option, as Jira returns it: its value and id.

Data Center checks the same way; the field's options are those of its configuration scheme ("context"),
which an administrator edits in Custom fields > Configure > Edit options (`add_options`, the stand-in
`POST /_sandbox/admin/fields/<field>/options` of `views_ui`): Data Center's REST API can read them
(`GET /rest/api/2/customFields/{id}/options`, `custom_field_options`) but not add them.
- A value that is not an option object: the same message as Cloud, from Data Center and Server
  instances (AtlassianPS/JiraPS#56 on `http://jira:8080/rest/api/2`, go-jira/jira#464,
  bobcarroll/jira-client#106).
- A value or id that names no option: not confirmed for Data Center. Reports from self-hosted Jira show
  the 400 on the field's key; one answered a value it could not resolve with `Option id 'null' is not
  valid` (pycontribs/jira#798, `http://myUrl/rest/api/2/issue/…`). The sandbox answers as Cloud does
  (Data Center's REST plugin shares Cloud's lineage), and, the stricter choice where the rule is not
  confirmed, matches a value exactly (case and spaces, as on Cloud): a connector must write an option
  exactly as the admin added it.
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import bad_request
from sandbox.jira.state import CustomField, JiraState

OPTION_TYPES = (":select", ":radiobuttons")
PARENT_OPTION = "Could not find valid 'id' or 'value' in the Parent Option object."
# What the Edit options page says when the value is already an option of the context; the page's own
# text, not a REST answer (not confirmed word for word).
DUPLICATE_OPTION = "Value '{}' already exists."


def is_option_field(cf: CustomField) -> bool:
    return cf.type.endswith(OPTION_TYPES)


def applicable_context(cf: CustomField, project_id: str, issue_type_id: str) -> str | None:
    """The context for this project and issue type: the project's own, else the global one; None when
    no context applies (the field is then not available to the issue)."""
    covering = []
    for context_id in cf.contexts:
        projects, issue_types = cf.scopes.get(context_id, ((), ()))
        if (not projects or project_id in projects) and (not issue_types or issue_type_id in issue_types):
            covering.append((not projects, context_id))  # False sorts first: the project's own
    return min(covering)[1] if covering else None


def applicable_options(cf: CustomField, project_id: str, issue_type_id: str) -> list[dict[str, Any]] | None:
    """The options of the field's context for this project and issue type; None when no context applies."""
    context_id = applicable_context(cf, project_id, issue_type_id)
    return None if context_id is None else cf.options.get(context_id, [])


def chosen_option(cf: CustomField, value: Any, project_id: str, issue_type_id: str) -> dict[str, str] | None:
    """The option `value` names (stored as Jira returns it), or the 400 Jira answers."""
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


def global_context(cf: CustomField) -> str:
    """The field's default configuration scheme, the one a field created over REST gets: for every
    project and issue type."""
    return next(c for c in cf.contexts if cf.scopes.get(c, ((), ())) == ((), ()))


def add_options(state: JiraState, cf: CustomField, values: list[str]) -> list[dict[str, Any]]:
    """Custom fields > Configure > Edit options: each value added, in order, to the field's default
    configuration scheme; a value that is already there is refused and nothing is added."""
    if not is_option_field(cf):
        raise bad_request(f"The custom field '{cf.name}' has no options to edit.")
    existing = cf.options.setdefault(global_context(cf), [])
    cleaned = [str(v).strip() for v in values]
    if not cleaned or any(not v for v in cleaned):
        raise bad_request(options="You must specify a value for each option.")
    taken = {o["value"] for o in existing}
    for value in cleaned:
        if value in taken:
            raise bad_request(options=DUPLICATE_OPTION.format(value))
        taken.add(value)
    added = [{"id": state.next_id(), "value": v, "disabled": False} for v in cleaned]
    existing.extend(added)
    return added
