"""Group members as Jira lists them: `group/member` a page of at most 50 at a time (`startAt`, `isLast`),
and the deprecated `group?expand=users[a:b]` that the `jira` library's `group_members()` still calls."""

from __future__ import annotations

import jira
import requests

from connector.jira.gateway import JiraGateway
from sandbox.jira.seed import User, account_id_for

CROWD = 120


def crowd(sandbox, group: str = "engineering-leads") -> set[str]:
    """Add CROWD more members to `group`; their account ids."""
    with sandbox.state.lock:
        for n in range(CROWD):
            name = f"lead.{n:03d}"
            sandbox.state.users[name] = User(
                name, f"Lead {n}", (group,), account_id_for(name), f"JIRAUSER{20000 + n}"
            )
        return {u.account_id for u in sandbox.state.users.values() if group in u.groups}


def test_group_member_answers_at_most_fifty_per_page(cloud):
    everyone = crowd(cloud)
    page = requests.get(
        f"{cloud.url}/rest/api/3/group/member",
        params={"groupname": "engineering-leads", "maxResults": 100},
        auth=("admin", "admin"),
        timeout=5,
    ).json()
    assert (len(page["values"]), page["maxResults"], page["total"], page["isLast"]) == (
        50,
        50,
        len(everyone),
        False,
    )


def test_the_connector_pages_through_every_member(cloud):
    everyone = crowd(cloud)
    gateway = JiraGateway(cloud.url, user="ecm-bot@example.com", token="ecm-bot")
    assert {u.id for u in gateway.group_members("engineering-leads")} == everyone


def test_the_libraries_group_members_reads_the_deprecated_group_resource(cloud):
    everyone = crowd(cloud)
    client = jira.JIRA(cloud.url, basic_auth=("admin", "admin"), get_server_info=False, max_retries=0)
    client._version = (1001, 0, 0)  # what serverInfo would have told it
    members = client.group_members("engineering-leads")
    assert {m["accountId"] for m in members.values()} == everyone


def test_a_group_is_named_by_its_name_or_its_id_not_both(cloud):
    group = cloud.state.groups["security-team"]
    auth = ("admin", "admin")
    by_id = requests.get(
        f"{cloud.url}/rest/api/3/group", params={"groupId": group.group_id}, auth=auth, timeout=5
    )
    assert by_id.json()["name"] == "security-team" and by_id.json()["users"]["items"] == []
    both = requests.get(
        f"{cloud.url}/rest/api/3/group/member",
        params={"groupId": group.group_id, "groupname": group.name},
        auth=auth,
        timeout=5,
    )
    assert both.status_code == 400
