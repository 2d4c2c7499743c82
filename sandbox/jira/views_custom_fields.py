"""Jira Data Center's read of a field's options, `GET /rest/api/2/customFields/{customFieldId}/options`.

Documented for Data Center as "Get custom field options" (experimental), "Returns custom field's options
defined in a given context composed of projects and issue types"
(https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/customFields,
https://developer.atlassian.com/server/jira/platform/rest/v10004/api-group-customfields/); it exists
from Jira 9.3 on and answers 404 before (opf/openproject's Jira client spec), so the sandbox serves it from
9.3. What it takes and answers, as real clients use it (jira.js `server.getCustomFieldOptions` and its
`CustomFieldOptions` model, sooperset/mcp-atlassian, opf/openproject):
- `customFieldId` is the numeric id (`10020`, not `customfield_10020`, which answers 404);
- query `projectIds`, `issueTypeIds` (comma-separated) choose the context, as an issue's project and
  type do; neither: the global context; `useAllContexts=true`: the options of every context; `query`
  keeps options whose value contains it (any case); `page` (from 1) and `maxResults` page the list;
- the answer is `{"options": [{"id": 10200, "value": "Red", "disabled": false, "childrenIds": []}],
  "total": N}`, ids as numbers.
The default page size is not documented; the sandbox uses 100. The connector's account reads it as a
Jira administrator; the sandbox refuses anyone else (403), the stricter reading of "user has permission".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sandbox.jira import options
from sandbox.jira.errors import not_found
from sandbox.jira.flavors import not_served
from sandbox.jira.http import int_arg, ok, require_admin, state
from sandbox.jira.state import CustomField, JiraState

custom_fields = Blueprint("custom_fields", __name__, url_prefix="/rest/api/2/customFields")
FIRST_VERSION = (9, 3)
PAGE_SIZE = 100


def _version(st: JiraState) -> tuple[int, ...]:
    return tuple(int(p) for p in st.version.split(".") if p.isdigit())


def _ids(name: str) -> list[str]:
    return [i for i in request.args.get(name, "").split(",") if i.strip()]


def _chosen(cf: CustomField) -> list[dict[str, Any]]:
    if request.args.get("useAllContexts", "").lower() == "true":
        return [o for context_id in cf.contexts for o in cf.options.get(context_id, [])]
    projects, types = _ids("projectIds"), _ids("issueTypeIds")
    if not projects and not types:
        return cf.options.get(options.global_context(cf), [])
    context = options.applicable_context(cf, projects[0] if projects else "", types[0] if types else "")
    return [] if context is None else cf.options.get(context, [])


@custom_fields.get("/<custom_field_id>/options")
def field_options(custom_field_id: str) -> Response:
    st = state()
    if _version(st) < FIRST_VERSION:
        return ok(not_served(request.url), 404)  # Jersey's answer: the resource is not there yet
    require_admin()
    with st.lock:
        cf = st.custom_fields.get(f"customfield_{custom_field_id}") if custom_field_id.isdigit() else None
        if cf is None:
            raise not_found(f"The custom field with id '{custom_field_id}' does not exist.")
        found = _chosen(cf)
        if query := request.args.get("query", "").casefold():
            found = [o for o in found if query in o["value"].casefold()]
        size = int_arg("maxResults", PAGE_SIZE, lowest=1)
        page = int_arg("page", 1, lowest=1)
        shown = found[(page - 1) * size : page * size]
        return ok(
            {
                "options": [
                    {
                        "id": int(o["id"]),
                        "value": o["value"],
                        "disabled": bool(o.get("disabled")),
                        "childrenIds": [],
                    }
                    for o in shown
                ],
                "total": len(found),
            }
        )
