"""Jira administration REST calls the installer and doctor need, as a mixin of `JiraGateway`.

The `jira` library has no calls for custom fields, issue types, statuses, workflows, workflow schemes
or webhooks, so these go through its session (`JiraGateway._call`), with the same error translation.
Cloud uses `/rest/api/3`; Data Center `/rest/api/2`, which offers fields, issue types, link types and
webhooks but no workflow creation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.errors import Rejected

WEBHOOKS = "/rest/webhooks/1.0/webhook"
JIRA_WEBHOOKS = "/rest/jira-webhook/1.0/webhooks"  # Data Center 10 and later
JQL_FILTER_KEY = "issue-related-events-section"
OPTIONS_PAGE, OPTIONS_PAGES = 100, 100  # a field's options are read 100 at a time, at most 10,000


@dataclass(frozen=True)
class Named:
    """A configuration object known by id and name (issue type, status, group, project, scheme)."""

    id: str
    name: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class LinkType:
    id: str
    name: str
    outward: str
    inward: str


@dataclass(frozen=True)
class Webhook:
    id: str
    name: str
    url: str
    events: tuple[str, ...]
    jql: str
    enabled: bool


class AdminCalls:
    api: str
    flavor: str

    def _call(
        self, method: str, path: str, action: str, *, params: dict | None = None, json: Any = None
    ) -> Any:
        raise NotImplementedError

    def _paged(self, path: str, action: str, params: dict | None = None) -> list[dict]:
        found: list[dict] = []
        while True:
            page = self._call("GET", path, action, params={**(params or {}), "startAt": len(found)}) or {}
            values = page.get("values", []) if isinstance(page, dict) else page
            found += values
            if not isinstance(page, dict) or page.get("isLast", True) or not values:
                return found

    # --- project, fields, issue types, link types, statuses ------------------------------------------

    def project(self, key: str) -> Named:
        raw = self._call("GET", f"/rest/api/{self.api}/project/{key}", f"read project {key}")
        return Named(str(raw["id"]), raw.get("name", key), raw)

    def fields(self) -> tuple[Named, ...]:
        found = self._call("GET", f"/rest/api/{self.api}/field", "list fields") or []
        return tuple(Named(str(f["id"]), f["name"], f) for f in found)

    def create_field(self, name: str, type_key: str, searcher_key: str | None, description: str = "") -> str:
        body = {"name": name, "type": type_key, "description": description}
        if searcher_key:
            body["searcherKey"] = searcher_key
        return str(self._call("POST", f"/rest/api/{self.api}/field", f"create field {name}", json=body)["id"])

    def field_contexts(self, field_id: str) -> tuple[Named, ...]:
        found = self._paged(f"/rest/api/3/field/{field_id}/context", f"list contexts of {field_id}")
        return tuple(Named(str(c["id"]), c.get("name", ""), c) for c in found)

    def create_field_context(
        self, field_id: str, name: str, project_ids: list[str], issue_type_ids: list[str]
    ) -> str:
        body = {"name": name, "projectIds": project_ids, "issueTypeIds": issue_type_ids}
        return str(
            self._call(
                "POST", f"/rest/api/3/field/{field_id}/context", f"create context of {field_id}", json=body
            )["id"]
        )

    def context_options(self, field_id: str, context_id: str) -> tuple[str, ...]:
        found = self._paged(
            f"/rest/api/3/field/{field_id}/context/{context_id}/option", f"list options of {field_id}"
        )
        return tuple(o["value"] for o in found)

    def add_context_options(self, field_id: str, context_id: str, values: list[str]) -> None:
        body = {"options": [{"value": v, "disabled": False} for v in values]}
        self._call(
            "POST",
            f"/rest/api/3/field/{field_id}/context/{context_id}/option",
            f"add options to {field_id}",
            json=body,
        )

    def reads_field_options(self) -> bool:
        """Whether Data Center can list a field's options over REST (`customFields/{id}/options`, 9.3 on)."""
        return self.flavor != "cloud" and self.server_version() >= (9, 3)

    def field_options(self, field_id: str, project_id: str, issue_type_id: str) -> tuple[str, ...]:
        """Data Center: the options of the field's context for this project and issue type. The resource takes
        the numeric id and pages from 1 (https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/
        #api/2/customFields; `{"options": [...], "total": N}`, jira.js `server.getCustomFieldOptions`)."""
        path = f"/rest/api/2/customFields/{field_id.removeprefix('customfield_')}/options"
        params = {"projectIds": project_id, "issueTypeIds": issue_type_id, "maxResults": OPTIONS_PAGE}
        found: list[dict] = []
        for page in range(1, OPTIONS_PAGES + 1):
            answer = (
                self._call("GET", path, f"list options of {field_id}", params={**params, "page": page}) or {}
            )
            batch = answer.get("options") or []
            found += batch
            if not batch or len(found) >= int(answer.get("total") or 0):
                break
        return tuple(str(o.get("value")) for o in found)

    def issue_types(self) -> tuple[Named, ...]:
        found = self._call("GET", f"/rest/api/{self.api}/issuetype", "list issue types") or []
        return tuple(Named(str(t["id"]), t["name"], t) for t in found)

    def create_issue_type(self, name: str, description: str) -> str:
        body = {"name": name, "description": description, "type": "standard"}
        return str(
            self._call("POST", f"/rest/api/{self.api}/issuetype", f"create issue type {name}", json=body)[
                "id"
            ]
        )

    def link_types(self) -> tuple[LinkType, ...]:
        found = self._call("GET", f"/rest/api/{self.api}/issueLinkType", "list link types") or {}
        return tuple(
            LinkType(str(t["id"]), t["name"], t.get("outward", ""), t.get("inward", ""))
            for t in found.get("issueLinkTypes", [])
        )

    def create_link_type(self, name: str, outward: str, inward: str) -> str:
        body = {"name": name, "outward": outward, "inward": inward}
        return str(
            self._call("POST", f"/rest/api/{self.api}/issueLinkType", f"create link type {name}", json=body)[
                "id"
            ]
        )

    def all_statuses(self) -> tuple[Named, ...]:
        """Every status of the site (`GET /status`, both flavours)."""
        found = self._call("GET", f"/rest/api/{self.api}/status", "list statuses") or []
        return tuple(Named(str(s["id"]), s["name"], s) for s in found)

    def statuses(self) -> tuple[Named, ...]:
        if self.flavor == "cloud":
            found = self._paged("/rest/api/3/statuses/search", "list statuses", {"maxResults": 200})
        else:
            found = self._call("GET", "/rest/api/2/status", "list statuses") or []
        return tuple(Named(str(s["id"]), s["name"], s) for s in found)

    def create_statuses(self, statuses: list[tuple[str, str]]) -> tuple[Named, ...]:
        """Create global statuses, given as (name, category TODO|IN_PROGRESS|DONE)."""
        body = {
            "scope": {"type": "GLOBAL"},
            "statuses": [{"name": n, "statusCategory": c, "description": ""} for n, c in statuses],
        }
        found = self._call("POST", "/rest/api/3/statuses", "create statuses", json=body) or []
        return tuple(Named(str(s["id"]), s["name"], s) for s in found)

    def group_id(self, name: str) -> str | None:
        """Cloud rules name groups by id; Data Center by name."""
        if self.flavor != "cloud":
            return name
        found = (
            self._call(
                "GET",
                "/rest/api/3/groups/picker",
                f"find group {name}",
                params={"query": name, "maxResults": 50},
            )
            or {}
        )
        return next((str(g["groupId"]) for g in found.get("groups", []) if g.get("name") == name), None)

    # --- workflows and schemes (Cloud) -----------------------------------------------------------

    def workflows(self, name: str) -> tuple[dict, ...]:
        """Workflows named exactly `name`, with their transitions and rules."""
        params = {"queryString": name, "expand": "values.transitions"}
        found = self._paged("/rest/api/3/workflows/search", f"find workflow {name}", params)
        return tuple(w for w in found if w.get("name") == name)

    def validate_workflows(self, payload: dict) -> tuple[str, ...]:
        body = {"payload": payload, "validationOptions": {"levels": ["ERROR"]}}
        found = self._call("POST", "/rest/api/3/workflows/create/validation", "validate workflow", json=body)
        return tuple(e.get("message", "") for e in (found or {}).get("errors", []))

    def create_workflows(self, payload: dict) -> dict:
        return self._call("POST", "/rest/api/3/workflows/create", "create workflow", json=payload) or {}

    def validate_workflow_update(self, payload: dict) -> tuple[str, ...]:
        body = {"payload": payload, "validationOptions": {"levels": ["ERROR"]}}
        found = self._call("POST", "/rest/api/3/workflows/update/validation", "validate workflow", json=body)
        return tuple(e.get("message", "") for e in (found or {}).get("errors", []))

    def update_workflows(self, payload: dict) -> dict:
        """`workflows/update`: each workflow's `version` must be its current one, or Jira refuses it."""
        return self._call("POST", "/rest/api/3/workflows/update", "update workflow", json=payload) or {}

    def workflow_schemes(self) -> tuple[Named, ...]:
        found = self._paged("/rest/api/3/workflowscheme", "list workflow schemes")
        return tuple(Named(str(s["id"]), s["name"], s) for s in found)

    def create_workflow_scheme(
        self, name: str, description: str, default_workflow: str, mappings: dict[str, str]
    ) -> str:
        body = {
            "name": name,
            "description": description,
            "defaultWorkflow": default_workflow,
            "issueTypeMappings": mappings,
        }
        return str(
            self._call("POST", "/rest/api/3/workflowscheme", f"create workflow scheme {name}", json=body)[
                "id"
            ]
        )

    def project_workflow_scheme(self, project_id: str) -> Named | None:
        found = (
            self._call(
                "GET",
                "/rest/api/3/workflowscheme/project",
                "read project workflow scheme",
                params={"projectId": project_id},
            )
            or {}
        )
        values = found.get("values", [])
        scheme = values[0].get("workflowScheme") if values else None
        return Named(str(scheme.get("id", "")), scheme.get("name", ""), scheme) if scheme else None

    def project_statuses(self, project_key: str) -> dict[str, tuple[str, ...]]:
        """Issue type id -> ids of the statuses its current workflow uses in the project."""
        found = (
            self._call(
                "GET",
                f"/rest/api/{self.api}/project/{project_key}/statuses",
                f"list statuses of {project_key}",
            )
            or []
        )
        return {str(t["id"]): tuple(str(s["id"]) for s in t.get("statuses", [])) for t in found}

    def assign_workflow_scheme(self, project_id: str, scheme_id: str) -> None:
        """Give a project without issues the scheme (Jira refuses this once the project has issues)."""
        body = {"projectId": project_id, "workflowSchemeId": scheme_id}
        self._call("PUT", "/rest/api/3/workflowscheme/project", "assign workflow scheme", json=body)

    def switch_workflow_scheme(
        self, project_id: str, scheme_id: str, status_mappings: dict[str, dict[str, str]]
    ) -> dict:
        """Start switching a project with issues to the scheme, moving issues from statuses the new
        workflows lack (issue type id -> old status id -> new status id). Jira answers 303 with the task,
        which the session follows; returns the task as first read."""
        overrides = [
            {
                "issueTypeId": issue_type,
                "statusMappings": [{"oldStatusId": old, "newStatusId": new} for old, new in mapping.items()],
            }
            for issue_type, mapping in (status_mappings or {}).items()
            if mapping
        ]
        body = {
            "projectId": project_id,
            "targetSchemeId": scheme_id,
            "mappingsByIssueTypeOverride": overrides,
        }
        path = "/rest/api/3/workflowscheme/project/switch"
        return self._call("POST", path, "switch workflow scheme", json=body) or {}

    def workflow_scheme_task(self, task_id: str) -> dict:
        return self._call("GET", f"/rest/api/3/task/{task_id}", f"read task {task_id}") or {}

    # --- issue type schemes and screens of a project (Cloud) ---------------------------------------

    def project_issue_type_scheme(self, project_id: str) -> Named:
        found = self._paged(
            "/rest/api/3/issuetypescheme/project", "read issue type scheme", {"projectId": project_id}
        )
        if not found:
            raise Rejected(_team_managed(project_id, "issue type scheme"))
        scheme = found[0]["issueTypeScheme"]
        return Named(str(scheme["id"]), scheme.get("name", ""), scheme)

    def issue_type_scheme_types(self, scheme_id: str) -> tuple[str, ...]:
        found = self._paged(
            "/rest/api/3/issuetypescheme/mapping", "list issue type scheme", {"issueTypeSchemeId": scheme_id}
        )
        return tuple(str(m["issueTypeId"]) for m in found)

    def add_issue_types_to_scheme(self, scheme_id: str, type_ids: list[str]) -> None:
        body = {"issueTypeIds": type_ids}
        path = f"/rest/api/3/issuetypescheme/{scheme_id}/issuetype"
        self._call("PUT", path, "add issue types to scheme", json=body)

    def project_screen_scheme(self, project_id: str) -> Named:
        found = self._paged(
            "/rest/api/3/issuetypescreenscheme/project",
            "read issue type screen scheme",
            {"projectId": project_id},
        )
        if not found:
            raise Rejected(_team_managed(project_id, "issue type screen scheme"))
        scheme = found[0]["issueTypeScreenScheme"]
        return Named(str(scheme["id"]), scheme.get("name", ""), scheme)

    def screen_scheme_mappings(self, scheme_id: str) -> dict[str, str]:
        """Issue type id (or "default") -> screen scheme id, in an issue type screen scheme."""
        found = self._paged(
            "/rest/api/3/issuetypescreenscheme/mapping",
            "list issue type screen scheme",
            {"issueTypeScreenSchemeId": scheme_id},
        )
        return {str(m["issueTypeId"]): str(m["screenSchemeId"]) for m in found}

    def screen_scheme_screens(self, screen_scheme_id: str) -> dict[str, str]:
        """Screen type (default, create, edit, view) -> screen id."""
        found = self._paged("/rest/api/3/screenscheme", "read screen scheme", {"id": screen_scheme_id})
        return {k: str(v) for k, v in (found[0].get("screens") or {}).items()} if found else {}

    def screen(self, screen_id: str) -> Named:
        found = self._paged("/rest/api/3/screens", f"read screen {screen_id}", {"id": screen_id})
        return Named(screen_id, found[0].get("name", screen_id) if found else screen_id)

    def screen_named(self, name: str) -> Named | None:
        found = self._paged("/rest/api/3/screens", "list screens", {"queryString": name})
        return next((Named(str(s["id"]), s["name"]) for s in found if s.get("name") == name), None)

    def create_screen(self, name: str, description: str) -> str:
        """A new screen (Jira gives it one tab, "Field Tab"); its id."""
        created = self._call(
            "POST",
            "/rest/api/3/screens",
            f"create screen {name}",
            json={"name": name, "description": description},
        )
        return str(created["id"])

    def screen_tabs(self, screen_id: str) -> tuple[Named, ...]:
        found = self._call("GET", f"/rest/api/3/screens/{screen_id}/tabs", f"list tabs of screen {screen_id}")
        return tuple(Named(str(t["id"]), t.get("name", "")) for t in found or [])

    def tab_fields(self, screen_id: str, tab_id: str) -> tuple[str, ...]:
        path = f"/rest/api/3/screens/{screen_id}/tabs/{tab_id}/fields"
        found = self._call("GET", path, f"list fields of screen {screen_id}")
        return tuple(str(f["id"]) for f in found or [])

    def add_field_to_tab(self, screen_id: str, tab_id: str, field_id: str) -> None:
        path = f"/rest/api/3/screens/{screen_id}/tabs/{tab_id}/fields"
        self._call("POST", path, f"add {field_id} to screen {screen_id}", json={"fieldId": field_id})

    # --- webhooks ----------------------------------------------------------------------------------
    # Cloud and Data Center 9: `/rest/webhooks/1.0/webhook`; only Cloud signs (a `secret`; Data Center 9
    # has none and ignores one). Data Center 10 replaced it with `/rest/jira-webhook/1.0/webhooks`
    # (`configuration` FILTERS / EXCLUDE_BODY / SECRET, `active`) and answers 404 on the old path.

    def server_version(self) -> tuple[int, ...]:
        """Data Center's version, e.g. (9, 12, 0) (`serverInfo`, read once); Cloud's does not matter."""
        cached = getattr(self, "_server_version", None)
        if cached is None:
            info = self._call("GET", "/rest/api/2/serverInfo", "read the server version") or {}
            numbers = info.get("versionNumbers") or [0]
            cached = tuple(int(n) if str(n).isdigit() else 0 for n in numbers)
            self._server_version = cached
        return cached

    def server_major_version(self) -> int:
        return self.server_version()[0]

    def signs_webhooks(self) -> bool:
        """Whether Jira can sign deliveries with a secret (Cloud, Data Center 10); Data Center 9 cannot."""
        return self.flavor == "cloud" or self._jira_webhook_api()

    def _jira_webhook_api(self) -> bool:
        return self.flavor != "cloud" and self.server_major_version() >= 10

    def webhooks(self) -> tuple[Webhook, ...]:
        if self._jira_webhook_api():
            found = self._call("GET", JIRA_WEBHOOKS, "list webhooks") or []
            return tuple(_jira_webhook_from(w) for w in found)
        found = self._call("GET", WEBHOOKS, "list webhooks") or []
        return tuple(_webhook_from(w) for w in found)

    def register_webhook(
        self, name: str, url: str, events: list[str], secret: str | None, jql_filter: str
    ) -> Webhook:
        if self._jira_webhook_api():
            body = _jira_webhook_body(name, url, events, secret, jql_filter)
            return _jira_webhook_from(
                self._call("POST", JIRA_WEBHOOKS, f"register webhook {name}", json=body)
            )
        body = _webhook_body(name, url, events, secret if self.flavor == "cloud" else None, jql_filter)
        return _webhook_from(self._call("POST", WEBHOOKS, f"register webhook {name}", json=body))

    def update_webhook(
        self, webhook_id: str, name: str, url: str, events: list[str], secret: str | None, jql_filter: str
    ) -> None:
        if self._jira_webhook_api():
            body = _jira_webhook_body(name, url, events, secret, jql_filter)
            self._call("PUT", f"{JIRA_WEBHOOKS}/{webhook_id}", f"update webhook {name}", json=body)
            return
        body = _webhook_body(name, url, events, secret if self.flavor == "cloud" else None, jql_filter)
        self._call("PUT", f"{WEBHOOKS}/{webhook_id}", f"update webhook {name}", json=body)


def _jira_webhook_body(name: str, url: str, events: list[str], secret: str | None, jql: str) -> dict:
    configuration = {"FILTERS": jql, "EXCLUDE_BODY": "false"}
    if secret:
        configuration["SECRET"] = secret
    return {"name": name, "url": url, "events": events, "active": True, "configuration": configuration}


def _jira_webhook_from(raw: dict) -> Webhook:
    configuration = raw.get("configuration") or {}
    return Webhook(
        str(raw.get("id", "")),
        raw.get("name", ""),
        raw.get("url", ""),
        tuple(raw.get("events", [])),
        configuration.get("FILTERS", ""),
        str(raw.get("active", True)).lower() == "true",
    )


def _team_managed(project_id: str, what: str) -> str:
    # Jira lists "only issue type schemes used in classic projects" (OpenAPI document, GET
    # /rest/api/3/issuetypescheme/project); a team-managed project has none of these schemes.
    return (
        f"Jira lists no {what} for project {project_id}: it is a team-managed project, which has no "
        "schemes; put emergency changes in a company-managed project"
    )


def _webhook_body(name: str, url: str, events: list[str], secret: str | None, jql: str) -> dict:
    body = {
        "name": name,
        "url": url,
        "events": events,
        "filters": {JQL_FILTER_KEY: jql},
        "excludeBody": False,
        "enabled": True,
    }
    if secret:
        body["secret"] = secret
    return body


def _webhook_from(raw: dict) -> Webhook:
    webhook_id = str(raw.get("id") or str(raw.get("self", "")).rstrip("/").rsplit("/", 1)[-1])
    return Webhook(
        webhook_id,
        raw.get("name", ""),
        raw.get("url", ""),
        tuple(raw.get("events", [])),
        (raw.get("filters") or {}).get(JQL_FILTER_KEY, ""),
        bool(raw.get("enabled", True)),
    )
