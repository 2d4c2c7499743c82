"""What Jira Data Center does not serve: the Cloud-only REST resources answer 404 there.

Data Center has REST API 2 only (no `/rest/api/3`), and in it no status creation or search
(`/statuses`), no `workflows/create|search`, no workflow-scheme-to-project association
(`workflowscheme/project`), no `search/jql` (it searches with `/search`) and no custom field contexts
(Jira Data Center REST API reference, https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/).
Its 404 for an unknown resource is Jersey's, `{"message": "null for uri: ...", "status-code": 404}`.
"""

from __future__ import annotations

import re
from typing import Any

CLOUD_ONLY = re.compile(
    r"^/rest/api/(3/|2/(statuses(/|$)|workflows/|workflowscheme/project|search/jql|field/[^/]+/context))"
)


def served(flavor: str, path: str) -> bool:
    return flavor == "cloud" or not CLOUD_ONLY.match(path)


def not_served(url: str) -> dict[str, Any]:
    return {"message": f"null for uri: {url}", "status-code": 404}
