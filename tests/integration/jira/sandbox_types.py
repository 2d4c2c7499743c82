"""An issue type made usable in the sandbox's project EMG, as an administrator does it in Jira Cloud."""

from __future__ import annotations

import requests


def add_issue_type(sandbox, name: str) -> str:
    """Create the issue type and add it to EMG's issue type scheme (a type outside it cannot be used)."""
    admin = requests.Session()
    admin.auth = ("admin", "admin")
    created = admin.post(f"{sandbox.url}/rest/api/2/issuetype", json={"name": name}, timeout=5)
    assert created.status_code == 201, created.text
    schemes = admin.get(
        f"{sandbox.url}/rest/api/3/issuetypescheme/project", params={"projectId": "10000"}, timeout=5
    ).json()
    scheme_id = schemes["values"][0]["issueTypeScheme"]["id"]
    added = admin.put(
        f"{sandbox.url}/rest/api/3/issuetypescheme/{scheme_id}/issuetype",
        json={"issueTypeIds": [created.json()["id"]]},
        timeout=5,
    )
    assert added.status_code == 204, added.text
    return created.json()["id"]
