"""What Jira Data Center does not serve: the Cloud-only REST resources answer 404 there.

Data Center has REST API 2 only (no `/rest/api/3`), and in it no status creation or search
(`/statuses`), no `workflows/create|search`, no workflow-scheme-to-project association
(`workflowscheme/project`), no `search/jql` (it searches with `/search`) and no custom field contexts
(Jira Data Center REST API reference, https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/).
Its 404 for an unknown resource is Jersey's, `{"message": "null for uri: ...", "status-code": 404}`.

The other way round, Data Center has resources Cloud lacks: `GET /rest/api/2/customFields/{customFieldId}/
options` (a field's options, "experimental", from Jira 9.3; `views_custom_fields`) answers 404 on Cloud and
is not in Cloud's OpenAPI document, so `openapi_check` leaves it alone.
"""

from __future__ import annotations

import re
from typing import Any

CLOUD_ONLY = re.compile(
    r"^/rest/api/(3/|2/(statuses(/|$)|workflows/|workflowscheme/project|search/jql|field/[^/]+/context))"
)


DATACENTER_ONLY = re.compile(r"^/rest/api/2/customFields/[^/]+/options$")


def served(flavor: str, path: str) -> bool:
    if flavor == "cloud":
        return not DATACENTER_ONLY.match(path)
    return not CLOUD_ONLY.match(path)


def in_cloud_document(path: str) -> bool:
    """Whether Cloud's OpenAPI document can judge this path (Data Center's own resources it cannot)."""
    return not DATACENTER_ONLY.match(path)


def not_served(url: str) -> dict[str, Any]:
    return {"message": f"null for uri: {url}", "status-code": 404}
